"""The minibatch standard-deviation feature (Karras et al. 2018, "Progressive Growing of GANs").

It lets the discriminator see how varied a batch is, which discourages mode collapse: samples are
split into groups, the standard deviation of every feature across a group is averaged into one
number, and that number is appended to each sample of the group as an extra channel.
"""

from __future__ import annotations

import torch
from torch import nn


class MinibatchStd(nn.Module):
    """Append one channel holding the group's mean feature standard deviation.

    Args:
        group_size: samples per group. A batch smaller than this forms a single group; otherwise the
            batch size must be divisible by it. Samples ``i`` and ``i + N/group_size`` share a group
            (as in the reference implementation), so consecutive samples land in different groups.
    """

    def __init__(self, group_size: int):
        super().__init__()
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, C, H, W]`` or ``[N, C]``. Returns ``[N, C + 1, H, W]`` or ``[N, C + 1]``."""
        n = x.shape[0]
        group = min(self.group_size, n)
        if n % group:
            raise ValueError(
                f"minibatch std: batch of {n} is not divisible by the group size {group} "
                f"(model.d.args.minibatch_std); use a batch size that is a multiple of it"
            )
        # float32 statistics: the variance of bf16 activations loses most of its digits.
        grouped = x.float().reshape(group, n // group, *x.shape[1:])
        std = (grouped.var(dim=0, unbiased=False) + 1e-8).sqrt()  # [N/G, C, ...]
        std = std.flatten(1).mean(dim=1).repeat(group)  # [N], sample i -> group i % (N/G)
        extra = std.to(x.dtype).view(n, 1, *(1,) * (x.dim() - 2)).expand(n, 1, *x.shape[2:])
        return torch.cat([x, extra], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"
