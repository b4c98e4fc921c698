"""Self-attention over feature maps (SAGAN: Zhang et al. 2019, "Self-Attention GANs").

Every position attends to every other, so G and D can relate distant parts of an image that
convolutions only connect through many layers. The output is ``x + gamma * attention(x)`` with the
learned ``gamma`` starting at 0: at initialisation the block is the identity and the network
learns how much non-local evidence to use. Keys and values are max-pooled 2x (as in the authors'
TensorFlow code and BigGAN), which cuts the attention matrix by four.

Families take the option ``attention``: the side of the feature maps after which the block sits
(e.g. 16 at 32x32 images), 0 = none. :func:`check_attention` validates it.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gankit.registry import ConfigError


def check_attention(value, sizes: Sequence[int], setting: str) -> int:
    """Validate the ``attention`` option against the feature-map sides a network has.

    Args:
        value: the configured side (0 = no attention).
        sizes: the sides where the family can place the block.
        setting: the option's config path, e.g. ``"model.g.args.attention"``.

    Returns:
        ``value`` as an int.
    """
    if isinstance(value, bool) or not isinstance(value, int) or (value and value not in sizes):
        raise ConfigError(f"{setting} is the side of the feature maps that get self-attention; this network "
                          f"has maps of side {', '.join(map(str, sizes))}, got {value!r}; use one of them or 0 (off)")
    return int(value)


class SelfAttention(nn.Module):
    """SAGAN self-attention block ``[N, C, H, W] -> [N, C, H, W]``.

    queries ``f = conv1x1(x)`` (C/8 channels), keys ``g`` (C/8) and values ``h`` (C/2) from pooled
    maps; ``o = conv1x1(h softmax(f^T g))`` back to C channels; output ``x + gamma * o``.

    Args:
        channels: ``C`` (>= 8 keeps a query channel; smaller widths use 1).
    """

    def __init__(self, channels: int):
        super().__init__()
        inner, value = max(1, channels // 8), max(1, channels // 2)
        self.query = nn.Conv2d(channels, inner, 1, bias=False)
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, value, 1, bias=False)
        self.out = nn.Conv2d(value, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        pool = (lambda t: F.max_pool2d(t, 2)) if h >= 2 and w >= 2 and h % 2 == 0 and w % 2 == 0 else (lambda t: t)
        q = self.query(x).flatten(2)  # [N, C/8, HW]
        k = pool(self.key(x)).flatten(2)  # [N, C/8, HW']
        v = pool(self.value(x)).flatten(2)  # [N, C/2, HW']
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # [N, HW, HW']: each position's weights
        o = (v @ attn.transpose(1, 2)).view(n, -1, h, w)  # [N, C/2, H, W]
        return x + self.gamma * self.out(o)
