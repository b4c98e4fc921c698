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


def build_scheduler(opt: torch.optim.Optimizer, cfg, total_steps: int):
    """Constant LR, or linear decay to 0 at ``total_steps`` (stepped once per generator step)."""
    if cfg.lr_decay == "linear":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / total_steps))
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
