"""Players: one trained network with everything that updates it.

A :class:`Player` owns a module, its optimiser, its LR schedule, its AMP loss scaler, its gradient
clipping and an optional EMA copy. Objectives declare players by name (``G``, ``D``; ``G_ab``,
``G_ba``, ``D_a``, ``D_b``); the loop updates, schedules and checkpoints them without knowing
which game they play.
"""

from __future__ import annotations

import copy
from typing import Optional

import torch

from gankit.training.optim import build_optimizer, build_scheduler


class Player:
    """One trained network.

    Args:
        name: its key in checkpoints and statistics (``grad_norm/<name>``).
        module: the network (already on its device).
        optimizer, scheduler: built from the player's ``optim.*`` section.
        scaler: AMP gradient scaler (disabled unless fp16).
        grad_clip: clip the global gradient norm to this; 0 = off (the norm is still reported).
        ema_decay: keep an exponential moving average copy when > 0.
        ema_start: before this step the EMA copies the weights.
        forward: what training calls (``torch.compile(module)`` when compiling), default ``module``.
        opt_cfg: the ``optim.*`` config (re-applied on resume so that changed settings take effect).
    """

    def __init__(self, name: str, module: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                 scaler: torch.amp.GradScaler, grad_clip: float = 0.0, ema_decay: float = 0.0, ema_start: int = 0,
                 forward=None, opt_cfg=None):
        self.name, self.module, self.optimizer, self.scheduler, self.scaler = name, module, optimizer, scheduler, scaler
        self.grad_clip, self.ema_decay, self.ema_start = float(grad_clip), float(ema_decay), int(ema_start)
        self.forward = forward if forward is not None else module
        self.opt_cfg = opt_cfg
        self.ema: Optional[torch.nn.Module] = (copy.deepcopy(module).eval().requires_grad_(False)
                                               if ema_decay > 0 else None)

    @property
    def inference(self) -> torch.nn.Module:
        """The weights to sample and evaluate with: the EMA copy when kept, else the module."""
        return self.ema if self.ema is not None else self.module

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def clip_and_norm(self, scaler: torch.amp.GradScaler) -> torch.Tensor:
        """Unscale with ``scaler`` (the phase's: it scaled the loss), then clip (when ``grad_clip`` > 0);
        returns the pre-clip global gradient norm, on device."""
        scaler.unscale_(self.optimizer)
        params = [p for p in self.module.parameters() if p.grad is not None]
        return torch.nn.utils.clip_grad_norm_(params, self.grad_clip if self.grad_clip > 0 else float("inf"),
                                              foreach=True)

    @torch.no_grad()
    def update_ema(self, step: int) -> None:
        """Move the EMA towards the weights (``step`` is the 0-based step being completed)."""
        if self.ema is None:
            return
        decay = self.ema_decay if step >= self.ema_start else 0.0
        torch._foreach_lerp_(list(self.ema.parameters()), [p.detach() for p in self.module.parameters()], 1.0 - decay)
        for b_ema, b in zip(self.ema.buffers(), self.module.buffers()):
            b_ema.copy_(b)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "ema": self.ema.state_dict() if self.ema is not None else None,
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> list[str]:
        """Restore everything; then re-apply the config's optimiser settings (resume overrides).

        Returns:
            ``"optim setting: old -> new"`` lines for settings the config changed.
        """
        self.module.load_state_dict(state["module"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"] if state.get("ema") is not None else state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        return self._apply_config()

    def _apply_config(self) -> list[str]:
        # The optimiser's state restores the old hyper-parameters; a resumed run's config (with its
        # overrides) must win, so set them again and recompute the scheduled LR from the new base.
        if self.opt_cfg is None:
            return []
        changes = []
        wanted = {"lr": float(self.opt_cfg.lr), "weight_decay": float(self.opt_cfg.weight_decay)}
        if "betas" in self.optimizer.defaults:
            wanted["betas"] = tuple(float(b) for b in self.opt_cfg.betas)
        if "momentum" in self.optimizer.defaults:
            wanted["momentum"] = float(self.opt_cfg.momentum)
        lr = wanted.pop("lr")
        for key, value in wanted.items():
            old = self.optimizer.param_groups[0].get(key)
            if any(group.get(key) != value for group in self.optimizer.param_groups):
                changes.append(f"{key}: {old} -> {value}")
                for group in self.optimizer.param_groups:
                    group[key] = value
        if any(b != lr for b in self.scheduler.base_lrs):
            changes.insert(0, f"lr: {self.scheduler.base_lrs[0]:g} -> {lr:g}")
            self.scheduler.base_lrs = [lr] * len(self.optimizer.param_groups)
            for group, lmbda in zip(self.optimizer.param_groups, self.scheduler.lr_lambdas):
                group["initial_lr"] = lr
                group["lr"] = lr * lmbda(self.scheduler.last_epoch)
            self.scheduler._last_lr = [g["lr"] for g in self.optimizer.param_groups]
        return changes


def build_player(name: str, module: torch.nn.Module, opt_cfg, where: str, device: torch.device, total_steps: int,
                 amp: str = "none", ema: float = 0.0, ema_start: int = 0, compile: bool = False) -> Player:
    """A player for ``module`` from its optimiser config (``where`` is the config path, e.g. ``optim.g``)."""
    opt = build_optimizer(module.parameters(), opt_cfg, where, device)
    return Player(name, module, opt, build_scheduler(opt, opt_cfg, total_steps),
                  torch.amp.GradScaler("cuda", enabled=amp == "fp16"), grad_clip=opt_cfg.grad_clip,
                  ema_decay=ema, ema_start=ema_start, forward=torch.compile(module) if compile else None,
                  opt_cfg=opt_cfg)
