"""Named statistics: the loop reports values by name, sinks subscribe.

``report("loss/D", tensor)`` accumulates on the tensor's device without a host sync; ``flush(step)``
reads every mean once (one sync per ``log_every`` steps) and hands a plain dict to each sink.
Non-finite values are tracked on the device too, with the first step at which each name went bad,
so the trainer can stop with an error naming the step and the term.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Dict, Optional, Protocol

import torch

_NEVER = 2**62


class Sink(Protocol):
    def write(self, step: int, values: Dict[str, float]) -> None: ...

    def close(self) -> None: ...


class Reporter:
    """Accumulates named scalars between flushes.

    Args:
        sinks: receivers of flushed means.
    """

    def __init__(self, sinks=()):
        self.sinks = list(sinks)
        self._sum: Dict[str, torch.Tensor] = {}
        self._count: Dict[str, int] = {}
        self._first_bad: Dict[str, torch.Tensor] = {}
        self._host: Dict[str, float] = {}
        self.t0 = time.perf_counter()

    def report(self, name: str, value, step: Optional[int] = None) -> None:
        """Add one observation. ``value`` is a tensor (stays on its device) or a Python number."""
        if not torch.is_tensor(value):
            self._host[name] = float(value)
            return
        v = value.detach().float().mean()
        if name in self._sum:
            self._sum[name] += v
            self._count[name] += 1
        else:
            self._sum[name], self._count[name] = v.clone(), 1
        if step is not None:
            bad = self._first_bad.get(name)
            if bad is None:
                bad = self._first_bad[name] = torch.full((), _NEVER, dtype=torch.long, device=v.device)
            # Keeps the first bad step without a sync: min(bad, step if non-finite else never).
            torch.minimum(bad, torch.where(torch.isfinite(v), _NEVER, step), out=bad)

    def first_non_finite(self) -> Optional[tuple[int, str]]:
        """(step, name) of the earliest non-finite observation since the start, or None (one sync)."""
        if not self._first_bad:
            return None
        names = list(self._first_bad)
        steps = torch.stack([self._first_bad[n].cpu() for n in names]).tolist()
        step, name = min(zip(steps, names))
        return None if step >= _NEVER else (int(step), name)

    def flush(self, step: int) -> Dict[str, float]:
        """Send the means since the last flush to every sink and reset them."""
        values = {"step": step, "time": round(time.perf_counter() - self.t0, 3)}
        if self._sum:
            names = list(self._sum)
            means = torch.stack([self._sum[n].cpu() / self._count[n] for n in names]).tolist()
            values.update(zip(names, means))
        values.update(self._host)
        self._sum.clear()
        self._count.clear()
        self._host.clear()
        for sink in self.sinks:
            sink.write(step, values)
        return values

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


class JsonlSink:
    """Appends one JSON object per flush to ``stats.jsonl`` (non-finite values written as null)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fh = open(self.path, "a", encoding="utf-8")

    def write(self, step: int, values: Dict[str, float]) -> None:
        clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in values.items()}
        self._fh.write(json.dumps(clean) + "\n")
        self._fh.flush()

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` (a resumed run rewrites them), atomically."""
        self._fh.close()
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        kept = [ln for ln in lines if ln.strip() and json.loads(ln).get("step", 0) <= step]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
        os.replace(tmp, self.path)
        self._fh = open(self.path, "a", encoding="utf-8")

    def close(self) -> None:
        self._fh.close()


class TensorBoardSink:
    """Writes every flushed scalar to TensorBoard event files in ``log_dir``."""

    def __init__(self, log_dir: Path, purge_step: Optional[int] = None):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)

    def write(self, step: int, values: Dict[str, float]) -> None:
        for name, v in values.items():
            if name not in ("step", "time") and isinstance(v, (int, float)):
                self.writer.add_scalar(name, v, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class ProgressSink:
    """Shows the latest losses and images/s on a tqdm progress bar that the trainer advances."""

    SHOWN = ("loss/D", "loss/G", "D/real", "D/fake", "perf/images_per_s")
    SHORT = {"loss/D": "D", "loss/G": "G", "D/real": "Dr", "D/fake": "Df", "perf/images_per_s": "img/s"}

    def __init__(self, total: int, initial: int = 0, disable: bool = False):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, disable=disable,
                        desc="train")

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def write(self, step: int, values: Dict[str, float]) -> None:
        post = {self.SHORT[k]: (f"{values[k]:.0f}" if k == "perf/images_per_s" else f"{values[k]:.3f}")
                for k in self.SHOWN if k in values and values[k] is not None}
        self.bar.set_postfix(post, refresh=True)

    def close(self) -> None:
        self.bar.close()
