"""Helpers shared by the benchmark scripts that train a preset over several seeds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence


def train_run(preset: Optional[str], seed: int, overrides: Sequence[str], run_dir: Path, threads: int,
              extra_args: Sequence[str] = ()) -> float:
    """Train one seed through the CLI in a fresh process (``extra_args`` e.g. ``["--config", FILE]``,
    then ``preset`` may be None); returns its wall time in seconds."""
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "gankit.cli", "train", *(["--preset", preset] if preset else []), *extra_args,
           "--out", str(run_dir), "--quiet", f"train.seed={seed}", f"train.threads={threads}", *overrides]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def mean_se(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> str:
    """``mean ± standard error`` of ``values * scale`` (the mean alone for one value)."""
    m = statistics.mean(values) * scale
    if len(values) < 2:
        return f"{m:.{digits}f}"
    se = statistics.stdev(values) / len(values) ** 0.5 * scale
    return f"{m:.{digits}f} ± {se:.{digits}f}"
