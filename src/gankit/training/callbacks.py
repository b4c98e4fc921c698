"""Callbacks: everything a run does besides the updates subscribes to the loop's events.

The loop emits, in this order within a run::

    on_fit_start(trainer)                    once, before the first step (also after a resume)
    on_step_end(trainer, step)               after every step (step counts from 1)
    on_evaluation(trainer, step, values)     when an evaluation callback measured metrics
    on_flush(trainer, step, values)          every train.log_every steps: the statistics' means
    on_checkpoint(trainer, step, path)       after a checkpoint was written
    on_fit_end(trainer, step)                once, after the last step (also when stopped early)
    close(trainer)                           always, last, also after an error: release files

A callback can stop the run cleanly with ``trainer.request_stop(reason)`` (the loop finishes the
step, saves a checkpoint and returns), and can keep state in checkpoints by setting ``key`` and
implementing ``state_dict``/``load_state_dict``. With several processes (torchrun) only rank 0
receives events, unless a callback sets ``all_ranks = True`` (then it must do its own I/O on
``trainer.dist.is_main`` only, and take part in any collective call it makes). This module holds the callbacks that need
nothing beyond the loop (progress bar, stats.jsonl); sample grids, TensorBoard, curves and
periodic evaluation live in :mod:`gankit.callbacks`, so ``training/`` never imports ``viz`` or
``metrics``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Dict


class Callback:
    """Base class: override the events you need; each receives the :class:`~gankit.training.loop.Trainer`."""

    key: str = ""  # non-empty: state_dict() is saved in checkpoints under this key
    all_ranks: bool = False  # torchrun: also receive events on ranks other than 0

    def on_fit_start(self, trainer) -> None: ...

    def on_step_end(self, trainer, step: int) -> None: ...

    def on_evaluation(self, trainer, step: int, values: Dict[str, float]) -> None: ...

    def on_flush(self, trainer, step: int, values: Dict[str, float]) -> None: ...

    def on_checkpoint(self, trainer, step: int, path: Path) -> None: ...

    def on_fit_end(self, trainer, step: int) -> None: ...

    def close(self, trainer) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


EVENTS = ("on_fit_start", "on_step_end", "on_evaluation", "on_flush", "on_checkpoint", "on_fit_end", "close")


class StatsFile(Callback):
    """Appends one JSON object per flush to ``stats.jsonl`` (non-finite values written as null).

    On a resume, records past the restored step are dropped first (the resumed run rewrites them).
    """

    def __init__(self, path: Path):
        self.path, self._fh = Path(path), None

    def on_fit_start(self, trainer) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        kept = [ln for ln in lines if ln.strip() and json.loads(ln).get("step", 0) <= trainer.step]
        if len(kept) != len(lines):
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
            os.replace(tmp, self.path)
        self._fh = open(self.path, "a", encoding="utf-8")

    def on_flush(self, trainer, step, values) -> None:
        clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in values.items()}
        self._fh.write(json.dumps(clean) + "\n")
        self._fh.flush()

    def close(self, trainer) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class ProgressBar(Callback):
    """A tqdm bar advanced every step, showing every ``loss/*`` and images/s at each flush."""

    def __init__(self, disable: bool = False):
        self.disable, self.bar = disable, None

    def on_fit_start(self, trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.cfg.train.steps, initial=trainer.step, unit="step", dynamic_ncols=True,
                        disable=self.disable, desc="train")

    def on_step_end(self, trainer, step) -> None:
        self.bar.update(1)

    def on_flush(self, trainer, step, values) -> None:
        post = {k[len("loss/"):]: f"{v:.3f}" for k, v in values.items()
                if k.startswith("loss/") and isinstance(v, float)}
        for k, short in (("D/real", "Dr"), ("D/fake", "Df")):
            if isinstance(values.get(k), float):
                post[short] = f"{values[k]:.3f}"
        if isinstance(values.get("perf/images_per_s"), float):
            post["img/s"] = f"{values['perf/images_per_s']:.0f}"
        self.bar.set_postfix(post, refresh=True)

    def close(self, trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
