"""Progressive growing (Karras et al. 2018): the adversarial game on networks that grow from 4x4.

``objective.name=progan`` with ``model.g.name=progan`` and ``model.d.name=progan``. Training runs
through *phases* measured in real images shown to D (``images_per_phase``; the paper: 600k):
level 0 (4x4) trains for one phase; every further level first fades in for one phase (alpha
ramps linearly from 0 to 1) and then stabilises for one phase (alpha 1); the last level keeps
stabilising until ``train.steps``. The stage ``(level, alpha)`` is a pure function of the step
(:class:`GrowthSchedule`), so a run resumed mid-fade continues bit-identically.

Before each update the objective sets the stage on G, its EMA copy and D, and prepares the real
batch as the paper does: downsampled to the level's side (average pooling), during a fade blended
with its own 2x-coarser version by the same alpha, then nearest-upsampled back to the data size
(which D reads exactly; see :mod:`gankit.models.progan`). Loss and regularisers are the run's
(the presets: ``loss.name=wasserstein``, ``regularizers: {gp: {weight: 10}, drift: {weight: 0.001}}``).

``batch_sizes`` optionally lowers the batch at some levels, by side (the paper lowers it at high
resolutions to fit in memory: ``{32: 64, 64: 32}``): at a listed side each update uses the first
``min(batch_sizes[side], train.batch_size)`` images of the batch drawn at ``train.batch_size``
(so that one is the largest); sides the network does not reach are ignored, so one preset serves
several resolutions (with torchrun they are global batch sizes, like ``train.batch_size``). A
phase lasts ``ceil(images_per_phase / (batch_size * train.n_critic * train.accumulate))`` steps at
the level's batch size. The level and alpha are
reported as ``growth/level`` and ``growth/alpha`` (stats.jsonl, TensorBoard), and meta.json lists
the step at which each level starts to fade in and to stabilise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F

from gankit.models.progan import Growing, fade, level_side, up2
from gankit.nn.options import integer
from gankit.objectives import OBJECTIVES, Setup
from gankit.objectives.adversarial import Adversarial
from gankit.registry import ConfigError

_WHERE = "objective.args"


@dataclass(frozen=True)
class GrowthSchedule:
    """Level and fade-in alpha as a function of the step.

    Attributes:
        levels: number of levels (``log2(R / 4) + 1``).
        images_per_phase: real images shown to D per phase.
        batch_sizes: images per D update at each level.
        n_critic: D updates per step.
        accumulate: batches per D update (``train.accumulate``).
    """

    levels: int
    images_per_phase: int
    batch_sizes: Tuple[int, ...]
    n_critic: int = 1
    accumulate: int = 1

    def phase_steps(self, level: int) -> int:
        """Steps of one phase (fade-in or stabilisation) at ``level``."""
        shown = self.batch_sizes[level] * self.n_critic * self.accumulate  # real images D sees per step
        return max(1, math.ceil(self.images_per_phase / shown))

    def starts(self) -> List[Tuple[int, int, int]]:
        """``[(level, fade_start, stable_start), ...]``: the first step (0-based, steps completed
        before it) of each level's fade-in and stabilisation (level 0 has no fade: both 0)."""
        out, step = [(0, 0, 0)], self.phase_steps(0)
        for k in range(1, self.levels):
            n = self.phase_steps(k)
            out.append((k, step, step + n))
            step += 2 * n
        return out

    def stage(self, step: int) -> Tuple[int, float]:
        """``(level, alpha)`` for the step that follows ``step`` completed steps."""
        for level, fade_start, stable_start in reversed(self.starts()):
            if step >= stable_start:
                return level, 1.0
            if step >= fade_start:
                return level, (step - fade_start) / (stable_start - fade_start)
        raise AssertionError("level 0 starts at step 0")


def fade_reals(x: torch.Tensor, level: int, alpha: float) -> torch.Tensor:
    """Real images as G makes them at a stage: average-pooled to the level's side, during a fade
    blended with their 2x-coarser version (``lerp(up2(pool2(x_k)), x_k, alpha)``), then
    nearest-upsampled back to the input size.

    Args:
        x: ``[N, C, R, R]``.
        level, alpha: the stage.

    Returns:
        ``[N, C, R, R]``, constant over blocks of ``R / side`` pixels.
    """
    factor = x.shape[-1] // level_side(level)
    xk = F.avg_pool2d(x, factor) if factor > 1 else x
    if level > 0 and alpha < 1.0:
        xk = fade(up2(F.avg_pool2d(xk, 2)), xk, alpha)
    return F.interpolate(xk, scale_factor=factor, mode="nearest") if factor > 1 else xk


@OBJECTIVES.register("progan")
class ProGAN(Adversarial):
    """The adversarial game on growing networks (see the module docstring).

    Args:
        setup: the run's pieces (G and D must be growing networks: ``progan``).
        images_per_phase: real images shown to D in each fade-in and each stabilisation phase
            (the paper: 600,000; the CPU presets use a few tens of thousands).
        batch_sizes: ``{side: batch size}`` for the levels that use fewer than ``train.batch_size``
            images per update; None = ``train.batch_size`` at every level.
    """

    def __init__(self, setup: Setup, images_per_phase: int = 600_000, batch_sizes: Optional[Mapping] = None):
        super().__init__(setup)
        G, D = self.players["G"].module, self.players["D"].module
        if not (isinstance(G, Growing) and isinstance(D, Growing)):
            raise ConfigError("objective.name=progan grows its networks, so it needs model.g.name=progan and "
                              f"model.d.name=progan (got {type(G).__name__} and {type(D).__name__})")
        if G.levels != D.levels:
            raise ConfigError(f"G has {G.levels} levels but D has {D.levels}; they must grow to the same size")
        t = setup.cfg.train
        images = integer(images_per_phase, f"{_WHERE}.images_per_phase", 1)
        sizes = self._batch_sizes(batch_sizes, G.levels, t.batch_size)
        self.batch_size = t.batch_size
        self.schedule = GrowthSchedule(G.levels, images, sizes, t.n_critic, t.accumulate)
        self.level, self.alpha = self.schedule.stage(0)

    @staticmethod
    def _batch_sizes(batch_sizes, levels: int, largest: int) -> Tuple[int, ...]:
        """Images per update at each level: ``train.batch_size`` capped by ``batch_sizes[side]``."""
        if batch_sizes is None:
            return (largest,) * levels
        if not isinstance(batch_sizes, Mapping):
            raise ConfigError(f"{_WHERE}.batch_sizes maps an image side to its batch size, e.g. {{32: 64, 64: 32}}; "
                              f"got {batch_sizes!r}")
        caps = {}
        for side, b in batch_sizes.items():
            try:
                side = int(side)
            except ValueError:
                side = 0
            if side < 4 or side & (side - 1):
                raise ConfigError(f"{_WHERE}.batch_sizes keys are image sides (4, 8, 16, ...), got {side!r}")
            caps[side] = integer(b, f"{_WHERE}.batch_sizes.{side}", 1)
        return tuple(min(largest, caps.get(level_side(k), largest)) for k in range(levels))

    def set_stage(self, level: int, alpha: float) -> None:
        """Put G, its EMA copy and D at ``(level, alpha)``."""
        self.level, self.alpha = level, alpha
        G = self.players["G"]
        for net in (G.module, G.ema, self.players["D"].module):
            if net is not None:
                net.set_stage(level, alpha)

    def loss(self, phase, repeat, run):
        level, alpha = self.schedule.stage(run.step_index - 1)
        self.set_stage(level, alpha)
        run.reporter.report("growth/level", level)
        run.reporter.report("growth/alpha", alpha)
        return super().loss(phase, repeat, run)

    def real_batch(self, run) -> tuple:
        x, y = super().real_batch(run)
        # this process's share of the level's batch (all of it without torchrun)
        b = self.schedule.batch_sizes[self.level] * x.shape[0] // self.batch_size
        x, y = x[:b], (y[:b] if y is not None else None)
        x = fade_reals(x, self.level, self.alpha)
        return x.contiguous(memory_format=self.memory_format), y

    def describe(self) -> dict:
        growth = [{"level": k, "side": level_side(k), "fade_start_step": f, "stable_start_step": s}
                  for k, f, s in self.schedule.starts()]
        return {**super().describe(), "growth": growth}
