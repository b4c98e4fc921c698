"""Pixel-wise feature normalisation (Karras et al. 2018, section 4.2).

Each pixel's feature vector is divided by its root mean square over the channels, so G's
activations cannot escalate in magnitude (ProGAN uses it instead of batch norm in G).
"""

from __future__ import annotations

import torch
from torch import nn


class PixelNorm(nn.Module):
    """``x / sqrt(mean_c(x^2) + eps)``: unit mean square over the channels at every pixel.

    ``forward(x [N, C, H, W] or [N, C])`` returns a tensor shaped like ``x``.
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)
