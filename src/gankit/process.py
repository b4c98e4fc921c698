"""Process-wide CPU settings of a training run: the C allocator's policy for freed memory, and
how many threads a run can use on a machine that other processes share.

**Freed memory stays in the process.** glibc's ``malloc`` serves every block above a threshold
(at most 32 MiB) with a fresh ``mmap`` and returns it to the kernel on ``free``; it also trims the
top of the heap back to the kernel. A training step frees and re-allocates the same activation and
gradient buffers every step, so each step the kernel hands out, page by page, memory that it must
zero first: about 80,000 page faults per step of PyTorch-GAN's DCGAN at batch 64, a quarter of
the step's CPU time in the kernel (``benchmarks/same_network.py`` measures it). Disabling ``mmap``
for allocations and raising the trim threshold keeps freed blocks in the heap, where the next
step's allocations of the same sizes find them, already mapped. The cost: the process keeps its
peak memory until it exits (which a training process reaches in its first step anyway).

It is a ``mallopt`` call, made at the start of a run (``train.keep_memory``, on by default); on a
C library without ``mallopt`` (macOS, musl) nothing changes and :func:`keep_freed_memory` says so.

**Threads follow the idle cores.** :func:`sample_cpu` / :func:`others_busy` measure how many cores
other processes keep busy (``/proc/stat`` minus this process's own CPU time) and
:func:`threads_for` turns that into a thread count; :class:`gankit.callbacks.threads.AdaptiveThreads`
applies it during a run with ``train.threads=0``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import time
from dataclasses import dataclass
from typing import Optional

# glibc's <malloc.h> parameter numbers.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
#: Free memory at the top of the heap beyond this is returned to the kernel (glibc's default: 128 KiB).
TRIM_THRESHOLD = 1 << 30


@functools.lru_cache(maxsize=None)
def _libc():
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return lib if hasattr(lib, "mallopt") else None


@functools.lru_cache(maxsize=None)
def keep_freed_memory() -> bool:
    """Make ``malloc`` keep freed blocks in the process (see the module docstring).

    Returns:
        True when the C library took both settings; False where there is no ``mallopt``.
    """
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


# ---------------------------------------------------------------- threads on a shared machine
#: Fields of /proc/stat's "cpu" line that count idle time (idle, iowait); the others are busy time.
_IDLE_FIELDS = (3, 4)


@dataclass
class CPUSample:
    wall: float  # monotonic seconds
    busy: float  # CPU seconds all processes of the machine have used (since boot)
    own: float  # CPU seconds this process has used (all its threads)


def sample_cpu() -> Optional[CPUSample]:
    """The machine's and this process's CPU time now; None where ``/proc/stat`` is not readable."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    busy_ticks = sum(v for i, v in enumerate(fields) if i not in _IDLE_FIELDS)
    t = os.times()
    return CPUSample(time.monotonic(), busy_ticks / os.sysconf("SC_CLK_TCK"), t.user + t.system)


def others_busy(before: CPUSample, after: CPUSample) -> float:
    """Cores other processes kept busy between two samples (the machine's busy time minus ours)."""
    wall = after.wall - before.wall
    if wall <= 0:
        return 0.0
    return max(0.0, (after.busy - before.busy - (after.own - before.own)) / wall)


def threads_for(others: float, cores: int) -> int:
    """Threads to use when other processes keep ``others`` of ``cores`` cores busy: the idle cores,
    at least 1. More threads than idle cores make every parallel operation wait for a thread the
    scheduler has paused (a 2-thread run beside one busy process ran at a quarter of its speed)."""
    return max(1, min(cores, int(cores - others + 0.5)))
