"""Named statistics: the loop reports values by name, callbacks subscribe.

``report("loss/D", tensor)`` accumulates on the tensor's device without a host sync; ``flush(step)``
reads every mean once (one sync per ``log_every`` steps) and returns a plain dict, which the loop
hands to every callback's ``on_flush`` (stats.jsonl, TensorBoard, the progress bar).
Non-finite values are tracked on the device too, with the first step at which each name went bad,
so the trainer can stop with an error naming the step and the term.
"""

from __future__ import annotations

import time
from typing import Dict, Optional

import torch

_NEVER = 2**62


class Reporter:
    """Accumulates named scalars between flushes."""

    def __init__(self):
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

    def first_non_finite(self, reduce=None) -> Optional[tuple[int, str]]:
        """(step, name) of the earliest non-finite observation since the start, or None (one sync).

        Within one step the first name reported wins: names are kept in computation order, so a
        penalty that overflowed before the generator's loss is the one named.

        Args:
            reduce: element-wise minimum over processes (distributed runs), so that every rank
                sees the same answer and they stop together.
        """
        if not self._first_bad:
            return None
        names = list(self._first_bad)
        steps = torch.stack([self._first_bad[n] for n in names])
        if reduce is not None:
            steps = reduce(steps)
        steps = steps.cpu().tolist()
        step, _, name = min((s, i, n) for i, (s, n) in enumerate(zip(steps, names)))
        return None if step >= _NEVER else (int(step), name)

    def flush(self, step: int, reduce=None) -> Dict[str, float]:
        """The means since the last flush (plus ``step`` and ``time``); resets them.

        Args:
            reduce: averages a 1-D tensor over processes (distributed runs: every rank reports the
                same names in the same order, so the means are all-reduced in one call).
        """
        values = {"step": step, "time": round(time.perf_counter() - self.t0, 3)}
        if self._sum:
            names = list(self._sum)
            means = torch.stack([self._sum[n] / self._count[n] for n in names])
            if reduce is not None:
                means = reduce(means)
            means = means.cpu().tolist()
            values.update(zip(names, means))
        values.update(self._host)
        self._sum.clear()
        self._count.clear()
        self._host.clear()
        return values
