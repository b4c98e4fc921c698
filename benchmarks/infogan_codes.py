"""InfoGAN on MNIST: does the categorical code capture digit identity?

Trains preset ``infogan-mnist`` (or another InfoGAN preset, with ``--set`` overrides) for several
seeds, then for each run generates ``--per-value`` digits for each value of ``cat0`` (random noise
and continuous codes, the same for every value) and labels them with gankit's MNIST classifier
(:func:`gankit.metrics.classifier.get_classifier` on the embedded ``mnist5k`` digits, cached):

* accuracy: each code value mapped to the label most of its samples get (the InfoGAN paper's
  measure, section 7.1: about 5% error on the full MNIST after 50 epochs of its model);
* one-to-one accuracy: values matched to labels one-to-one (Hungarian), so that two values
  showing the same digit cannot both count, and the number of distinct digits the mapping uses;
* normalised mutual information between code value and label (sklearn, arithmetic mean).

Writes a block between ``<!-- infogan-codes:begin -->`` and ``<!-- infogan-codes:end -->`` in
BENCHMARKS.md (``--no-write`` prints it only)::

    python benchmarks/infogan_codes.py [--seeds 3] [--set train.steps=2000 ...] [--threads 2]
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
from typing import Optional, Sequence

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402  (one block writer for every benchmark script)
from seeded_runs import mean_se, train_run  # noqa: E402

BEGIN, END = "<!-- infogan-codes:begin -->", "<!-- infogan-codes:end -->"
PRESET = "infogan-mnist"
#: The paper's error with the majority mapping (Chen et al. 2016, section 7.1).
PAPER_ERROR = 0.05


def score_run(run_dir: Path, per_value: int, device: str = "cpu") -> dict:
    """:func:`gankit.metrics.codes.categorical_agreement` of a run's generator, with the classifier's
    own held-out accuracy (``classifier_accuracy``)."""
    from gankit.metrics.classifier import get_classifier
    from gankit.metrics.codes import categorical_agreement
    from gankit.training.checkpoint import load_run_generator

    G, cfg = load_run_generator(run_dir, device=device)
    clf = get_classifier("mnist5k", None, cfg.data.resolution, 1, device=device)
    scores = categorical_agreement(G, clf, "cat0", n_per_value=per_value, seed=0)
    return {**scores, "classifier_accuracy": clf.meta.get("holdout_accuracy"), "resolution": cfg.data.resolution}


def load_line() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1]
    except OSError:
        return " unknown"


def render(results: list, preset: str, overrides: Sequence[str], command: str, machine: str, loads: tuple,
           wall: float) -> str:
    col = {k: [r["scores"][k] for r in results] for k in ("accuracy", "one_to_one_accuracy", "nmi", "labels_covered")}
    settings = " ".join(f"`{o}`" for o in overrides) or "as shipped"
    per_seed = "; ".join(
        f"seed {r['seed']}: {100 * r['scores']['accuracy']:.1f}% / {100 * r['scores']['one_to_one_accuracy']:.1f}% / "
        f"NMI {r['scores']['nmi']:.3f}, value -> digit {r['scores']['mapping']}, {r['seconds'] / 60:.1f} min"
        for r in results)
    n = results[0]["scores"]["samples"]
    clf, res = results[0]["scores"].get("classifier_accuracy"), results[0]["scores"]["resolution"]
    lines = [
        BEGIN,
        "## InfoGAN: does the categorical code capture digit identity?",
        "",
        f"`benchmarks/infogan_codes.py` trains preset `{preset}` ({settings}) for seeds "
        f"{', '.join(str(r['seed']) for r in results)} and generates {n:,} digits per run ({n // 10:,} per value of "
        "`cat0`, the same noise and continuous codes for every value), labelled by gankit's MNIST classifier "
        f"(`mnist5k` at {res}x{res}{f', {100 * clf:.1f}% on its held-out real digits' if clf else ''}). "
        "Mean ± standard error over seeds.",
        "",
        f"Machine: {machine}; load average{loads[0]} before and{loads[1]} after the runs. Command: `{command}`. "
        f"Wall time: {wall / 60:.1f} min in all.",
        "",
        "| measure | gankit InfoGAN | InfoGAN paper (full MNIST, 50 epochs) |",
        "|---|---|---|",
        f"| accuracy, each value -> its majority digit (%) | **{mean_se(col['accuracy'], 100, 1)}** | "
        f"{100 * (1 - PAPER_ERROR):.0f} (5% error) |",
        f"| accuracy, values matched one-to-one to digits (%) | **{mean_se(col['one_to_one_accuracy'], 100, 1)}** | - |",
        f"| normalised mutual information (code value; digit) | **{mean_se(col['nmi'], 1, 3)}** | - |",
        f"| distinct digits among the 10 values' majority labels | {mean_se(col['labels_covered'], 1, 1)} | - |",
        "",
        f"Per seed (majority / one-to-one accuracy, NMI, mapping, training time): {per_seed}.",
        END,
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=PRESET)
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides of the preset")
    p.add_argument("--threads", type=int, default=2, help="torch threads per run (the runs are sequential)")
    p.add_argument("--per-value", type=int, default=1000, help="generated digits per value of cat0")
    p.add_argument("--out", default=None, help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--no-write", action="store_true", help="print the BENCHMARKS.md block instead of writing it")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (f"{platform.machine()}, {os.cpu_count()} CPU cores (`nproc`), {args.threads} torch thread(s), "
               f"torch {torch.__version__}, {platform.system()}")
    command = "python benchmarks/infogan_codes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before, started = load_line(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gankit-infogan-bench-") as tmp:
        root = Path(args.out) if args.out else Path(tmp)
        results = []
        for seed in range(args.seeds):
            run_dir = root / f"seed-{seed}"
            seconds = train_run(args.preset, seed, args.set, run_dir, args.threads)
            scores = score_run(run_dir, args.per_value)
            print(f"seed {seed}: {seconds:.0f} s, accuracy {scores['accuracy']:.3f}, one-to-one "
                  f"{scores['one_to_one_accuracy']:.3f}, NMI {scores['nmi']:.3f}, mapping {scores['mapping']}",
                  file=sys.stderr, flush=True)
            results.append({"seed": seed, "seconds": seconds, "scores": scores})
    block = render(results, args.preset, args.set, command.strip(), machine, (load_before, load_line()),
                   time.perf_counter() - started)
    if args.no_write:
        print(block)
    else:
        write_block(ROOT / "BENCHMARKS.md", block, BEGIN, END)
        print(f"wrote the block to {ROOT / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
