"""``train.threads=0`` (the default) on the CPU: the run's torch threads follow the idle cores.

A run starts with torch's default (one thread per core). Every ``CHECK_EVERY_S`` seconds it
measures how many cores other processes kept busy (:func:`gankit.process.others_busy`); when two
checks in a row ask for another thread count (:func:`gankit.process.threads_for`), the count
changes and the log says so. On an idle machine nothing changes. Beside one busy process a
2-thread run on 2 cores drops to 1 thread instead of running at a quarter of its speed, and goes
back to 2 when the other process ends (``benchmarks/busy_machine.py``).

A different thread count changes the float rounding of the convolutions, so under a changing load
two runs of one config are no longer bit-identical; pin ``train.threads=N`` where that matters.
"""

from __future__ import annotations

import time
from typing import Optional

import torch

from gankit import process
from gankit.training.callbacks import Callback


class AdaptiveThreads(Callback):
    """Adjusts ``torch.set_num_threads`` to the cores other processes leave idle.

    Args:
        cores: the most threads to use (default: torch's thread count at the start of the run).
        check_every_s: seconds between two measurements (default ``CHECK_EVERY_S``).
    """

    all_ranks = True  # torchrun: each process sets its own threads
    CHECK_EVERY_S = 3.0

    def __init__(self, cores: Optional[int] = None, check_every_s: Optional[float] = None):
        self.cores = cores
        self.check_every_s = self.CHECK_EVERY_S if check_every_s is None else check_every_s
        self.last: Optional[process.CPUSample] = None
        self.pending: Optional[int] = None  # the count the last check asked for, awaiting a second check
        self.active = False

    def on_fit_start(self, trainer) -> None:
        self.active = trainer.device.type == "cpu"
        self.cores = self.cores or torch.get_num_threads()
        self.last = process.sample_cpu() if self.active else None
        self.active = self.last is not None  # no /proc/stat (macOS): keep torch's default

    def on_step_end(self, trainer, step: int) -> None:
        if not self.active or time.monotonic() - self.last.wall < self.check_every_s:
            return
        now = process.sample_cpu()
        if now is None:  # /proc/stat stopped being readable: keep the count as it is
            self.active = False
            return
        others = process.others_busy(self.last, now)
        self.last = now
        want, have = process.threads_for(others, self.cores), torch.get_num_threads()
        if want == have or self.pending != want:
            self.pending = None if want == have else want  # act only when two checks agree
            return
        self.pending = None
        torch.set_num_threads(want)
        trainer.log(f"gankit: note: step {step}: other processes keep {others:.1f} of {self.cores} cores busy; "
                    f"training goes on with {want} thread{'s' if want > 1 else ''} (was {have}). "
                    "train.threads=N pins the count")
