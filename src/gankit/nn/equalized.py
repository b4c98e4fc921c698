"""Equalised learning rate (Karras et al. 2018, "Progressive Growing of GANs", section 4.1).

Weights are stored as N(0, 1) draws and multiplied at run time by the He constant
``gain / sqrt(fan_in)``. The forward pass equals a He-initialised layer, but every weight sees the
same effective learning rate under Adam (which normalises gradient magnitudes per parameter), so
layers with large fan-in do not learn more slowly than small ones.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: He's gain for layers followed by a (leaky) ReLU.
RELU_GAIN = math.sqrt(2.0)


def he_constant(fan_in: int, gain: float = RELU_GAIN) -> float:
    """``gain / sqrt(fan_in)``: the run-time weight scale of an equalised layer."""
    return gain / math.sqrt(fan_in)


class EqualizedConv2d(nn.Module):
    """A conv whose weight ``w ~ N(0, 1)`` is used as ``w * gain / sqrt(cin * k * k)``; bias starts at 0.

    Args:
        cin, cout: channels.
        kernel: square kernel size (padding keeps the spatial size).
        gain: He gain (``sqrt(2)`` before a leaky ReLU, 1 for the to-RGB layers).

    ``forward(x [N, cin, H, W])`` returns ``[N, cout, H, W]``.
    """

    def __init__(self, cin: int, cout: int, kernel: int, gain: float = RELU_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = he_constant(cin * kernel * kernel, gain)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        cout, cin, k, _ = self.weight.shape
        return f"{cin}, {cout}, kernel={k}, scale={self.scale:.4g}"


class EqualizedLinear(nn.Module):
    """A linear layer whose weight ``w ~ N(0, 1)`` is used as ``w * gain / sqrt(fin)``; bias starts at 0.

    ``forward(x [N, fin])`` returns ``[N, fout]``.
    """

    def __init__(self, fin: int, fout: int, gain: float = RELU_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin))
        self.bias = nn.Parameter(torch.zeros(fout))
        self.scale = he_constant(fin, gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        fout, fin = self.weight.shape
        return f"{fin}, {fout}, scale={self.scale:.4g}"
