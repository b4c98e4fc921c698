"""The callback that connects a training run to its Optuna trial."""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

from gankit.training.callbacks import Callback


class OptunaPruning(Callback):
    """Reports ``key`` of every periodic evaluation to the trial; stops the run when the pruner says so.

    The run stops cleanly through ``trainer.request_stop`` (it saves a checkpoint, so a pruned
    trial's folder can still be inspected or resumed); the caller then marks the trial pruned.

    Args:
        trial: the ``optuna.Trial`` this run belongs to.
        key: the metric result the study optimises (e.g. ``classifier_fid``, ``hq_percent``).
    """

    def __init__(self, trial, key: str):
        self.trial, self.key = trial, key
        self.last: Optional[Tuple[int, float]] = None  # (step, value) of the latest evaluation
        self.pruned_at: Optional[int] = None

    def on_evaluation(self, trainer, step: int, values: Dict[str, float]) -> None:
        value = float(values[self.key])
        self.last = (step, value)
        if not math.isfinite(value):  # Optuna cannot rank it; the trial fails with this reason
            trainer.request_stop(f"{self.key} is {value} at step {step}")
            return
        self.trial.report(value, step)
        if self.trial.should_prune():
            self.pruned_at = step
            trainer.request_stop(f"pruned by Optuna at step {step} ({self.key}={value:.4g})")
