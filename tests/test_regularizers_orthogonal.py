"""Orthogonal regularisation (BigGAN): beta * sum ||W W^T * (1 - I)||_F^2 over G's conv/linear weights."""

import pytest
import torch
from torch import nn

from gankit.nn.spectral_norm import apply_spectral_norm
from gankit.regularizers import StepContext, build_regularizers
from gankit.regularizers.orthogonal import weight_matrices


def _penalty(G, beta):
    reg = build_regularizers({"orthogonal": {"beta": beta}})["orthogonal"]
    ctx = StepContext(None, G, None, None, None, None, None, None, None, 0)
    assert reg.d_penalty(ctx) is None  # G only
    return reg.g_penalty(ctx)


def test_against_a_hand_computed_value():
    lin = nn.Linear(3, 2)
    conv = nn.Conv2d(1, 2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]))  # W W^T = [[5, 2], [2, 2]]
        conv.weight.copy_(torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]], [[[2.0, 1.0], [0.0, -1.0]]]]))  # rows' dot = 1
    table = nn.Embedding(4, 3)  # class tables are not layers: left out
    G = nn.ModuleList([lin, conv, table])
    # 2 * 2^2 (linear) + 2 * 1^2 (conv) = 10
    assert _penalty(G, 1e-4).item() == pytest.approx(1e-4 * 10)
    with torch.no_grad():  # orthogonal rows cost nothing, whatever their norms
        lin.weight.copy_(torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.5, 0.0]]))
    assert _penalty(G, 1.0).item() == pytest.approx(2.0)


def test_spectral_norm_layers_are_regularised_through_their_raw_weight():
    lin = apply_spectral_norm(nn.Sequential(nn.Linear(3, 2)))[0]
    with torch.no_grad():
        lin.parametrizations.weight.original.copy_(torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert weight_matrices(lin)[0] is lin.parametrizations.weight.original
    assert _penalty(lin, 2.0).item() == pytest.approx(2.0 * 2 * 1.0)
