"""Spectral normalisation of every weight layer (discriminators and, as an option, generators)."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gankit.models import build_discriminator, build_generator
from gankit.nn.spectral_norm import SN_LAYERS, apply_spectral_norm

FAMILIES = {"mlp": {"hidden": 16}, "dcgan": {"width": 8}, "resnet": {"width": 8}}


def sigma(layer):
    w = layer.weight
    if isinstance(layer, nn.ConvTranspose2d):  # [in, out, kh, kw]: torch normalises along dim 1
        w = w.transpose(0, 1)
    return torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item()


@pytest.mark.parametrize("family", FAMILIES)
def test_discriminator_weights_have_unit_spectral_norm(family):
    torch.manual_seed(0)
    args = {**FAMILIES[family], "spectral_norm": True, "conditioning": "projection"}
    D = build_discriminator(family, args, (3, 16, 16), 4).train()
    layers = [m for m in D.modules() if isinstance(m, SN_LAYERS)]
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert any(isinstance(m, nn.Embedding) for m in layers)  # the projection embedding too
    x, y = torch.randn(4, 3, 16, 16), torch.randint(4, (4,))
    with torch.no_grad():
        for _ in range(20):  # each training forward runs one power iteration
            D(x, y)
    D.eval()
    for layer in layers:
        assert sigma(layer) == pytest.approx(1.0, abs=0.05), layer


def test_generator_option():
    torch.manual_seed(0)
    G = build_generator("dcgan", {"width": 8, "spectral_norm": True}, 8, (1, 16, 16), 0).train()
    layers = [m for m in G.modules() if isinstance(m, SN_LAYERS)]
    assert len(layers) == 3 and all(parametrize.is_parametrized(m, "weight") for m in layers)
    with torch.no_grad():
        for _ in range(20):
            G(torch.randn(4, 8))
    G.eval()
    for layer in layers:
        assert sigma(layer) == pytest.approx(1.0, abs=0.05), layer


def test_off_by_default_and_idempotent():
    D = build_discriminator("dcgan", {"width": 4}, (1, 16, 16), 0)
    assert not any(parametrize.is_parametrized(m) for m in D.modules())
    apply_spectral_norm(D)
    apply_spectral_norm(D)  # a second call must not stack a second parametrisation
    counts = [len(m.parametrizations.weight) for m in D.modules() if isinstance(m, SN_LAYERS)]
    assert counts == [1, 1, 1]
