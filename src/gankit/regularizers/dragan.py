"""DRAGAN gradient penalty around the real data (Kodali et al. 2017)."""

from __future__ import annotations

from typing import Optional

import torch

from gankit.penalties import dragan_penalty
from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, Regularizer, StepContext


@REGULARIZERS.register("dragan")
class Dragan(Regularizer):
    """DRAGAN (Kodali et al. 2017): weight * mean((||grad D(x_hat)|| - 1)^2) on perturbed real data.

    ``x_hat`` lies between a real sample ``x`` and ``x + c * std(x) * U(0, 1)`` noise (one alpha per
    sample), so D is kept smooth in a neighbourhood of the data, which reduces mode collapse.

    Args:
        weight: lambda, the penalty weight (10 in the paper); must be >= 0.
        c: perturbation scale in units of the real batch's standard deviation (0.5 in the paper); > 0.
    """

    def __init__(self, weight: float = 10.0, c: float = 0.5):
        if not weight >= 0:
            raise ConfigError(f"regularizers.dragan.weight must be >= 0, got {weight}; DRAGAN uses 10")
        if not c > 0:
            raise ConfigError(f"regularizers.dragan.c must be > 0, got {c}; DRAGAN uses 0.5")
        self.weight = float(weight)
        self.c = float(c)

    def d_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        return self.weight * dragan_penalty(ctx.d_forward, ctx.real, ctx.y_real, c=self.c)
