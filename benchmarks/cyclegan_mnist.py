"""CycleGAN on the known-mapping MNIST task: does it learn the mapping, and does it keep the digit?

``cyclegan-mnist`` trains on ``mnist-pairs`` task ``thicken_invert``: domain A = digits, domain B
= ``255 - dilate3x3(digit)``, from two disjoint halves of the training digits (unpaired). The 500
holdout digits (``split: holdout``, never trained on) come paired, so translations can be scored
exactly:

* A -> B: mean absolute error (grey levels / 255) of ``G_ab(A)`` against the true mapping
  ``T(A)``, next to two references: the identity map's error ``|A - T(A)|`` (the floor the issue
  names) and plain inversion's ``|(255 - A) - T(A)|`` (half the mapping: colours right, strokes
  not thickened);
* B -> A: ``|G_ba(T(A)) - A|`` next to the identity ``|T(A) - A|`` (no closed-form inverse exists:
  dilation loses thin gaps, so this error cannot reach 0);
* digit kept: gankit's MNIST classifier (:func:`gankit.metrics.classifier.get_classifier` on
  ``mnist5k``, cached) on ``G_ba(T(A))`` against the digit labels, and on ``255 - G_ab(A)``
  (B's colours inverted back, the digit thickened), each next to the same classifier on the
  corresponding real images (``A``; ``255 - T(A)``). The classifier was trained on mnist5k, which
  holds the holdout digits too, so its accuracy on the real ones is an upper reference, not a
  held-out accuracy.

Writes a block between ``<!-- cyclegan-mnist:begin -->`` and ``<!-- cyclegan-mnist:end -->`` in
BENCHMARKS.md (``--no-write`` prints it only)::

    python benchmarks/cyclegan_mnist.py [--seeds 3] [--set train.steps=2000 ...] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402  (one block writer for every benchmark script)
from seeded_runs import mean_se, train_run  # noqa: E402

BEGIN, END = "<!-- cyclegan-mnist:begin -->", "<!-- cyclegan-mnist:end -->"
PRESET = "cyclegan-mnist"
TASK = "thicken_invert"


def holdout_digits(resolution: int) -> tuple:
    """``(A, T(A), labels)`` of the mnist-pairs holdout: uint8 ``[500, 1, R, R]`` twice, int64 ``[500]``."""
    from gankit.data import DataRequest, build_dataset

    ds = build_dataset("mnist-pairs", DataRequest(resolution=resolution), {"task": TASK, "split": "holdout"})
    return ds.x, ds.fields["target"], ds.y


def _unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 or float [-1, 1] images -> float [0, 1]."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else (x.float().clamp(-1, 1) + 1) / 2


def mae(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean absolute error in grey levels / 255 between two image batches (uint8 or [-1, 1])."""
    return float((_unit(x) - _unit(y)).abs().mean())


def holdout_scores(run_dir, classifier: bool = True, device="cpu") -> Dict[str, float]:
    """Score a cyclegan-mnist run's translators on the holdout digits (see the module docstring).

    Args:
        run_dir: the run folder (its newest checkpoint).
        classifier: also measure whether the digit is kept (loads or trains gankit's MNIST classifier).
        device: where the networks run.

    Returns:
        ``mae_a2b``, ``identity_a2b``, ``invert_a2b``, ``mae_b2a``, ``identity_b2a``, ``invert_b2a`` and, with
        ``classifier``, ``acc_b2a``, ``acc_real_a``, ``acc_a2b_inverted``, ``acc_real_b_inverted``.
    """
    from gankit.data.batches import to_model_range
    from gankit.translate import load_translators, translate

    nets = load_translators(run_dir, device=device)
    resolution = nets.records["a2b"]["in_shape"][-1]
    a, b, labels = holdout_digits(resolution)
    fake_b = translate(nets["a2b"], to_model_range(a))
    fake_a = translate(nets["b2a"], to_model_range(b))
    out = {"mae_a2b": mae(fake_b, b), "identity_a2b": mae(a, b), "invert_a2b": mae(255 - a, b),
           "mae_b2a": mae(fake_a, a), "identity_b2a": mae(b, a), "invert_b2a": mae(255 - b, a)}
    if classifier:
        from gankit.metrics.classifier import get_classifier

        clf = get_classifier("mnist5k", resolution=resolution, channels=1, device=device)
        out.update({"acc_b2a": clf.accuracy(fake_a, labels), "acc_real_a": clf.accuracy(a, labels),
                    "acc_a2b_inverted": clf.accuracy(-fake_b, labels),  # -x in [-1, 1] is 255 - x
                    "acc_real_b_inverted": clf.accuracy(255 - b, labels)})
    return out


def render(results: list, overrides: Sequence[str], command: str, machine: str, wall: float) -> str:
    rows = [r["scores"] for r in results]
    col = {k: [r[k] for r in rows] for k in rows[0]}
    settings = " ".join(f"`{o}`" for o in overrides) or "the preset as shipped"
    seeds = ", ".join(str(r["seed"]) for r in results)
    per_seed = "; ".join(f"seed {r['seed']}: {r['scores']['mae_a2b']:.4f} / {r['scores']['mae_b2a']:.4f} "
                         f"in {r['seconds']:.0f} s" for r in results)
    lines = [
        BEGIN,
        "## CycleGAN: known-mapping MNIST (thicken + invert)",
        "",
        f"`benchmarks/cyclegan_mnist.py` trains preset `{PRESET}` ({settings}) for seeds {seeds} and scores its "
        "translators on the 500 holdout digits of `mnist-pairs` (never trained on). Domain B = `255 - dilate3x3(A)`; "
        "MAE in grey levels / 255, mean ± standard error over seeds. The identity map is the floor the issue names; "
        "plain inversion (colours right, strokes not thickened) is the stricter reference: beating it means the "
        "strokes were thickened too. B -> A has no exact inverse (dilation loses thin gaps).",
        "",
        f"Machine: {machine}. Command: `{command}`. Wall time: {wall / 60:.1f} min in all.",
        "",
        "| direction | gankit CycleGAN MAE | identity map MAE | inversion only MAE |",
        "|---|---|---|---|",
        f"| A -> B: `G_ab(A)` vs `T(A)` | **{mean_se(col['mae_a2b'], digits=4)}** | "
        f"{col['identity_a2b'][0]:.4f} | {col['invert_a2b'][0]:.4f} |",
        f"| B -> A: `G_ba(T(A))` vs `A` | **{mean_se(col['mae_b2a'], digits=4)}** | {col['identity_b2a'][0]:.4f} | "
        f"{col['invert_b2a'][0]:.4f} |",
        "",
        f"Per seed (A -> B / B -> A MAE, training time): {per_seed}.",
    ]
    if "acc_b2a" in col:
        lines += [
            "",
            "Is the digit kept? gankit's MNIST classifier (`gankit.metrics.classifier`, trained on the 5,000 "
            "embedded digits, which include the holdout ones: the real-image column is an upper reference):",
            "",
            "| images classified | accuracy % | same classifier on the real images |",
            "|---|---|---|",
            f"| `G_ba(T(A))` (B translated to A) | **{mean_se(col['acc_b2a'], 100, 1)}** | "
            f"{100 * col['acc_real_a'][0]:.1f} (`A`) |",
            "| `255 - G_ab(A)` (A translated to B, colours inverted back) | "
            f"**{mean_se(col['acc_a2b_inverted'], 100, 1)}** "
            f"| {100 * col['acc_real_b_inverted'][0]:.1f} (`255 - T(A)`) |",
        ]
    lines.append(END)
    return "\n".join(lines)


def machine_line(threads: int) -> str:
    load = ""
    try:
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1]
    except OSError:
        pass
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores (`nproc`), {threads} torch thread(s) per run, "
            f"torch {torch.__version__}, {platform.system()}, load average{load} before the runs")


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides of the preset")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--no-classifier", action="store_true", help="skip the digit-kept measurement")
    p.add_argument("--no-write", action="store_true", help="print the BENCHMARKS.md block instead of writing it")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = machine_line(args.threads)
    command = "python benchmarks/cyclegan_mnist.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gankit-cyclegan-bench-") as tmp:
        root = Path(args.out) if args.out else Path(tmp)
        results = []
        for seed in range(args.seeds):
            run_dir = root / f"seed-{seed}"
            seconds = train_run(PRESET, seed, args.set, run_dir, args.threads)
            scores = holdout_scores(run_dir, classifier=not args.no_classifier)
            print(f"seed {seed}: {seconds:.0f} s, " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items()),
                  file=sys.stderr, flush=True)
            results.append({"seed": seed, "seconds": seconds, "scores": scores})
    block = render(results, args.set, command.strip(), machine, time.perf_counter() - started)
    if args.no_write:
        print(block)
    else:
        write_block(ROOT / "BENCHMARKS.md", block, BEGIN, END)
        print(f"wrote the block to {ROOT / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
