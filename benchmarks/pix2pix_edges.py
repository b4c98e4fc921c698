"""pix2pix on MNIST edge maps -> digits, against the same U-Net trained with L1 alone (the paper's ablation).

Trains the ``pix2pix-mnist-edges`` preset twice per seed: as shipped (U-Net G, PatchGAN D on
(edges, digit) pairs, bce + 100 x L1) and with ``objective.args.adversarial_weight=0`` (the same G
with L1 alone, no D). Each run's G is loaded back from its checkpoint through ``gankit.translate``
(eval mode, as ``gankit translate`` serves it) and translates the 500 held-out edge maps of
``mnist-pairs`` (``split: holdout``, digits never trained on). Its outputs, quantised to uint8 as
the PNG files would be, are measured by:

* classifier accuracy: gankit's MNIST classifier (``get_classifier("mnist5k")``, the one behind
  ``classifier_fid`` and Stacked MNIST) labels each output; the fraction equal to the digit's label;
* classifier FID: Frechet distance in that classifier's 128-d feature space between the outputs
  and the 4,500 real training digits (a reference set independent of the outputs: against their
  own true digits the outputs would score as a reconstruction, not as realistic digits), next to
  the real-vs-real floor at the same counts (the 500 true held-out digits against that set);
* L1: mean absolute error against the true digit ([-1, 1] units), next to the best constant image
  (the per-pixel median of the training digits);
* edge consistency: mean absolute difference between the output's own edge map
  (``dilate - erode``, the task's exact B -> A mapping) and the input, [-1, 1] units (0 for the
  true digits): does the output fit its outline?

Writes a block between ``<!-- pix2pix:begin -->`` and ``<!-- pix2pix:end -->`` in BENCHMARKS.md::

    python benchmarks/pix2pix_edges.py [--seeds 3] [--threads 1] [--set train.steps=3000 ...] [--no-write]
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
from typing import List, Optional, Sequence

import torch

import gankit
from gankit.data import DataRequest, build_dataset
from gankit.data.batches import to_model_range
from gankit.data.sources.mnist_pairs import edge_map, split_indices
from gankit.metrics.classifier import get_classifier, holdout_split
from gankit.metrics.stats import feature_stats, frechet_distance
from gankit.translate import load_translators, translate
from gankit.viz.grid import to_uint8

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402  (one block writer for every benchmark script)

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- pix2pix:begin -->", "<!-- pix2pix:end -->"
PRESET = "pix2pix-mnist-edges"
VARIANTS = {"pix2pix (L1 + cGAN)": [], "L1 alone": ["objective.args.adversarial_weight=0"]}


def features(clf, x: torch.Tensor) -> torch.Tensor:
    """Classifier features ``[N, 128]`` (float64) of uint8 images ``[N, 1, 32, 32]``."""
    with torch.no_grad():
        return torch.cat([clf.features(xb) for xb in x.split(500)]).double()


def fd(a: torch.Tensor, b: torch.Tensor) -> float:
    return frechet_distance(feature_stats(a), feature_stats(b))


def mae(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference of two uint8 image batches in [-1, 1] units."""
    return float((to_model_range(a) - to_model_range(b)).abs().mean())


def measure(out: torch.Tensor, hold, clf, reference: torch.Tensor) -> dict:
    """The four numbers for uint8 outputs ``[500, 1, 32, 32]`` of the held-out edge maps
    (``reference``: the FID reference set's classifier features)."""
    return {"accuracy": clf.accuracy(out, hold.y), "fid": fd(features(clf, out), reference),
            "l1": mae(out, hold.fields["target"]), "edges": mae(edge_map(out), hold.x)}


def mean_sd(values: List[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="training seeds per variant (train.seed 0..N-1)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for both variants")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: the cores are shared)")
    p.add_argument("--runs", type=Path, default=None, help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true", help="print the block instead of updating --output")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    start = time.time()

    req = DataRequest(resolution=32, channels=1)
    hold = build_dataset("mnist-pairs", req, {"task": "edges", "split": "holdout"})
    train_digits = build_dataset("mnist-pairs", req, {"task": "edges", "paired": True}).fields["target"]
    clf = get_classifier("mnist5k", None, 32, 1, {}, progress=True)
    # The classifier trained on most of the 5,000 embedded digits, the held-out pairs' digits among
    # them: its accuracy on the real held-out digits is a ceiling, not a clean test accuracy.
    settings = clf.meta["record"]["settings"]
    clf_train, _ = holdout_split(clf.meta["n_train"] + clf.meta["n_holdout"], settings["holdout"], settings["seed"])
    seen = len(set(split_indices("holdout", len(hold)).tolist()) & set(clf_train.tolist()))
    reference = features(clf, train_digits)
    median = train_digits.median(dim=0, keepdim=True).values.expand(len(hold), -1, -1, -1).contiguous()
    references = {"the true held-out digits": measure(hold.fields["target"], hold, clf, reference),
                  "per-pixel median of the training digits": measure(median, hold, clf, reference)}

    results = {name: [] for name in VARIANTS}
    seconds = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or Path(tmp)
        for seed in range(args.seeds):
            for name, extra in VARIANTS.items():
                t0 = time.time()
                run_dir = runs / f"{'l1' if extra else 'pix2pix'}-seed{seed}"
                gankit.train(PRESET, [*args.set, *extra, f"train.seed={seed}", f"train.threads={args.threads}"],
                             run_dir=run_dir, quiet=True)
                seconds[name].append(time.time() - t0)
                G = load_translators(run_dir)["a2b"]
                out = to_uint8(translate(G, to_model_range(hold.x)))
                results[name].append(measure(out, hold, clf, reference))
                print(f"{name} seed {seed}: {results[name][-1]} ({seconds[name][-1]:.0f} s)", flush=True)

    cfg = gankit.load_config(PRESET, overrides=args.set)
    options = [f"--seeds {args.seeds}"] * (args.seeds != 3) + [f"--threads {args.threads}"] * (args.threads != 1)
    command = " ".join(["python benchmarks/pix2pix_edges.py", *options, *(["--set", *args.set] if args.set else [])])
    plural = {"threads": "s" * (args.threads > 1), "seeds": "s" * (args.seeds > 1)}
    lines = [
        BEGIN, "## pix2pix: MNIST edge maps -> digits, with and without the adversarial term", "",
        f"`{command}` on {platform.machine()} with {os.cpu_count()} CPU cores (`nproc`), {args.threads} torch "
        f"thread{plural['threads']}, load average {load:.2f} at the start (`uptime`; the cores are shared with "
        f"other jobs), torch {torch.__version__}: {(time.time() - start) / 60:.1f} min in all. Preset `{PRESET}`: "
        f"U-Net width {cfg.model.g.args.width}, PatchGAN width {cfg.model.d.args.width} with n_layers "
        f"{cfg.model.d.args.n_layers}, batch {cfg.train.batch_size}, {cfg.train.steps} steps; \"L1 alone\" adds "
        f"`objective.args.adversarial_weight=0` (same G, no D). Mean ± standard deviation over {args.seeds} "
        f"seed{plural['seeds']} (`train.seed` 0..{args.seeds - 1}), on the {len(hold)} held-out edge maps (digits "
        "never trained on); outputs quantised to uint8 as `gankit translate` writes them.", "",
        "| outputs | seeds | classifier accuracy | classifier FID vs real digits | L1 to the true digit | "
        "edge consistency | train s / run |", "|---|---|---|---|---|---|---|"]
    for name, r in references.items():
        lines.append(f"| {name} | | {r['accuracy'] * 100:.1f}% | {r['fid']:.2f} | {r['l1']:.4f} | {r['edges']:.4f} | |")
    for name, rows in results.items():
        lines.append(f"| {name} | {len(rows)} | {mean_sd([r['accuracy'] * 100 for r in rows], '.1f')}% | "
                     f"{mean_sd([r['fid'] for r in rows], '.2f')} | {mean_sd([r['l1'] for r in rows], '.4f')} | "
                     f"{mean_sd([r['edges'] for r in rows], '.4f')} | {statistics.mean(seconds[name]):.0f} |")
    lines += ["", "Classifier: gankit's MNIST classifier (trained on the 5,000 embedded digits; "
              f"its training part held {seen} of these {len(hold)} held-out digits, so its accuracy on the "
              "real digits is a ceiling). Classifier FID: the 500 outputs against the "
              f"{len(train_digits):,} training digits (never the outputs' own targets); the true digits' row is the "
              "real-vs-real floor at those counts. L1 and edge consistency in [-1, 1] units. "
              "Edge consistency: |edge_map(output) - input|, 0 for the true digits.", END]
    block = "\n".join(lines)
    if args.no_write:
        print(block)
    else:
        write_block(args.output, block, BEGIN, END)
        print(block)
        print(f"updated {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
