"""Optimisers and learning-rate schedules, chosen by name from ``optim.g`` / ``optim.d``."""

from __future__ import annotations

import torch

from gankit.registry import ConfigError, Registry

OPTIMIZERS = Registry("optimizer")


@OPTIMIZERS.register("adam")
def _adam(params, cfg, fast: dict):
    """Adam (Kingma & Ba 2015); the GAN default with betas (0.5, 0.999) (DCGAN) or (0, 0.9) (WGAN-GP, SNGAN)."""
    return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, **fast)


@OPTIMIZERS.register("rmsprop")
def _rmsprop(params, cfg, fast: dict):
    """RMSprop, as in the original WGAN (lr 5e-5)."""
    return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast)


@OPTIMIZERS.register("sgd")
def _sgd(params, cfg, fast: dict):
    """Stochastic gradient descent with optional momentum."""
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast)


def build_optimizer(params, cfg, where: str, device: torch.device) -> torch.optim.Optimizer:
    """Build the optimiser named by ``cfg.name`` (``where`` is its config path for messages)."""
    if cfg.name not in OPTIMIZERS:
        try:
            OPTIMIZERS.get(cfg.name)
        except ConfigError as e:
            raise ConfigError(f"{where}.name: {e}") from None
    # foreach kernels batch the per-parameter updates; fused Adam is faster still on CUDA.
    fast = {"fused": True} if device.type == "cuda" and cfg.name == "adam" else {"foreach": True}
    return OPTIMIZERS.get(cfg.name)(list(params), cfg, fast)


def _constant(total_steps: int):
    return lambda s: 1.0


def _linear(total_steps: int):
    return lambda s: max(0.0, 1.0 - s / total_steps)


def _linear_second_half(total_steps: int):
    # CycleGAN's schedule (Zhu et al. 2017; the reference's n_epochs + n_epochs_decay): constant for
    # the first half, then linear towards 0 at total_steps.
    start = total_steps // 2
    return lambda s: 1.0 if s < start else max(0.0, 1.0 - (s - start) / (total_steps - start))


#: ``optim.*.lr_decay`` -> ``total_steps -> (step -> LR factor)``. The factors are plain functions,
#: so LambdaLR's state_dict stays free of code.
LR_DECAYS = {"none": _constant, "linear": _linear, "linear_second_half": _linear_second_half}


def build_scheduler(opt: torch.optim.Optimizer, cfg, total_steps: int):
    """The LR schedule ``cfg.lr_decay`` names (see ``LR_DECAYS``), stepped once per training step."""
    return torch.optim.lr_scheduler.LambdaLR(opt, LR_DECAYS[cfg.lr_decay](total_steps))
