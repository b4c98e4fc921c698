"""Putting G to work on MNIST: classification accuracy score (CAS) of the conditional presets, and
image completion of held-out real digits against two baselines.

* CAS (Ravuri & Vinyals 2019): gankit's MNIST classifier (default settings) trained on ``--n-cas``
  generated digits of each conditional preset (balanced classes, the classes asked for as labels),
  tested on the official MNIST test set (``../shared/data/mnist``, 10,000 digits); beside it the
  same classifier trained on the 5,000 embedded real digits (``mnist5k``, the presets' training
  data). Through the registered ``cas`` metric (:mod:`gankit.metrics.cas`).
* Inpainting (Yeh et al. 2017, :func:`gankit.tools.projection.inpaint`): ``--n-inpaint`` random
  digits of the MNIST test set (never trained on) at 32x32 lose a centred ``--hole`` x ``--hole``
  square; the error is the mean squared error on the hidden pixels against the true digit
  ([-1, 1] units). Baselines: the training digits' mean image, and the hidden pixels of the
  training digit nearest (L2) on the known pixels.

Writes the block between ``<!-- inspection:begin -->`` and ``<!-- inspection:end -->`` in
BENCHMARKS.md (``--no-write`` prints it)::

    flock /tmp/gankit-bench.lock python benchmarks/inspection.py [--run cgan-mnist=DIR ...] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from infogan_codes import load_line  # noqa: E402  (one uptime reader for the benchmark scripts)
from mode_collapse import write_block  # noqa: E402
from seeded_runs import mean_se, train_run  # noqa: E402

BEGIN, END = "<!-- inspection:begin -->", "<!-- inspection:end -->"
PRESETS = ("cgan-mnist", "acgan-mnist")
MNIST = ROOT / ".." / "shared" / "data" / "mnist"


def test_digits(n: int, seed: int = 0):
    """``n`` random digits of the MNIST test set at 32x32: ``(x [n, 1, 32, 32] in [-1, 1], y [n])``."""
    from gankit.data import DataRequest, build_dataset

    ds = build_dataset("mnist-idx", DataRequest(path=str(MNIST), resolution=32, channels=1), {"split": "test"})
    pick = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return ds.x[pick].float() / 127.5 - 1, ds.y[pick]


def training_digits() -> torch.Tensor:
    from gankit.data import DataRequest, build_dataset

    ds = build_dataset("mnist5k", DataRequest(resolution=32, channels=1), {})
    return ds.x.float() / 127.5 - 1


def hole_errors(filled: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> list:
    from gankit.tools.projection import masked_mse

    return masked_mse(filled, truth, 1 - mask).tolist()


def nearest_fill(damaged: torch.Tensor, mask: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    """Each image's hidden pixels copied from the training image nearest on the known pixels."""
    known = mask.bool().flatten()
    a, b = damaged.flatten(1)[:, known], train.flatten(1)[:, known]
    nearest = torch.cdist(a, b).argmin(dim=1)
    return damaged * mask + train[nearest] * (1 - mask)


def measure_cas(G, cfg, n: int) -> Dict[str, float]:
    from gankit.metrics import evaluate

    args = {"cas": {"test_source": "mnist-idx", "test_path": str(MNIST.resolve()), "test_args": {"split": "test"}}}
    return evaluate(G, ["cas"], data_cfg=cfg.data, n_samples=n, seed=0, args=args)


def render(rows: dict, cas: dict, args, machine: str, loads: tuple, wall: float, times: dict) -> str:
    real = next(iter(cas.values()))["cas_real"]
    lines = [
        BEGIN,
        "## Putting G to work: CAS of the conditional presets, inpainting of held-out digits",
        "",
        f"`benchmarks/inspection.py` on {machine}; load average{loads[0]} before and{loads[1]} after (`uptime`). "
        f"Wall time {wall / 60:.1f} min in all ("
        + (f"training {', '.join(f'{k} {v:.0f} s' for k, v in times.items())}" if times else
           "runs passed with --run, trained beforehand") + "). "
        f"Command: `flock /tmp/gankit-bench.lock python benchmarks/inspection.py {' '.join(args.argv)}`.",
        "",
        f"**Classification accuracy score.** gankit's MNIST classifier (width 16, 8 epochs, shifts of up to 2 px) "
        f"trained on {args.n_cas:,} generated digits (balanced, labelled with the class asked for) of each preset "
        "as shipped (seed 0), tested on the 10,000 digits of the official MNIST test set; the real-data row trains "
        "the same classifier on the 5,000 embedded training digits (`mnist5k`). Metric `cas` "
        "(`gankit eval RUN --metrics cas --arg cas.test_source=mnist-idx ...`).",
        "",
        "| training data of the classifier | accuracy on the MNIST test set |",
        "|---|---|",
        f"| 5,000 real digits (`mnist5k`) | {100 * real:.1f}% |",
        *[f"| {args.n_cas:,} digits of `{p}` | **{100 * v['cas']:.1f}%** |" for p, v in cas.items()],
        "",
        f"**Inpainting.** {args.n_inpaint} random digits of the MNIST test set (never trained on) at 32x32 lose a "
        f"centred {args.hole}x{args.hole} square ({args.hole * args.hole} of 1,024 pixels). Mean squared error on the "
        "hidden pixels against the true digit ([-1, 1] units), mean ± standard error over the digits. gankit: "
        f"`inpaint` with the preset's G and D, {args.steps} Adam steps, {args.restarts} start(s) per class (classes "
        "searched, no label given), weighted context loss (window 7), feather 2; the blend leaves the hidden pixels "
        "to G.",
        "",
        "| fill of the hidden pixels | hidden-pixel MSE | s |",
        "|---|---|---|",
        *[f"| {name} | {mean_se(errs, 1, 4)} | {secs:.0f} |" for name, (errs, secs) in rows.items()],
        END,
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="append", default=[], metavar="PRESET=DIR",
                   help="reuse a trained run of a preset instead of training it (seed 0, as shipped)")
    p.add_argument("--n-cas", type=int, default=5000, help="generated digits per CAS classifier")
    p.add_argument("--n-inpaint", type=int, default=40, help="held-out digits to complete")
    p.add_argument("--hole", type=int, default=10, help="side of the centred missing square")
    p.add_argument("--steps", type=int, default=300, help="inpainting: Adam steps")
    p.add_argument("--restarts", type=int, default=4, help="inpainting: starts per class")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-write", action="store_true", help="print the BENCHMARKS.md block instead of writing it")
    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    if not MNIST.is_dir():
        raise SystemExit(f"needs the MNIST test set in {MNIST} (see ../shared/data/README.md)")
    torch.set_num_threads(args.threads)
    from gankit.tools.projection import inpaint
    from gankit.training.checkpoint import load_run_discriminator, load_run_generator

    reuse = dict(item.split("=", 1) for item in args.run)
    machine = (f"{platform.machine()}, {os.cpu_count()} CPU cores (`nproc`), {args.threads} torch thread(s), "
               f"torch {torch.__version__}, no GPU")
    load_before, started = load_line(), time.perf_counter()
    cas, rows, times = {}, {}, {}
    x, _ = test_digits(args.n_inpaint)
    mask = torch.ones(1, 1, 32, 32)
    lo = (32 - args.hole) // 2
    mask[..., lo:lo + args.hole, lo:lo + args.hole] = 0
    damaged = x * mask
    train = training_digits()
    t = time.perf_counter()
    rows["mean training image"] = (hole_errors(train.mean(0, keepdim=True).expand_as(x), x, mask),
                                   time.perf_counter() - t)
    t = time.perf_counter()
    rows["nearest training digit (L2 on the known pixels)"] = (hole_errors(nearest_fill(damaged, mask, train), x,
                                                                           mask), time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            run = Path(reuse[preset]) if preset in reuse else Path(tmp) / preset
            if preset not in reuse:
                times[preset] = train_run(preset, 0, [], run, args.threads)
            G, cfg = load_run_generator(run)
            D, _ = load_run_discriminator(run)
            cas[preset] = measure_cas(G, cfg, args.n_cas)
            print(f"{preset}: CAS {cas[preset]['cas']:.4f}, real {cas[preset]['cas_real']:.4f}", flush=True)
            # the prior-loss ablation on the first preset only (each inpainting pass costs minutes)
            for weight in ((0.003, 0.0) if preset == PRESETS[0] else (0.003,)):
                t = time.perf_counter()
                result = inpaint(G, D, damaged, mask, prior_weight=weight, steps=args.steps, restarts=args.restarts)
                name = f"gankit inpaint, `{preset}`, " + (f"prior weight {weight:g}" if weight else
                                                        "context loss alone (prior weight 0)")
                rows[name] = (hole_errors(result.images, x, mask), time.perf_counter() - t)
                print(f"{name}: {statistics.mean(rows[name][0]):.4f} ({rows[name][1]:.0f} s)", flush=True)
    block = render(rows, cas, args, machine, (load_before, load_line()), time.perf_counter() - started, times)
    print(block)
    if not args.no_write:
        write_block(ROOT / "BENCHMARKS.md", block, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
