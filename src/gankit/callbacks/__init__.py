"""The run's output callbacks (sample grids, TensorBoard, curves, periodic evaluation) and the
default set that ``gankit train`` / :func:`gankit.train` attach.

The base class and the loop-only callbacks (progress bar, stats.jsonl) live in
:mod:`gankit.training.callbacks`; these import ``viz`` and ``metrics``, which ``training/`` never
does. Users add their own with ``gankit.train(..., callbacks=[MyCallback()])``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

from gankit.callbacks.curves import Curves
from gankit.callbacks.evaluation import PeriodicEvaluation
from gankit.callbacks.samples import SampleGrids
from gankit.callbacks.tensorboard import TensorBoard
from gankit.callbacks.threads import AdaptiveThreads
from gankit.training.callbacks import Callback, ProgressBar, StatsFile


def default_callbacks(cfg, run_dir: Path, quiet: bool = False) -> List[Callback]:
    """What every run does: evaluation first (its metrics reach the same flush), then samples,
    statistics, TensorBoard, the progress bar and, at the end, the curves; with ``train.threads=0``
    the thread count follows the idle cores."""
    run_dir = Path(run_dir)
    out: List[Callback] = []
    if cfg.eval.every:
        out.append(PeriodicEvaluation(cfg.eval))
    out += [SampleGrids(run_dir, cfg.train.sample_every), StatsFile(run_dir / "stats.jsonl"),
            TensorBoard(run_dir / "tb", cfg.train.sample_every), ProgressBar(disable=quiet), Curves(run_dir)]
    if cfg.train.threads == 0:  # automatic: follow the cores other processes leave idle
        out.append(AdaptiveThreads())
    return out


__all__ = ["AdaptiveThreads", "Callback", "Curves", "PeriodicEvaluation", "ProgressBar", "SampleGrids", "StatsFile",
           "TensorBoard", "default_callbacks"]
