"""A training run beside a busy process: how much slower at 1, 2 and automatic threads.

Each measurement is a fresh ``gankit train`` process (the default recipe, ``train.steps`` steps,
no sampling or checkpoints in the timed part) that reports its steady-state images/s (steps after
the first 10). It runs once on the otherwise idle machine and once beside one busy single-threaded
process (``python -c "while True: pass"``, the shape of a pip install or a data-preparation
script), alternating, for each thread setting. A variant is a ``train.threads`` value, optionally
with environment variables for the OpenMP runtime: ``2``, ``0`` (gankit's automatic choice),
``2:OMP_WAIT_POLICY=PASSIVE``.

    python benchmarks/busy_machine.py [--rounds 2] [--steps 150] [--variants 1 2 0]

Writes the BENCHMARKS.md block: images/s idle and busy, and busy / idle.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BLOCK = ("<!-- busy-machine:begin -->", "<!-- busy-machine:end -->")
WARMUP = 10
BUSY = [sys.executable, "-c", "while True: pass"]


def child(threads: int, steps: int) -> None:
    import gankit
    from gankit.training.callbacks import Callback

    marks = []

    class Clock(Callback):
        def on_step_end(self, trainer, step) -> None:
            marks.append((time.perf_counter(), trainer.batches.served))

    with tempfile.TemporaryDirectory() as tmp:
        gankit.train(overrides=[f"train.threads={threads}", f"train.steps={steps}", "train.sample_every=100000",
                                "train.checkpoint_every=100000", "train.log_every=1000"],
                     run_dir=Path(tmp) / "run", quiet=True, callbacks=[Clock()])
    import torch

    (t0, n0), (t1, n1) = marks[WARMUP - 1], marks[-1]
    print(json.dumps({"img_s": (n1 - n0) / (t1 - t0), "threads_at_end": torch.get_num_threads()}))  # served counts images


def measure(variant: str, steps: int, busy: bool) -> dict:
    threads, _, env_text = variant.partition(":")
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in env_text.split(",") if kv))
    hog = subprocess.Popen(BUSY) if busy else None
    try:
        if hog is not None:
            time.sleep(1.0)  # let the scheduler see it
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_child", threads, str(steps)], env=env,
                             check=True, capture_output=True, text=True).stdout
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(int(sys.argv[2]), int(sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--variants", nargs="+", default=["1", "2", "0"])
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    load_before, t0 = ", ".join(f"{x:.2f}" for x in os.getloadavg()), time.time()
    rates = defaultdict(list)
    for r in range(args.rounds):
        for v in args.variants:
            for busy in (False, True):
                res = measure(v, args.steps, busy)
                rates[(v, busy)].append(res["img_s"])
                print(f"round {r + 1} threads {v} {'busy' if busy else 'idle'}: {res}", flush=True)
    lines = [BLOCK[0], "## A busy machine: training beside one busy process", "",
             f"`python benchmarks/busy_machine.py --rounds {args.rounds} --steps {args.steps} --variants "
             f"{' '.join(args.variants)}` on {platform.machine()} ({os.cpu_count()}-core AMD EPYC, no GPU), load average "
             f"{load_before} at the start, {(time.time() - t0) / 60:.0f} min. `gankit train` (the default recipe) in a fresh "
             f"process per measurement, images/s over steps {WARMUP + 1}-{args.steps} (median of {args.rounds} rounds); busy = "
             "beside one single-threaded `python -c \"while True: pass\"`.", "",
             "| train.threads (and OpenMP environment) | idle images/s | busy images/s | busy / idle |", "|---|---|---|---|"]
    for v in args.variants:
        idle, busy = statistics.median(rates[(v, False)]), statistics.median(rates[(v, True)])
        name = v.replace(":", " with ").replace("0 with", "0 (auto) with") if v.startswith("0") else v.replace(":", " with ")
        lines.append(f"| `{name if name != '0' else '0 (auto)'}` | {idle:.0f} | {busy:.0f} | {busy / idle:.2f} |")
    lines.append(BLOCK[1])
    block = "\n".join(lines)
    print(block)
    if not args.no_write:
        write_block(ROOT / "BENCHMARKS.md", block, *BLOCK)


if __name__ == "__main__":
    main()
