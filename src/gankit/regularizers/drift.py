"""Drift penalty on the critic's real scores (Karras et al. 2018, ProGAN, appendix A.1)."""

from __future__ import annotations

from typing import Optional

import torch

from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, Regularizer, StepContext, logits_of


@REGULARIZERS.register("drift")
class Drift(Regularizer):
    """``weight * E[D(x)^2]`` on real data: keeps a Wasserstein critic's output from drifting far
    from 0 (ProGAN's ``epsilon_drift = 0.001``), which the WGAN losses alone leave free.

    Args:
        weight: epsilon; must be >= 0.
    """

    def __init__(self, weight: float = 0.001):
        if not weight >= 0:
            raise ConfigError(f"regularizers.drift.weight must be >= 0, got {weight}; ProGAN uses 0.001")
        self.weight = float(weight)

    def d_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        return self.weight * logits_of(ctx.real_out).float().pow(2).mean()
