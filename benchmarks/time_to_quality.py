"""Time to quality: classifier FID against wall-clock training seconds, gankit against the textbook loop.

Three curves, each trained once per seed in its own fresh process (``--threads`` torch threads, the
device gankit's ``train.device=auto`` picks), the curves alternating seed by seed so that drifts in
machine load hit all alike:

* ``gankit-default``: ``gankit train`` as shipped (the default preset, whatever it currently is, on
  its own data) with only ``train.seed``, ``train.threads`` and ``train.steps=1000000`` set, so that
  it does not stop before the largest budget. Raising ``train.steps`` would stretch a decaying
  learning rate, so the script refuses to run if the default preset decays it.
* ``textbook``: PyTorch-GAN's DCGAN script (:class:`pytorch_gan_nets.TextbookLoop`: its nets and
  recipe, per-sample PIL transforms) on the 10,000 real MNIST test digits at 32x32.
* ``gankit-ptg``: the same nets, recipe and digits through ``gankit.train(generator=G,
  discriminator=D)`` (``GANKIT_RECIPE`` + the ``mnist-idx`` data overrides of same_network.py): the
  trainer's speed apart from the recipe.

The training clock starts just before the first step (for gankit: at ``on_fit_start``, after the
run's setup, which is reported apart as "setup") and counts every step with what the loop does
around it: for both gankit curves that includes gankit's default sample grids and checkpoints, as
a user gets them; the textbook loop does neither. When the clock passes a budget (``--budgets``,
seconds), the generator is saved at the end of that step (gankit: a whole checkpoint through
``trainer.save_checkpoint``; textbook: ``G.state_dict()``) with the clock paused, so saving costs no
training time. After the process has passed its largest budget it exits, and the parent scores
each snapshot: ``--samples`` samples (seed 0) with ``classifier_fid`` and ``classifier_score``
against the 10,000 real MNIST test digits, as growing.py does. ``gankit.metrics.evaluate`` puts
every generator in eval mode while it samples (BatchNorm running statistics) -- for all three
curves alike, as gankit's own loading does; gankit's snapshots are loaded as ``gankit sample`` would
(the EMA generator when the preset keeps one).

Results go to ``<work>/results.json`` (``--reuse`` keeps the (curve, seed) runs already there with
the same budgets, samples and threads, so an interrupted run continues); the plot to
``docs/time_to_quality.png`` and the table to BENCHMARKS.md between ``<!-- time-to-quality:begin -->``
and ``<!-- time-to-quality:end -->`` (``--no-write``: print the block, plot into the work folder)::

    flock /tmp/gankit-bench.lock python benchmarks/time_to_quality.py [--seeds 0 1 2] \\
        [--budgets 15 30 60 120 180] [--samples 5000] [--threads 2] [--curves ...] [--reuse] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import load_results, save_results, write_block  # noqa: E402
from pytorch_gan_nets import GANKIT_RECIPE, PTGGenerator, TextbookLoop, networks  # noqa: E402
from same_network import MNIST, _data_overrides, _digits, _load  # noqa: E402
from seeded_runs import mean_se  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BLOCK = ("<!-- time-to-quality:begin -->", "<!-- time-to-quality:end -->")
PNG = "time_to_quality.png"
CURVES = {"gankit-default": "gankit default", "textbook": "textbook (PyTorch-GAN nets)",
          "gankit-ptg": "gankit on PyTorch-GAN nets"}
REFERENCE = {"source": "mnist-idx", "path": str(MNIST), "resolution": 32, "channels": 1, "args": {"split": "test"}}


def _default_preset() -> str:
    """Name of the default preset; exits when raising its ``train.steps`` would change its LR schedule."""
    from gankit.config import load_config

    cfg = load_config()
    decaying = [f"optim.{k}.lr_decay={o.lr_decay}" for k, o in cfg.optim.items() if o.lr_decay != "none"]
    if decaying:
        raise SystemExit(f"the default preset {cfg.name} decays its learning rate ({', '.join(decaying)}): raising "
                         "train.steps to outlast the budgets would change that schedule; this benchmark needs a "
                         "constant learning rate")
    return cfg.name


def _label(curve: str, preset: str) -> str:
    return f"{CURVES[curve]} ({preset})" if curve == "gankit-default" else CURVES[curve]


def _machine() -> str:
    model = platform.processor()
    if Path("/proc/cpuinfo").is_file():
        names = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")]
        model = names[0] if names else model
    return f"{model or 'CPU'}, {platform.system()} {platform.machine()}, {os.cpu_count()} cores"


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)


# ---------------------------------------------------------------- the training process
class BudgetClock:
    """Training seconds since :meth:`start`, less the time spent saving snapshots.

    Args:
        budgets: training seconds at which to save the generator.
        snapshot: path of the snapshot of a budget.
        label: for the progress lines.
        started: ``time.time()`` when the process was launched (for the setup time).
    """

    def __init__(self, budgets: Sequence[float], snapshot: Callable[[float], Path], label: str, started: float):
        self.pending, self.snapshot, self.label, self.started = sorted(budgets), snapshot, label, started
        self.reached: List[dict] = []
        self.t0 = self.paused = self.setup_s = 0.0

    def start(self) -> None:
        self.setup_s = time.time() - self.started
        self.t0, self.paused = time.perf_counter(), 0.0

    def tick(self, step: int, save: Callable[[Path], object]) -> bool:
        """At the end of step ``step``: save for every budget just passed; True once all are."""
        elapsed = time.perf_counter() - self.t0 - self.paused
        while self.pending and elapsed >= self.pending[0]:
            budget = self.pending.pop(0)
            saving = time.perf_counter()
            save(self.snapshot(budget))
            cost = time.perf_counter() - saving
            self.paused += cost  # the clock stands still while saving
            self.reached.append({"budget": budget, "train_s": elapsed, "steps": step, "save_s": cost})
            print(f"{self.label}: {budget:g} s reached at step {step} ({elapsed:.2f} s training, saved in "
                  f"{cost:.2f} s)", flush=True)
        return not self.pending


def child(curve: str, seed: int, threads: int, work: Path, started: float, budgets: Sequence[float]) -> None:
    """Train ``curve`` until the largest budget; write ``<work>/train-<curve>-<seed>.json``."""
    from gankit.training.environment import resolve_device

    device = resolve_device("auto")  # where gankit's default run trains: the textbook loop too
    snapshots = work / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    clock = BudgetClock(budgets, lambda b: snapshots / f"{curve}-{seed}-{b:g}s.pt", f"{curve} seed {seed}", started)
    if curve == "textbook":
        torch.set_num_threads(threads)
        G, D = networks(seed)
        loop = TextbookLoop(G, D, _digits(), device, seed=seed)
        clock.start()
        step, done = 0, False
        while not done:
            loop.run(1)  # synchronises a GPU before returning
            step += 1
            done = clock.tick(step, lambda path: torch.save(G.state_dict(), path))
    else:
        import gankit
        from gankit.training.callbacks import Callback

        class Budgets(Callback):
            def on_fit_start(self, trainer) -> None:
                clock.start()

            def on_step_end(self, trainer, step) -> None:
                if trainer.device.type == "cuda":  # the step's kernels must have run before the clock is read
                    torch.cuda.synchronize(trainer.device)
                if clock.tick(step, trainer.save_checkpoint):
                    trainer.request_stop("largest budget reached")

        ov = [f"train.seed={seed}", f"train.threads={threads}", "train.steps=1000000"]
        nets = {}
        if curve == "gankit-ptg":
            G, D = networks(seed)
            ov, nets = [*GANKIT_RECIPE, *_data_overrides(), *ov], {"generator": G, "discriminator": D}
        run_dir = work / "runs" / f"{curve}-{seed}"
        shutil.rmtree(run_dir, ignore_errors=True)  # a run left by an interrupted invocation
        gankit.train(overrides=ov, run_dir=run_dir, quiet=True, callbacks=[Budgets()], **nets)
    out = {"curve": curve, "seed": seed, "device": _device_name(device), "setup_s": clock.setup_s,
           "points": clock.reached}
    (work / f"train-{curve}-{seed}.json").write_text(json.dumps(out, indent=1))


# ---------------------------------------------------------------- scoring, in the parent
def generator_of(curve: str, path: Path) -> torch.nn.Module:
    """The snapshot's generator on the CPU (``evaluate`` puts it in eval mode to sample)."""
    from gankit.training.checkpoint import generator_weights, load_checkpoint, load_run_generator

    if curve == "gankit-default":
        return load_run_generator(path)[0]
    G = PTGGenerator()
    if curve == "textbook":
        G.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:
        G.load_state_dict(generator_weights(load_checkpoint(path), True, path)[1])
    return G


def score(G: torch.nn.Module, n_samples: int) -> dict:
    from gankit.metrics import evaluate

    return evaluate(G, ["classifier_fid", "classifier_score"], data_cfg=REFERENCE, n_samples=n_samples, seed=0)


def measure(curve: str, seed: int, args) -> dict:
    """Train one (curve, seed) in a fresh process, then score its snapshots."""
    started = time.time()
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "_child", curve, str(seed), str(args.threads),
                    str(args.work), repr(started), *map(str, args.budgets)], check=True)
    run = json.loads((args.work / f"train-{curve}-{seed}.json").read_text())
    for p in run["points"]:
        values = score(generator_of(curve, args.work / "snapshots" / f"{curve}-{seed}-{p['budget']:g}s.pt"),
                       args.samples)
        p.update(fid=values["classifier_fid"], score=values["classifier_score"],
                 floor=values["classifier_fid_real_floor"])
        print(f"{curve} seed {seed} at {p['budget']:g} s: classifier FID {p['fid']:.2f}, score {p['score']:.2f}",
              flush=True)
    run.update(budgets=list(args.budgets), samples=args.samples, threads=args.threads, wall_s=time.time() - started)
    return run


# ---------------------------------------------------------------- report
def _series(runs: List[dict], key: str) -> List[List[float]]:
    """``[budget][seed]`` values of ``key``."""
    return [[r["points"][i][key] for r in runs] for i in range(len(runs[0]["points"]))]


def _floor(by_curve: dict) -> float:
    """Classifier FID between two halves of the real test digits (the same for every snapshot)."""
    return statistics.mean(p["floor"] for runs in by_curve.values() for r in runs for p in r["points"])


def plot(by_curve: dict, budgets: Sequence[float], preset: str, title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for curve, runs in by_curve.items():
        fids = _series(runs, "fid")
        line, = ax.plot(budgets, [statistics.mean(f) for f in fids], marker="o", linewidth=2,
                        label=_label(curve, preset))
        ax.fill_between(budgets, [min(f) for f in fids], [max(f) for f in fids], color=line.get_color(), alpha=0.2,
                        linewidth=0)
    floor = _floor(by_curve)
    ax.axhline(floor, color="grey", linestyle=":", label="real vs real (two halves of the test digits)")
    n_seeds = max(len(runs) for runs in by_curve.values())
    ax.set_yscale("log")
    ax.set_xlabel("training seconds (wall clock, setup excluded)")
    ax.set_ylabel("classifier FID vs 10,000 MNIST test digits (lower is better)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title=f"line: mean of {n_seeds} seed{'s' * (n_seeds > 1)}; band: min to max over seeds", fontsize=9,
              title_fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def render(by_curve: dict, args, preset: str, machine: str, load_before: str) -> str:
    budgets = args.budgets
    first = next(iter(by_curve.values()))[0]
    minutes = sum(r["wall_s"] for runs in by_curve.values() for r in runs) / 60
    command = (f"flock /tmp/gankit-bench.lock python benchmarks/time_to_quality.py "
               f"--seeds {' '.join(map(str, args.seeds))} --budgets {' '.join(f'{b:g}' for b in budgets)} "
               f"--samples {args.samples} --threads {args.threads}"
               + (f" --curves {' '.join(args.curves)}" if list(args.curves) != list(CURVES) else ""))
    floor = _floor(by_curve)
    lines = [BLOCK[0], "## Time to quality: classifier FID against training seconds", "",
             f"`{command}` on {machine} ({first['device']}, {args.threads} torch threads), load average {load_before} "
             f"at the start, {minutes:.0f} min of training and scoring in all.", "",
             f"Each (curve, seed) trains in a fresh process until its largest budget; at each budget of wall-clock "
             f"training seconds (the clock starts at the first step and stands still while a snapshot is saved) "
             f"the generator is saved, then scored: {args.samples:,} samples in eval mode, classifier FID against "
             f"the 10,000 real MNIST test digits (real-vs-real floor {floor:.2f}). "
             f"`gankit default` is `gankit train` as shipped (`{preset}`, its own data) with `train.steps` raised "
             f"out of the way; the textbook loop and `gankit on PyTorch-GAN nets` train PyTorch-GAN's DCGAN nets "
             f"with its recipe on the 10,000 test digits (benchmarks/pytorch_gan_nets.py); both gankit curves "
             f"include gankit's default sample grids and checkpoints. Cells: FID mean ± standard error over seeds "
             f"(mean steps reached); setup = process start to first step, not counted.", "",
             "| curve | setup (s) | " + " | ".join(f"{b:g} s" for b in budgets) + " |",
             "|---|---|" + "---|" * len(budgets)]
    for curve, runs in by_curve.items():
        fids, steps = _series(runs, "fid"), _series(runs, "steps")
        cells = [f"{mean_se(f, digits=2)} ({statistics.mean(s):.0f} steps)" for f, s in zip(fids, steps)]
        lines.append(f"| {_label(curve, preset)} | {statistics.mean(r['setup_s'] for r in runs):.1f} | "
                     + " | ".join(cells) + " |")
    lines += ["", f"![time to quality](docs/{PNG})", BLOCK[1]]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_child":
        c = argparse.ArgumentParser(prog="time_to_quality.py _child")
        c.add_argument("curve", choices=list(CURVES))
        c.add_argument("seed", type=int)
        c.add_argument("threads", type=int)
        c.add_argument("work", type=Path)
        c.add_argument("started", type=float, help="time.time() when the parent launched this process")
        c.add_argument("budgets", type=float, nargs="+")
        a = c.parse_args(argv[1:])
        child(a.curve, a.seed, a.threads, a.work, a.started, a.budgets)
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--budgets", type=float, nargs="+", default=[15, 30, 60, 120, 180],
                   help="wall-clock training seconds at which each run's generator is scored")
    p.add_argument("--samples", type=int, default=5000, help="generated samples per classifier FID")
    p.add_argument("--threads", type=int, default=2, help="torch threads of every training process and the scoring")
    p.add_argument("--curves", nargs="+", choices=list(CURVES), default=list(CURVES))
    p.add_argument("--work", type=Path, default=Path("/tmp/gankit-ttq"), help="runs, snapshots, results.json")
    p.add_argument("--reuse", action="store_true", help="keep the runs already in <work>/results.json")
    p.add_argument("--no-write", action="store_true",
                   help="print the block and plot into --work instead of updating BENCHMARKS.md and docs/")
    args = p.parse_args(argv)
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"no MNIST test digits: {MNIST / 't10k-images-idx3-ubyte.gz'} is missing "
                         "(../shared/data/mnist beside the repository)")
    args.budgets = sorted(args.budgets)
    preset, machine, load_before = _default_preset(), _machine(), _load()
    torch.set_num_threads(args.threads)  # the scoring, in this process
    args.work.mkdir(parents=True, exist_ok=True)
    results_file = args.work / "results.json"
    results = load_results(results_file) if args.reuse else {}
    for seed in args.seeds:
        for curve in args.curves:
            key = f"{curve}/{seed}"
            old = results.get(key)
            if old and (old["budgets"], old["samples"], old["threads"]) == (args.budgets, args.samples, args.threads):
                print(f"{curve} seed {seed}: reusing {results_file}", flush=True)
                continue
            results[key] = measure(curve, seed, args)
            save_results(results_file, results)
    by_curve = {c: [results[f"{c}/{s}"] for s in args.seeds] for c in args.curves}
    title = f"Time to quality on {machine} ({by_curve[args.curves[0]][0]['device']}), {args.threads} torch threads"
    plot(by_curve, args.budgets, preset, title, (args.work if args.no_write else ROOT / "docs") / PNG)
    block = render(by_curve, args, preset, machine, load_before)
    print(block)
    if not args.no_write:
        write_block(ROOT / "BENCHMARKS.md", block, *BLOCK)
    return 0


if __name__ == "__main__":
    sys.exit(main())
