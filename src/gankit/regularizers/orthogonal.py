"""Orthogonal regularisation of G's weights (Brock et al. 2019, BigGAN, section 3.1)."""

from __future__ import annotations

from typing import List, Optional

import torch
from torch import nn
from torch.nn.utils import parametrize

from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, Regularizer, StepContext

#: Layers whose weight matrices are regularised.
WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def weight_matrices(module: nn.Module) -> List[torch.Tensor]:
    """The raw weight of every conv / linear layer (under spectral norm: the unnormalised original)."""
    out = []
    for m in module.modules():
        if isinstance(m, WEIGHT_LAYERS):
            out.append(m.parametrizations.weight.original if parametrize.is_parametrized(m, "weight") else m.weight)
    return out


def off_diagonal_penalty(w: torch.Tensor) -> torch.Tensor:
    """``||W W^T * (1 - I)||_F^2`` with ``W = w.flatten(1)`` (one row per output filter): the squared
    cosine-like overlaps between filters, leaving their norms free.

    Args:
        w: a weight ``[out, ...]``.

    Returns:
        A scalar.
    """
    m = w.flatten(1).float()
    gram = m @ m.T
    return (gram - torch.diag_embed(torch.diagonal(gram))).pow(2).sum()


@REGULARIZERS.register("orthogonal")
class Orthogonal(Regularizer):
    """BigGAN's orthogonal regularisation in its off-diagonal form, added to G's loss:
    ``beta * sum_W ||W W^T * (1 - I)||_F^2`` over the weight of every conv and linear layer of G
    (class tables such as BigGAN's shared embedding are not layers, so they are left out, as in
    BigGAN-PyTorch). It pushes filters towards orthogonality without constraining their norms,
    which makes G amenable to the truncation trick.

    Args:
        beta: the weight (BigGAN: 1e-4); must be >= 0.
    """

    def __init__(self, beta: float = 1e-4):
        if not beta >= 0:
            raise ConfigError(f"regularizers.orthogonal.beta must be >= 0, got {beta}; BigGAN uses 1e-4")
        self.beta = float(beta)

    def g_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        return self.beta * torch.stack([off_diagonal_penalty(w) for w in weight_matrices(ctx.G)]).sum()
