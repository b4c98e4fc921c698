"""Sub-pixel convolution upsampling (Shi et al. 2016, "Real-Time Single Image and Video
Super-Resolution Using an Efficient Sub-Pixel CNN") with ICNR initialisation (Aitken et al. 2017).

A 3x3 conv makes ``4 * cout`` channels at the input size and ``PixelShuffle(2)`` rearranges them
into ``cout`` channels at twice the size: the convolution runs at the low resolution (a quarter of
the work of nearest upsampling + conv), and unlike a transposed conv every output pixel sees the
same number of weights. ICNR initialises the four sub-pixel filters of each output channel to the
same values, so at the start the layer equals nearest upsampling of one conv: no checkerboard.
"""

from __future__ import annotations

import torch
from torch import nn

#: Upsampling factor of one block.
FACTOR = 2


class PixelShuffleUp(nn.Module):
    """``[N, cin, s, s] -> [N, cout, 2s, 2s]``: conv3x3 to ``4 * cout`` channels, then PixelShuffle(2).

    Call :meth:`icnr_` after any re-initialisation of the conv (families do it through
    ``after_init``, which :meth:`gankit.nn.base.Generator.finish` calls after the family's init).
    """

    def __init__(self, cin: int, cout: int, bias: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * FACTOR ** 2, 3, padding=1, bias=bias)
        self.shuffle = nn.PixelShuffle(FACTOR)
        self.icnr_()

    @torch.no_grad()
    def icnr_(self) -> None:
        """Give the ``FACTOR**2`` sub-pixel filters of every output channel the values of the first
        one (keeping the init's distribution), and likewise the biases."""
        w = self.conv.weight  # [cout * 4, cin, 3, 3]; PixelShuffle reads channel c*4 + i as sub-pixel i of c
        w.copy_(w[::FACTOR ** 2].repeat_interleave(FACTOR ** 2, dim=0))
        if self.conv.bias is not None:
            b = self.conv.bias
            b.copy_(b[::FACTOR ** 2].repeat_interleave(FACTOR ** 2))

    def after_init(self) -> None:
        self.icnr_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))
