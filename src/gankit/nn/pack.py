"""PacGAN sample packing (Lin et al. 2018, "PacGAN: the power of two samples in GANs").

The discriminator judges ``m`` samples at once, concatenated along the channel axis, which makes a
generator that repeats itself easier to catch.
"""

from __future__ import annotations

import torch


def pack_samples(x: torch.Tensor, m: int) -> torch.Tensor:
    """Concatenate each run of ``m`` consecutive samples along the channel (feature) axis.

    Args:
        x: ``[N, C, H, W]`` images or ``[N, D]`` vectors.
        m: pack size; ``N`` must be divisible by it.

    Returns:
        ``[N/m, m*C, H, W]`` or ``[N/m, m*D]``; packed item ``j`` holds samples ``j*m .. j*m+m-1``.
    """
    n = x.shape[0]
    if m == 1:
        return x
    if n % m:
        raise ValueError(
            f"PacGAN packing: the discriminator got {n} samples, not divisible by model.d.args.pack={m}; "
            f"use a batch size (and sample count) that is a multiple of {m}"
        )
    return x.reshape(n // m, m * x.shape[1], *x.shape[2:])
