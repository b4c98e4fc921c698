"""Adversarial losses as pure functions of discriminator logits.

Each registered builder returns an :class:`AdversarialLoss`: ``d_loss(real_logits, fake_logits)``
and ``g_loss(fake_logits, real_logits)`` map logits ``[N]`` to a scalar. No optimiser calls,
no sigmoid inside D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from gankit.registry import ConfigError, Registry

LOSSES = Registry("loss")


@dataclass(frozen=True)
class AdversarialLoss:
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    probabilities: bool  # whether sigmoid(logit) reads as D's probability of "real" (for logging)


def _check_smoothing(label_smoothing: float) -> float:
    if not 0.0 <= label_smoothing < 0.5:
        raise ConfigError(f"loss.args.label_smoothing must be in [0, 0.5), got {label_smoothing}")
    return label_smoothing


@LOSSES.register("bce")
def bce(label_smoothing: float = 0.0) -> AdversarialLoss:
    """Non-saturating GAN loss (Goodfellow et al. 2014): G maximises log D(G(z)).

    Args:
        label_smoothing: one-sided label smoothing (Salimans et al. 2016): real targets become
            ``1 - label_smoothing`` in D's loss; fake targets stay 0.
    """
    real_target = 1.0 - _check_smoothing(label_smoothing)

    def d_loss(real, fake):
        return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_target))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def g_loss(fake, real=None):
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))

    return AdversarialLoss(d_loss, g_loss, probabilities=True)


@LOSSES.register("minimax")
def minimax(label_smoothing: float = 0.0) -> AdversarialLoss:
    """The original minimax loss: G minimises log(1 - D(G(z))) (saturates early in training)."""
    base = bce(label_smoothing)

    def g_loss(fake, real=None):
        # log(1 - sigmoid(l)) = -softplus(l)
        return -F.softplus(fake).mean()

    return AdversarialLoss(base.d_loss, g_loss, probabilities=True)


@LOSSES.register("wasserstein")
def wasserstein() -> AdversarialLoss:
    """Wasserstein critic loss (Arjovsky et al. 2017); pair with weight clipping or a gradient penalty."""

    def d_loss(real, fake):
        return fake.mean() - real.mean()

    def g_loss(fake, real=None):
        return -fake.mean()

    return AdversarialLoss(d_loss, g_loss, probabilities=False)


@LOSSES.register("hinge")
def hinge() -> AdversarialLoss:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018, SNGAN)."""

    def d_loss(real, fake):
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def g_loss(fake, real=None):
        return -fake.mean()

    return AdversarialLoss(d_loss, g_loss, probabilities=False)


@LOSSES.register("lsgan")
def lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> AdversarialLoss:
    """Least-squares GAN (Mao et al. 2017) with the 0-1 coding: D pushes fake to a, real to b; G wants c."""

    def d_loss(real, fake):
        return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()

    def g_loss(fake, real=None):
        return 0.5 * ((fake - c) ** 2).mean()

    return AdversarialLoss(d_loss, g_loss, probabilities=False)


def build_loss(name: str, args: dict) -> AdversarialLoss:
    return LOSSES.build(name, args, where="loss.args")
