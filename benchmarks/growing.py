"""Growing and large-scale families: ProGAN against DCGAN on MNIST at equal CPU time, and the CPU cost
of the BigGAN and SAGAN recipes (plus gradient accumulation).

``quality``: for each seed, ``progan-mnist`` trains as shipped in a fresh process; then ``dcgan-mnist`` (with the
DCGAN paper's Adam settings, batch 64 and no EMA, as it was measured: ``mode_collapse.PAPER_ADAM``)
trains (constant LR, no step limit) in a fresh process until it has used the same CPU time
(process CPU seconds over all threads, start-up included, so a loaded machine shifts both
equally). Each final generator (the EMA one when kept) draws 5,000 samples, scored with gankit's
``classifier_fid`` / ``classifier_score`` against the 10,000 real MNIST test digits (the classifier
is trained on them). The seed-0 grids go to ``docs/``.

``cost``: CPU seconds per training step (after one warm-up step; process CPU time over both
threads, and wall time) and peak resident memory (a fresh process each) of ``biggan-cifar10`` and
``sagan-cifar10`` at their preset sizes, and ``biggan-cifar10`` at batch 16 with
``train.accumulate=4`` against batch 64. The data are 512 random 32x32 RGB images in 10 classes:
the cost of a step does not depend on what the images show.

Each part writes its block in BENCHMARKS.md::

    flock /tmp/gankit-bench.lock python benchmarks/growing.py quality [--seeds 0 1 2] [--threads 2]
    flock /tmp/gankit-bench.lock python benchmarks/growing.py cost [--steps 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import PAPER_ADAM, write_block  # noqa: E402  (one block writer for every benchmark script)
from seeded_runs import mean_se  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT / ".." / "shared" / "data" / "mnist"
BLOCKS = {"quality": ("<!-- growing:begin -->", "<!-- growing:end -->"),
          "cost": ("<!-- large-cost:begin -->", "<!-- large-cost:end -->")}
N_SAMPLES = 5000


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _self(*args: str) -> list:
    return [sys.executable, str(Path(__file__).resolve()), *args]


# ---------------------------------------------------------------- child processes
def child_train(preset: str, seed: int, run_dir: str, threads: int, budget: Optional[float]) -> None:
    """Train ``preset``; with ``budget``, stop once this process has used that many CPU seconds."""
    import gankit
    from gankit.training.callbacks import Callback

    class CPUBudget(Callback):
        def on_step_end(self, trainer, step) -> None:
            if time.process_time() >= budget:
                trainer.request_stop(f"CPU budget of {budget:.0f} s")

    overrides = [f"train.seed={seed}", f"train.threads={threads}"]
    if preset == "dcgan-mnist":  # as measured: the paper's Adam, before the preset was tuned for short runs
        overrides += list(PAPER_ADAM)
    if budget is not None:
        overrides.append("train.steps=1000000")
    gankit.train(preset, overrides=overrides, run_dir=run_dir, quiet=True,
                 callbacks=[CPUBudget()] if budget is not None else ())


def child_cost(preset: str, steps: int, threads: int, extra: Sequence[str]) -> None:
    """Print ``{"cpu_s_per_step", "wall_s_per_step", "peak_mib"}`` of ``steps`` steps after a warm-up one."""
    import tempfile

    import numpy as np

    import gankit
    from gankit.training.callbacks import Callback

    marks = []

    class Clock(Callback):
        def on_step_end(self, trainer, step) -> None:
            marks.append((time.process_time(), time.perf_counter()))

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        data = Path(tmp) / "random.npz"
        np.savez(data, x=rng.integers(0, 256, (512, 3, 32, 32), dtype=np.uint8), y=np.arange(512) % 10)
        ov = ["data.source=npz", f"data.path={data}", f"train.steps={steps + 1}", f"train.threads={threads}",
              "train.sample_every=100000", "train.checkpoint_every=100000", "train.log_every=1", *extra]
        gankit.train(preset, overrides=ov, run_dir=Path(tmp) / "run", quiet=True, callbacks=[Clock()])
    (c0, w0), (c1, w1) = marks[0], marks[-1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"cpu_s_per_step": (c1 - c0) / steps, "wall_s_per_step": (w1 - w0) / steps, "peak_mib": peak}))


# ---------------------------------------------------------------- parts
def score(run_dir: Path) -> dict:
    from gankit.metrics import evaluate
    from gankit.training.checkpoint import load_run_generator

    G, _ = load_run_generator(run_dir)
    reference = {"source": "mnist-idx", "path": str(MNIST), "resolution": 32, "channels": 1, "args": {"split": "test"}}
    return evaluate(G, ["classifier_fid", "classifier_score"], data_cfg=reference, n_samples=N_SAMPLES, seed=0)


def grid(run_dir: Path, out: Path) -> None:
    subprocess.run([sys.executable, "-m", "gankit.cli", "sample", str(run_dir), "--n", "64", "--seed", "0",
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL)


def quality(args) -> str:
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"no MNIST test digits in {MNIST}")
    load_before, started = _load(), time.time()
    rows = {"progan-mnist": [], "dcgan-mnist": []}
    for seed in args.seeds:
        cpu = {}
        for preset in ("progan-mnist", "dcgan-mnist"):
            run = args.work / f"{preset}-{seed}"
            saved = args.work / f"{preset}-{seed}.json"
            if args.reuse and saved.is_file():  # a seed measured by an earlier invocation
                rows[preset].append(json.loads(saved.read_text()))
                cpu[preset] = rows[preset][-1]["cpu_s"]
                continue
            budget = None if preset == "progan-mnist" else cpu["progan-mnist"]
            c0, w0 = _child_cpu(), time.perf_counter()
            subprocess.run(_self("_train", preset, str(seed), str(run), str(args.threads),
                                 "" if budget is None else f"{budget:.1f}"), check=True)
            cpu[preset] = _child_cpu() - c0
            step = max(json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines())
            values = score(run)
            rows[preset].append({"seed": seed, "cpu_s": cpu[preset], "wall_s": time.perf_counter() - w0, "steps": step,
                                 "fid": values["classifier_fid"], "score": values["classifier_score"]})
            saved.write_text(json.dumps(rows[preset][-1]))
            print(preset, rows[preset][-1], flush=True)
            if seed == args.seeds[0] and not args.no_write:
                grid(run, ROOT / "docs" / f"{preset}.png")
    (args.work / "quality.json").write_text(json.dumps(rows, indent=2))
    begin, end = BLOCKS["quality"]
    lines = [begin, "## Progressive growing against DCGAN on MNIST, at equal CPU time", "",
             f"`flock /tmp/gankit-bench.lock python benchmarks/growing.py quality --seeds {' '.join(map(str, args.seeds))} "
             f"--threads {args.threads}` on {platform.machine()} (2-core CPU, no GPU), load average {load_before} at the "
             f"start (other sessions shared the CPU: wall times are not comparable, CPU times are), "
             f"{(time.time() - started) / 60:.0f} min in all.", "",
             "| preset | seeds | CPU s / run | steps | classifier FID vs MNIST test (lower is better) | classifier score (of 10) |",
             "|---|---|---|---|---|---|"]
    for preset, rs in rows.items():
        lines.append(f"| `{preset}` | {len(rs)} | {mean_se([r['cpu_s'] for r in rs], digits=0)} | "
                     f"{mean_se([r['steps'] for r in rs], digits=0)} | {mean_se([r['fid'] for r in rs], digits=2)} | "
                     f"{mean_se([r['score'] for r in rs], digits=2)} |")
    lines += ["", f"{N_SAMPLES:,} samples of the final generator (EMA for `progan-mnist`), seed 0, against the 10,000 real "
              "test digits; `dcgan-mnist` trains until it has used the CPU seconds its seed's `progan-mnist` run used "
              "(mean ± standard error over seeds). Per seed: "
              + "; ".join(f"{p} seed {r['seed']}: FID {r['fid']:.2f}, score {r['score']:.2f}, {r['steps']} steps, "
                          f"{r['cpu_s']:.0f} CPU s" for p, rs in rows.items() for r in rs) + ".", end]
    return "\n".join(lines)


COST_RUNS = [("biggan-cifar10", [], "preset (batch 50, 4 D steps, width 64)"),
             ("sagan-cifar10", [], "preset (batch 64, G 256 / D 128)"),
             ("biggan-cifar10", ["train.batch_size=64"], "batch 64"),
             ("biggan-cifar10", ["train.batch_size=16", "train.accumulate=4"], "batch 16, `train.accumulate=4` (effective 64)")]


def cost(args) -> str:
    load_before, started = _load(), time.time()
    results = []
    for preset, extra, what in COST_RUNS:
        out = subprocess.run(_self("_cost", preset, str(args.steps), str(args.threads), *extra), check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        results.append((preset, extra, what, json.loads(out)))
        print(preset, what, results[-1][-1], flush=True)
    begin, end = BLOCKS["cost"]
    lines = [begin, "## BigGAN and SAGAN on the CPU: cost per step, and gradient accumulation", "",
             f"`flock /tmp/gankit-bench.lock python benchmarks/growing.py cost --steps {args.steps} --threads {args.threads}` "
             f"on {platform.machine()} (2-core CPU, no GPU, {args.threads} torch threads), load average {load_before} at the "
             f"start, {(time.time() - started) / 60:.0f} min. Mean over {args.steps} steps after a warm-up step; a step is "
             "all D updates plus one G update; 32x32 random images.", "",
             "| preset | run | CPU s / step | wall s / step | peak memory (MiB, whole process) |", "|---|---|---|---|---|"]
    for preset, extra, what, r in results:
        lines.append(f"| `{preset}` | {what} | {r['cpu_s_per_step']:.1f} | {r['wall_s_per_step']:.1f} | {r['peak_mib']:.0f} |")
    acc = results[3][3]["cpu_s_per_step"] / results[2][3]["cpu_s_per_step"]
    lines += ["", f"Accumulating 4 micro-batches of 16 costs {acc:.2f}x the CPU time of one batch of 64 (the same "
              "gradients up to batch-norm statistics, which BigGAN's G computes per micro-batch; "
              "`tests/test_distributed.py::test_accumulated_micro_batches_equal_one_batch_of_their_total_size` checks the "
              "equality).", "",
              "GPU run (not measured here, no GPU in this session): "
              "`gankit train --preset biggan-cifar10 data.path=DIR/cifar-10-batches-py train.device=cuda train.amp=bf16` "
              "(and `--preset sagan-cifar10` likewise); with less GPU memory, keep the effective batch with "
              "`train.batch_size=25 train.accumulate=2`.", end]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_train":
        child_train(argv[1], int(argv[2]), argv[3], int(argv[4]), float(argv[5]) if len(argv) > 5 and argv[5] else None)
        return 0
    if argv and argv[0] == "_cost":
        child_cost(argv[1], int(argv[2]), int(argv[3]), argv[4:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=sorted(BLOCKS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=2, help="cost: timed steps after the warm-up one")
    p.add_argument("--work", type=Path, default=Path("/tmp/gankit-growing"))
    p.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true", help="print the block instead of updating --output")
    p.add_argument("--reuse", action="store_true", help="quality: reuse seeds already measured in --work")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    block = quality(args) if args.part == "quality" else cost(args)
    if args.no_write:
        print(block)
    else:
        write_block(args.output, block, *BLOCKS[args.part])
    return 0


if __name__ == "__main__":
    sys.exit(main())
