"""R1 gradient penalty on real data (Mescheder et al. 2018)."""

from __future__ import annotations

from typing import Optional

import torch

from gankit.penalties import squared_gradient_norm
from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, Regularizer, StepContext, logits_of


def check_gamma_every(name: str, gamma: float, every: int) -> None:
    """Validate the options shared by R1 and R2; errors name ``regularizers.<name>.<option>``."""
    if not gamma >= 0:
        raise ConfigError(f"regularizers.{name}.gamma must be >= 0, got {gamma}; common values are 0.1 to 10")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(f"regularizers.{name}.every must be an integer >= 1, got {every!r}; "
                          "1 penalises every D step, 16 is StyleGAN2's lazy setting")


@REGULARIZERS.register("r1")
class R1(Regularizer):
    """R1 (Mescheder et al. 2018): gamma/2 * E[||grad_x D(x)||^2] on real data, optionally lazy.

    Reuses the trainer's forward pass on the real batch (``ctx.real_out``), so it costs one double
    backward and no extra forward. With ``every = k`` the penalty runs on every k-th step and is
    multiplied by k so that its average strength is unchanged (lazy regularisation, StyleGAN2).

    Args:
        gamma: penalty weight; must be >= 0.
        every: apply the penalty on steps where ``step % every == 0``; integer >= 1.
    """

    needs_real_grad = True

    def __init__(self, gamma: float = 10.0, every: int = 1):
        check_gamma_every("r1", gamma, every)
        self.gamma = float(gamma)
        self.every = every

    def d_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        penalty = squared_gradient_norm(logits_of(ctx.real_out), ctx.real)
        return (self.gamma / 2 * self.every) * penalty
