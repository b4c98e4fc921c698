"""Same networks, same work: gankit's trainer against PyTorch-GAN's DCGAN loop on PyTorch-GAN's nets.

Both train :mod:`pytorch_gan_nets`'s generator and discriminator (the same initial weights) with the
same recipe (Adam 2e-4, betas (0.5, 0.999), batch 64, non-saturating BCE, one D step per G step) on
the 10,000 real MNIST test digits at 32x32 (``../shared/data/mnist``). The textbook loop is the
script's (per-sample PIL transforms, DataLoader, Sigmoid + ``BCELoss``); gankit trains the nets
through ``gankit.train(generator=G, discriminator=D)``, as a user would.

``compare``: every variant runs as a whole fresh process, the variants alternating round by round,
so that drifts in machine load hit all alike. A variant is ``textbook`` or ``gankit`` with config
overrides (``gankit:train.keep_memory=false``). Each process reports its steady-state images/s
(steps after the warm-up ones), the seconds from process start to the end of its first step, and
its page faults, kernel CPU time and peak memory per step. Writes the BENCHMARKS.md block.

``profile``: in one process, a ``torch.profiler`` table of each loop's steps, the FLOPs of one
step (``torch.utils.flop_counter``), the achieved FLOP/s against this CPU's measured matmul peak,
and a summary of the oneDNN kernels that ran (``ONEDNN_VERBOSE=1``, in a child process).

    python benchmarks/same_network.py compare [--rounds 3] [--steps 60] [--threads 2]
    python benchmarks/same_network.py profile [--steps 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402
from pytorch_gan_nets import GANKIT_RECIPE, TextbookLoop, networks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT / ".." / "shared" / "data" / "mnist"
BLOCK = ("<!-- same-network:begin -->", "<!-- same-network:end -->")
WARMUP = 5
BATCH = 64
DEFAULT_VARIANTS = ["textbook", "gankit", "gankit:train.keep_memory=false", "gankit:train.channels_last=false"]


def _data_overrides() -> list:
    return ["data.source=mnist-idx", f"data.path={MNIST}", "data.args.split=test", "data.resolution=32"]


def _digits():
    from gankit.data.sources.mnist_idx import read_idx

    return read_idx(MNIST / "t10k-images-idx3-ubyte.gz")


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ---------------------------------------------------------------- one whole process per measurement
class _Meter:
    """Marks (wall time, page faults, kernel CPU s) at the end of each step."""

    def __init__(self):
        self.marks = []

    def mark(self) -> None:
        r = resource.getrusage(resource.RUSAGE_SELF)
        self.marks.append((time.perf_counter(), time.time(), r.ru_minflt + r.ru_majflt, r.ru_stime))

    def result(self, started: float) -> dict:
        (w0, _, f0, s0), (w1, _, f1, s1) = self.marks[WARMUP - 1], self.marks[-1]
        n = len(self.marks) - WARMUP
        return {"img_s": n * BATCH / (w1 - w0), "first_step_s": self.marks[0][1] - started,
                "faults_per_step": (f1 - f0) / n, "sys_s_per_step": (s1 - s0) / n,
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child(variant: str, steps: int, threads: int, started: float) -> None:
    import torch

    meter = _Meter()
    G, D = networks(0)
    if variant == "textbook":
        torch.set_num_threads(threads)
        loop = TextbookLoop(G, D, _digits(), torch.device("cpu"))
        for _ in range(steps):
            loop.run(1)
            meter.mark()
    else:
        import gankit
        from gankit.training.callbacks import Callback

        class Marks(Callback):
            def on_step_end(self, trainer, step) -> None:
                meter.mark()

        extra = variant.split(":", 1)[1].split(",") if ":" in variant else []
        ov = [*GANKIT_RECIPE, *_data_overrides(), f"train.steps={steps}", f"train.threads={threads}",
              "train.log_every=1000", "train.sample_every=100000", "train.checkpoint_every=100000", *extra]
        with tempfile.TemporaryDirectory() as tmp:
            gankit.train(overrides=ov, generator=G, discriminator=D, run_dir=Path(tmp) / "run", quiet=True,
                         callbacks=[Marks()])
    print(json.dumps(meter.result(started)))


def _run_child(variant: str, steps: int, threads: int) -> dict:
    started = time.time()
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_child", variant, str(steps), str(threads),
                          repr(started)], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["process_s"] = time.time() - started
    return r


def compare(args) -> str:
    load_before, t0 = _load(), time.time()
    results = defaultdict(list)
    for r in range(args.rounds):
        for v in args.variants:
            results[v].append(_run_child(v, args.steps, args.threads))
            print(f"round {r + 1} {v}: {json.dumps(results[v][-1])}", flush=True)
    med = {v: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for v, rs in results.items()}
    base = med["textbook"]["img_s"]
    lines = [BLOCK[0], "## Same networks, same work: PyTorch-GAN's DCGAN nets in gankit and in the script's loop", "",
             f"`python benchmarks/same_network.py compare --rounds {args.rounds} --steps {args.steps} --threads "
             f"{args.threads}` on {platform.machine()} (2-core AMD EPYC, no GPU, {args.threads} torch threads), load "
             f"average {load_before} at the start, {(time.time() - t0) / 60:.0f} min. Every row is a whole fresh process "
             f"({args.steps} steps of batch 64 on the 10,000 MNIST test digits at 32x32), the variants alternating "
             f"round by round; medians over {args.rounds} rounds. images/s is measured over the steps after the first "
             f"{WARMUP}; first step = seconds from process start to the end of step 1.", "",
             "| variant | images/s | vs textbook | first step (s) | page faults / step | kernel CPU s / step | "
             "peak MiB |", "|---|---|---|---|---|---|---|"]
    for v, m in med.items():
        lines.append(f"| `{v}` | {m['img_s']:.1f} | {m['img_s'] / base:.2f}x | {m['first_step_s']:.1f} | "
                     f"{m['faults_per_step']:.0f} | {m['sys_s_per_step']:.3f} | {m['peak_mib']:.0f} |")
    per_round = {v: [round(x["img_s"], 1) for x in rs] for v, rs in results.items()}
    lines += ["", "images/s per round: " + "; ".join(f"`{v}` {xs}" for v, xs in per_round.items()) + ".", BLOCK[1]]
    return "\n".join(lines)


# ---------------------------------------------------------------- profile
def _matmul_flops(threads: int) -> float:
    """FLOP/s of a large fp32 matmul (the best of several) at ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    a @ b
    best = float("inf")
    for _ in range(6):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * 4096 ** 3 / best


def _clock_ghz() -> float:
    """The CPU clock /proc/cpuinfo reports (the nominal one in a VM), in GHz; 0 when unknown."""
    try:
        mhz = [float(line.split(":")[1]) for line in open("/proc/cpuinfo") if line.startswith("cpu MHz")]
    except OSError:
        return 0.0
    return max(mhz) / 1000 if mhz else 0.0


def _flops_per_step(loop_step) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        loop_step()
    return counter.get_total_flops()


def _gankit_trainer(threads: int, tmp: str):
    from gankit.config import load_config
    from gankit.runner import _process_settings
    from gankit.training.loop import Trainer

    G, D = networks(0)
    cfg = load_config("dcgan-mnist", overrides=[*GANKIT_RECIPE, *_data_overrides(), "train.steps=100000",
                                                f"train.threads={threads}", "train.log_every=1000"])
    _process_settings(cfg)
    trainer = Trainer(cfg, tmp, modules={"G": G, "D": D}, quiet=True)
    trainer.write_run_files([])
    return trainer


def onednn_summary(steps: int, threads: int) -> str:
    """Run the gankit loop with ``ONEDNN_VERBOSE=1`` in a child; total ms by primitive and kernel."""
    env = dict(os.environ, ONEDNN_VERBOSE="1")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_verbose", str(steps), str(threads)],
                         env=env, check=True, capture_output=True, text=True).stdout
    ms = defaultdict(float)
    for line in out.splitlines():
        parts = line.split(",")
        if len(parts) > 6 and parts[0] == "onednn_verbose" and "exec" in parts:
            i = parts.index("exec")
            kind, impl = parts[i + 2], parts[i + 3]
            try:
                ms[(kind, impl)] += float(parts[-1])
            except ValueError:
                continue
    total = sum(ms.values()) or 1.0
    rows = sorted(ms.items(), key=lambda kv: -kv[1])[:8]
    return "; ".join(f"{k} `{impl}` {t / steps:.0f} ms/step ({t / total:.0%})" for (k, impl), t in rows)


def profile(args) -> str:
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    load_before = _load()
    matmul = _matmul_flops(args.threads)
    ghz = _clock_ghz()
    peak = args.threads * ghz * 1e9 * args.flop_per_cycle  # one thread per core
    G, D = networks(0)
    textbook = TextbookLoop(copy.deepcopy(G), copy.deepcopy(D), _digits(), torch.device("cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = _gankit_trainer(args.threads, tmp)
        loops = {"textbook": lambda n: textbook.run(n), "gankit": lambda n: trainer.fit(stop_after=n)}
        report = []
        for name, run in loops.items():
            run(3)
            flops = _flops_per_step(lambda run=run: run(1))
            t = time.perf_counter()
            run(args.steps)
            per_step = (time.perf_counter() - t) / args.steps
            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                run(args.steps)
            table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)
            print(f"== {name}: {per_step:.3f} s/step, {flops / 1e9:.1f} GFLOP/step\n{table}", flush=True)
            report.append((name, per_step, flops, _top_ops(prof, 6)))
    verbose = onednn_summary(2, args.threads)
    lines = [BLOCK[0].replace("same-network", "same-network-profile"),
             "### Where a step's time goes (PyTorch-GAN's nets)", "",
             f"`python benchmarks/same_network.py profile --steps {args.steps} --threads {args.threads}` on "
             f"{platform.machine()} (2-core AMD EPYC, {args.threads} torch threads), load average {load_before}. "
             f"FLOPs counted by `torch.utils.flop_counter` over one step (convolutions and matmuls, forward and "
             f"backward). Peak = {args.threads} cores x {ghz:.2f} GHz x {args.flop_per_cycle} fp32 FLOP/cycle (AMD Zen 5: two "
             f"512-bit FMA pipes) = {peak / 1e9:.0f} GFLOP/s; a 4096x4096 fp32 matmul reaches {matmul / 1e9:.0f} GFLOP/s "
             f"({matmul / peak:.0%}) on the same threads.", "",
             "| loop | s / step | GFLOP / step | achieved GFLOP/s | of peak | of the matmul's | top ops by self CPU time |",
             "|---|---|---|---|---|---|---|"]
    for name, per_step, flops, top in report:
        achieved = flops / per_step
        lines.append(f"| {name} | {per_step:.3f} | {flops / 1e9:.1f} | {achieved / 1e9:.0f} | {achieved / peak:.0%} | "
                     f"{achieved / matmul:.0%} | {top} |")
    lines += ["", f"oneDNN kernels of the gankit loop (`ONEDNN_VERBOSE=1`, 2 steps): {verbose}.",
              BLOCK[1].replace("same-network", "same-network-profile")]
    return "\n".join(lines)


def _top_ops(prof, n: int) -> str:
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events) or 1
    return ", ".join(f"{e.key.replace('aten::', '')} {e.self_cpu_time_total / total:.0%}" for e in events[:n])


def verbose_child(steps: int, threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trainer = _gankit_trainer(threads, tmp)
        trainer.fit(stop_after=2)  # first steps create the primitives
        print("onednn_verbose,marker,timed", flush=True)
        trainer.fit(stop_after=steps)


def _write(block: str, no_write: bool) -> None:
    print(block)
    if not no_write:
        begin, end = block.splitlines()[0], block.splitlines()[-1]
        write_block(ROOT / "BENCHMARKS.md", block, begin, end)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_verbose":
        verbose_child(int(sys.argv[2]), int(sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="part", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--rounds", type=int, default=3)
    c.add_argument("--steps", type=int, default=60)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    c.add_argument("--no-write", action="store_true")
    f = sub.add_parser("profile")
    f.add_argument("--steps", type=int, default=10)
    f.add_argument("--threads", type=int, default=2)
    f.add_argument("--flop-per-cycle", type=int, default=64, help="fp32 FLOP per cycle per core (Zen 5 AVX-512: 64)")
    f.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"no MNIST test digits in {MNIST}")
    if args.part == "compare" and "textbook" not in args.variants:
        raise SystemExit("--variants must include textbook (the ratios are against it)")
    _write(compare(args) if args.part == "compare" else profile(args), args.no_write)


if __name__ == "__main__":
    main()
