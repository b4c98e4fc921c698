"""Objectives: the game a run plays, over named players (``objective.name``).

An objective is registered in ``OBJECTIVES`` as ``fn(setup: Setup, **options) -> Objective``
(options from ``objective.args``, validated against the signature). It builds its players, lists
its phases, and computes each phase's loss from batches; the loop (:mod:`gankit.training.loop`)
runs the phases, back-propagates, steps the phase's players and checkpoints everything without
knowing the game. Exemplar: stylegan2-ada-pytorch's ``phases`` + ``accumulate_gradients``.

One game per file in this package: ``adversarial`` (G vs D, today's losses and regularisers),
``infogan``, ``cyclegan``, ``pix2pix``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import torch
from omegaconf import DictConfig

from gankit.registry import Registry

OBJECTIVES = Registry("objective")


@dataclass(frozen=True)
class Phase:
    """One kind of update within a training step.

    Attributes:
        name: short name (``"D"``, ``"G"``), used in messages.
        players: names of the players whose optimisers step after this phase's backward pass;
            every other player is frozen (``requires_grad_(False)``) during the phase.
        repeat: consecutive updates per step (``train.n_critic`` for a critic).
        every: run only on steps where ``step % every == 0`` (lazy phases).
    """

    name: str
    players: Tuple[str, ...]
    repeat: int = 1
    every: int = 1


@dataclass
class Setup:
    """What an objective builder receives: the run's config and the pieces built before it.

    Attributes:
        cfg: the validated run config.
        data: the loaded :class:`gankit.data.Dataset` (shape, classes, domains).
        prior: the latent prior (``model.latent``).
        device: the training device.
        memory_format: ``torch.channels_last`` or ``torch.contiguous_format`` for image tensors.
        num_classes: classes the networks condition on (0 when unconditional).
        modules: user networks from the Python API by player name (``{"G": ..., "D": ...}``).
    """

    cfg: DictConfig
    data: object
    prior: object
    device: torch.device
    memory_format: torch.memory_format
    num_classes: int
    modules: Dict[str, torch.nn.Module] = field(default_factory=dict)

    def player(self, name: str, module: torch.nn.Module, side: str, ema: bool = False):
        """A :class:`~gankit.training.players.Player` for ``module`` using ``optim.<side>``
        (``"g"`` or ``"d"``); ``ema`` keeps a ``train.ema`` moving average when that is > 0."""
        from gankit.training.players import build_player

        t = self.cfg.train
        if t.sync_bn and torch.distributed.is_available() and torch.distributed.is_initialized():
            module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)  # batch statistics over all ranks
        module.to(self.device, memory_format=self.memory_format if self.data.is_image else torch.contiguous_format)
        module.train()
        return build_player(name, module, self.cfg.optim[side], f"optim.{side}", self.device, t.steps, amp=t.amp,
                            ema=t.ema if ema else 0.0, ema_start=t.ema_start, compile=t.compile)


class Objective:
    """Base class of a game. Subclasses set ``players`` and ``phases`` in ``__init__``.

    Attributes:
        players: ``{name: Player}`` in a fixed order (the checkpoint's).
        phases: the phases of one training step, in order.
    """

    players: dict
    phases: list

    def loss(self, phase: Phase, repeat: int, run) -> torch.Tensor:
        """The scalar loss of one update of ``phase`` (its ``repeat``-th within the step).

        Args:
            phase: which phase.
            repeat: 0-based index of this update within the step (``< phase.repeat``).
            run: the loop (:class:`~gankit.training.loop.Trainer`); use ``run.batches.next()``,
                ``run.draw_rows(draw, n)`` for per-sample random rows (latents, labels: sharded
                exactly across processes), ``run.noise`` (this process's random stream),
                ``run.step_index`` (the 1-based number of the step being computed),
                ``run.micro`` (the micro-batch, with ``train.accumulate``),
                ``run.reporter.report(name, tensor, step)`` and ``run.autocast()``.

        Returns:
            A scalar tensor; the loop scales it, back-propagates and steps ``phase.players``.
        """
        raise NotImplementedError

    def after_update(self, phase: Phase, run) -> None:
        """Called after the phase's optimiser steps (e.g. weight clipping)."""

    # With train.accumulate = k, each update computes k micro-batches (run.micro = 0 .. k-1); a
    # tensor one phase hands to the next (the batch D saw, for G's update) belongs to one of them.
    def hand_on(self, key: str, run, value) -> None:
        """Keep ``value`` for a later phase's update of the same micro-batch (see :meth:`take`)."""
        self.__dict__.setdefault("_handed", {}).setdefault(key, {})[run.micro] = value

    def take(self, key: str, run, default=None):
        """What :meth:`hand_on` kept under ``key`` for this micro-batch (removed), else ``default``."""
        return self.__dict__.get("_handed", {}).get(key, {}).pop(run.micro, default)

    def generator(self) -> Optional[torch.nn.Module]:
        """The noise -> sample network to sample and evaluate (its EMA when kept), or None when
        the game has none (translators)."""
        return None

    @torch.no_grad()
    def preview(self) -> dict:
        """The fixed-input picture of the current state: ``{"images": [N, C, H, W] or [N, D] on the
        CPU, "nrow": int}``; it is the same inputs at every step so that grids are comparable."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """The game's own state beyond players (counters, fixed inputs, pools): plain tensors."""
        return {}

    def load_state_dict(self, state: dict) -> None: ...

    def describe(self) -> dict:
        """Facts for meta.json (parameter counts per player by default)."""
        return {"parameters": {n: sum(p.numel() for p in pl.module.parameters()) for n, pl in self.players.items()}}


def load_builtin_objectives() -> None:
    import importlib
    import pkgutil

    import gankit.objectives as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gankit.objectives.{mod.name}")


def build_objective(setup: Setup) -> Objective:
    load_builtin_objectives()
    o = setup.cfg.objective
    return OBJECTIVES.build(o.name, dict(o.args), where="objective.args", setup=setup)
