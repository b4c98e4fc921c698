"""Data-parallel scaling on one CPU machine: 1 process x T threads against P processes x T/P threads.

Each round trains the default recipe (dcgan-mnist) for ``--steps`` steps in fresh processes, once as
``python -m gankit train`` and once as ``torchrun --nproc_per_node=P -m gankit train`` (gloo), with the
same global batch; rounds alternate so that a change in the machine's load hits both. images/s is
the mean of the run's ``perf/images_per_s`` rows after the first (start-up and the first steps
excluded); the script also reports whole-process wall time. Scaling efficiency =
(P-process images/s) / (1-process images/s) for the same total threads: on one CPU the processes
share the cores, so 1.0 means distribution costs nothing, and below 1.0 is what the gradient
all-reduce and the smaller per-process batches cost.

    python benchmarks/scaling.py --steps 150 --rounds 3 --procs 2 --threads 2 --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BEGIN, END = "<!-- scaling:begin -->", "<!-- scaling:end -->"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(run_dir: Path, procs: int, threads: int, steps: int, preset: str) -> tuple[float, float]:
    per_proc = max(1, threads // procs)
    args = ["train", "--preset", preset, "--out", str(run_dir), "--quiet", f"train.steps={steps}",
            f"train.threads={per_proc}", "train.log_every=25", f"train.checkpoint_every={steps}",
            f"train.sample_every={steps}"]
    if procs == 1:
        cmd = [sys.executable, "-m", "gankit", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={procs}", "--master_addr=127.0.0.1",
               f"--master_port={free_port()}", "-m", "gankit", *args]
    env = {**os.environ, "OMP_NUM_THREADS": str(per_proc)}
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - started
    rows = [json.loads(ln) for ln in (run_dir / "stats.jsonl").read_text().splitlines()]
    rates = [r["perf/images_per_s"] for r in rows[1:]]
    return statistics.mean(rates), wall


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="total threads (split over the processes)")
    ap.add_argument("--preset", default="dcgan-mnist")
    ap.add_argument("--write", type=Path, default=None, help="replace the scaling block of this markdown file")
    a = ap.parse_args()
    load_before = load()
    results = {1: [], a.procs: []}
    tmp = Path(tempfile.mkdtemp(prefix="gankit-scaling-"))
    try:
        for r in range(a.rounds):
            for procs in ((1, a.procs) if r % 2 == 0 else (a.procs, 1)):
                rate, wall = one_run(tmp / f"r{r}-p{procs}", procs, a.threads, a.steps, a.preset)
                results[procs].append((rate, wall))
                print(f"round {r}: {procs} process(es): {rate:.1f} images/s, {wall:.1f} s whole process "
                      f"(load {load()})", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = load()
    med = {p: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for p, v in results.items()}
    ratios = [b[0] / a_[0] for a_, b in zip(results[1], results[a.procs])]
    cmd = (f"python benchmarks/scaling.py --steps {a.steps} --rounds {a.rounds} --procs {a.procs} "
           f"--threads {a.threads}")
    lines = [BEGIN,
             f"Measured {time.strftime('%Y-%m-%d')} on this project's development machine (2-core AMD EPYC, no GPU), "
             f"load average {load_before} before and {load_after} after (1 / 5 / 15 min): other jobs were running.",
             "",
             "| setup | images/s (median) | whole process, s (median) | per-round ratio to 1 process | command |",
             "|---|---|---|---|---|",
             f"| 1 process x {a.threads} threads | {med[1][0]:.1f} | {med[1][1]:.1f} | 1.00 | `{cmd}` |",
             f"| {a.procs} processes x {max(1, a.threads // a.procs)} thread (torchrun, gloo) | {med[a.procs][0]:.1f} | "
             f"{med[a.procs][1]:.1f} | {', '.join(f'{x:.2f}' for x in ratios)} | same run |",
             "",
             f"Scaling efficiency (median of the per-round ratios): **{statistics.median(ratios):.2f}**.",
             END]
    block = "\n".join(lines)
    print(block)
    if a.write:
        text = a.write.read_text()
        if BEGIN in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        a.write.write_text(text)


if __name__ == "__main__":
    main()
