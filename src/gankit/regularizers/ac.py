"""Auxiliary-classifier loss of AC-GAN (Odena et al. 2017)."""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F

from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, Regularizer, StepContext


def class_logits_of(out: Any) -> torch.Tensor:
    """The auxiliary classifier's logits ``[N, num_classes]`` of a D output dict."""
    if not isinstance(out, dict) or "class_logits" not in out:
        got = f"a dict with keys {sorted(out)}" if isinstance(out, dict) else type(out).__name__
        raise ConfigError(f"regularizers.ac needs a discriminator that returns a dict with 'class_logits', "
                          f"got {got}; use a D with `conditioning: acgan` (model.d.args.conditioning=acgan)")
    return out["class_logits"]


def labels_of(y: Optional[torch.Tensor], which: str) -> torch.Tensor:
    """``y`` ``[N]``, or a ConfigError when the run has no labels."""
    if y is None:
        raise ConfigError(f"regularizers.ac needs class labels but the {which} batch has none; "
                          "set model.conditional: true and use a data source with labels")
    return y


@REGULARIZERS.register("ac")
class AuxiliaryClassifier(Regularizer):
    """AC-GAN (Odena et al. 2017): cross-entropy of D's class head on real and fake, for D and G.

    D minimises ``weight * (CE(real) + CE(fake))``; G minimises ``weight * CE(fake)`` so that its
    samples are recognisable as the class they were generated for.

    Args:
        weight: multiplier of the classification losses; must be >= 0.
    """

    def __init__(self, weight: float = 1.0):
        if not weight >= 0:
            raise ConfigError(f"regularizers.ac.weight must be >= 0, got {weight}; AC-GAN uses 1")
        self.weight = float(weight)

    def d_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        real = F.cross_entropy(class_logits_of(ctx.real_out), labels_of(ctx.y_real, "real"))
        fake = F.cross_entropy(class_logits_of(ctx.fake_out), labels_of(ctx.y_fake, "fake"))
        return self.weight * (real + fake)

    def g_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        return self.weight * F.cross_entropy(class_logits_of(ctx.fake_out), labels_of(ctx.y_fake, "fake"))
