"""Weight clipping of the critic (WGAN, Arjovsky et al. 2017)."""

from __future__ import annotations

import torch

from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, Regularizer


@REGULARIZERS.register("clip")
class WeightClipping(Regularizer):
    """Weight clipping (WGAN, Arjovsky et al. 2017): clamp every D parameter after each D step.

    Clipping keeps the critic (roughly) Lipschitz; all parameters are clipped, normalisation
    scales and biases included, as in the paper.

    Args:
        value: parameters are clamped to ``[-value, value]``; must be > 0.
    """

    def __init__(self, value: float = 0.01):
        if not value > 0:
            raise ConfigError(f"regularizers.clip.value must be > 0, got {value}; the WGAN paper uses 0.01")
        self.value = float(value)

    @torch.no_grad()
    def after_d_step(self, D: torch.nn.Module) -> None:
        """Clamp all of D's parameters in place to ``[-value, value]``."""
        for p in D.parameters():
            p.clamp_(-self.value, self.value)
