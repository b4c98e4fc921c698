"""Normalisation layers, optionally class-conditional.

``Norm`` wraps batch / layer / instance normalisation behind one interface ``forward(x, y=None)``.
When built with ``num_classes > 0`` it becomes a *conditional* norm (de Vries et al. 2017; Miyato &
Koyama 2018): the input is normalised without an affine transform, then scaled and shifted by a
per-class gain and bias. This is how a projection-conditioned generator sees the label.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

#: Normalisations for image feature maps; "layer" is GroupNorm(1, C) (normalise over C, H, W).
NORMS_2D = ("batch", "layer", "instance", "none")
#: Normalisations for vector features ([N, C]); instance norm is undefined there.
NORMS_1D = ("batch", "layer", "none")


def absorbs_bias(kind: str) -> bool:
    """True when norm ``kind`` subtracts a per-channel mean, making the bias of the layer before it
    redundant (so that layer is built without one, as in DCGAN)."""
    return kind in ("batch", "instance")


class Norm(nn.Module):
    """Batch / layer / instance normalisation with an optional per-class affine transform.

    Args:
        kind: one of ``NORMS_2D`` (``"none"`` is the identity).
        channels: number of channels ``C``.
        num_classes: 0 for an ordinary norm with a learned affine; ``K > 0`` for a conditional norm
            with one gain and bias per class (gains start at 1, biases at 0).
        image: True for ``[N, C, H, W]`` inputs, False for ``[N, C]``.
    """

    def __init__(self, kind: str, channels: int, num_classes: int = 0, image: bool = True):
        super().__init__()
        valid = NORMS_2D if image else NORMS_1D
        if kind not in valid:
            raise ValueError(f"norm must be one of {valid}, got {kind!r}")
        if kind == "none" and num_classes:
            raise ValueError("a conditional norm needs a normalisation; 'none' has no place for the class")
        self.kind = kind
        self.num_classes = num_classes
        affine = num_classes == 0
        if kind == "batch":
            self.norm = (nn.BatchNorm2d if image else nn.BatchNorm1d)(channels, affine=affine)
        elif kind == "layer":
            self.norm = nn.GroupNorm(1, channels, affine=affine)
        elif kind == "instance":
            self.norm = nn.InstanceNorm2d(channels, affine=affine)
        else:
            self.norm = nn.Identity()
        if num_classes:
            # Plain parameters rather than nn.Embedding so that model-wide initialisers (which
            # re-draw embeddings) leave the identity start of the conditional affine alone.
            self.gain = nn.Parameter(torch.ones(num_classes, channels))
            self.bias = nn.Parameter(torch.zeros(num_classes, channels))

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args: x ``[N, C, H, W]`` or ``[N, C]``; y int64 ``[N]`` (needed when conditional).
        Returns: a tensor shaped like ``x``."""
        x = self.norm(x)
        if not self.num_classes:
            return x
        if y is None:
            raise ValueError("conditional norm called without labels y")
        extra = (1,) * (x.dim() - 2)
        gain = F.embedding(y, self.gain).view(*y.shape, -1, *extra)
        bias = F.embedding(y, self.bias).view(*y.shape, -1, *extra)
        return x * gain + bias


class LabelSequential(nn.Sequential):
    """``nn.Sequential`` that also hands the labels ``y`` to every :class:`Norm` inside it."""

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, y) if isinstance(layer, (Norm, LabelSequential)) else layer(x)
        return x


class ModulatedBatchNorm(nn.Module):
    """Batch norm whose gain and bias are linear functions of a conditioning vector (BigGAN's
    conditional batch norm: Brock et al. 2019): ``bn(x) * (1 + W_g c) + W_b c``.

    With ``cond_dim = 0`` it is an ordinary batch norm with a learned affine (no vector to read).

    Args:
        channels: ``C``.
        cond_dim: length of the conditioning vector ``c`` (BigGAN: the shared class embedding
            concatenated with this block's chunk of z).
    """

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.cond_dim = cond_dim
        self.norm = nn.BatchNorm2d(channels, affine=cond_dim == 0)
        if cond_dim:
            self.gain = nn.Linear(cond_dim, channels, bias=False)
            self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, c: Optional[torch.Tensor]) -> torch.Tensor:
        """Args: x ``[N, C, H, W]``; c ``[N, cond_dim]`` (ignored when ``cond_dim = 0``). Returns ``[N, C, H, W]``."""
        x = self.norm(x)
        if not self.cond_dim:
            return x
        return x * (1 + self.gain(c))[:, :, None, None] + self.bias(c)[:, :, None, None]
