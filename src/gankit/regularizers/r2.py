"""R2 gradient penalty on generated data (Mescheder et al. 2018)."""

from __future__ import annotations

from typing import Optional

import torch

from gankit.penalties import squared_gradient_norm
from gankit.regularizers import REGULARIZERS, Regularizer, StepContext, logits_of
from gankit.regularizers.r1 import check_gamma_every


@REGULARIZERS.register("r2")
class R2(Regularizer):
    """R2 (Mescheder et al. 2018): gamma/2 * E[||grad_x D(G(z))||^2] on fake data, optionally lazy.

    The fake batch is detached during the D step, so R2 runs one extra D forward on a copy that
    requires grad. Lazy scaling by ``every`` as in :class:`~gankit.regularizers.r1.R1`.

    Args:
        gamma: penalty weight; must be >= 0.
        every: apply the penalty on steps where ``step % every == 0``; integer >= 1.
    """

    def __init__(self, gamma: float = 10.0, every: int = 1):
        check_gamma_every("r2", gamma, every)
        self.gamma = float(gamma)
        self.every = every

    def d_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        fake = ctx.fake.detach().requires_grad_(True)
        penalty = squared_gradient_norm(logits_of(ctx.d_forward(fake, ctx.y_fake)), fake)
        return (self.gamma / 2 * self.every) * penalty
