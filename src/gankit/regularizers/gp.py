"""WGAN-GP gradient penalty (Gulrajani et al. 2017)."""

from __future__ import annotations

from typing import Optional

import torch

from gankit.penalties import gradient_penalty
from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, Regularizer, StepContext


@REGULARIZERS.register("gp")
class GradientPenalty(Regularizer):
    """WGAN-GP (Gulrajani et al. 2017): weight * mean((||grad D(x_hat)|| - center)^2) on interpolates.

    ``x_hat`` mixes each real sample with a fake one by one random alpha per sample; a conditional
    D sees the real labels. Costs one extra D forward and a double backward per D step.

    Args:
        weight: lambda, the penalty weight (10 in the paper); must be >= 0.
        one_sided: penalise only gradient norms above ``center`` (the paper's one-sided variant).
        center: the target gradient norm; 1 in WGAN-GP, 0 for a zero-centred penalty. Must be >= 0.
    """

    def __init__(self, weight: float = 10.0, one_sided: bool = False, center: float = 1.0):
        if not weight >= 0:
            raise ConfigError(f"regularizers.gp.weight must be >= 0, got {weight}; WGAN-GP uses 10")
        if not center >= 0:
            raise ConfigError(f"regularizers.gp.center must be >= 0 (a gradient norm), got {center}")
        self.weight = float(weight)
        self.one_sided = bool(one_sided)
        self.center = float(center)

    def d_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        penalty = gradient_penalty(ctx.d_forward, ctx.real, ctx.fake, ctx.y_real,
                                   one_sided=self.one_sided, center=self.center)
        return self.weight * penalty
