"""The MNIST classifier behind gankit's offline metrics: its accuracy on real digits, and real-vs-real floors.

gankit's ``classifier_fid`` / ``classifier_score`` / ``stacked_mnist`` metrics use a small CNN trained on
the run's labelled data (``gankit.metrics.classifier``). This script measures what those numbers can be
trusted for, on the real MNIST test set in ``../shared/data/mnist`` (10,000 digits never used for
training the embedded-data classifier):

* accuracy of the classifier trained on the 5,000 embedded digits (``mnist5k``, the one the Stacked
  MNIST metric labels channels with) on its own 1,000 held-out digits and on all 10,000 test digits;
* accuracy of a classifier trained on 8,000 of the test digits, on the other 2,000;
* Frechet distances in the mnist5k classifier's feature space between real sets: two disjoint
  random halves of the test set, and the embedded digits against the test set. A generator's
  ``classifier_fid`` can only be read against these floors;
* optionally (``--run RUN_DIR``) that run's ``classifier_fid``, its floor and ``classifier_score``.

Writes a block between ``<!-- classifier:begin -->`` and ``<!-- classifier:end -->`` in BENCHMARKS.md::

    python benchmarks/classifier_floor.py [--mnist ../shared/data/mnist] [--run runs/dcgan-mnist]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from gankit.data import DataRequest, build_dataset
from gankit.metrics.classifier import Classifier, get_classifier, holdout_split
from gankit.metrics.stats import feature_stats, frechet_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402  (one block writer for every benchmark script)

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- classifier:begin -->", "<!-- classifier:end -->"
SEED = 0


def features(clf: Classifier, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Penultimate-layer features ``[N, feature_dim]`` (float64) of uint8 images ``[N, 1, 32, 32]``."""
    with torch.no_grad():
        return torch.cat([clf.features(xb) for xb in x.split(batch_size)]).double()


def fd(a: torch.Tensor, b: torch.Tensor) -> float:
    return frechet_distance(feature_stats(a), feature_stats(b))


def run_metrics(run_dir: Path) -> dict:
    """The run's generator scored as ``gankit eval RUN --metrics classifier_fid,classifier_score`` does."""
    from gankit.metrics import evaluate
    from gankit.training.checkpoint import load_run_generator

    G, cfg = load_run_generator(run_dir)
    return evaluate(G, ["classifier_fid", "classifier_score"], data_cfg=cfg.data, n_samples=5000, seed=SEED)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", type=Path, default=ROOT / ".." / "shared" / "data" / "mnist",
                   help="folder with the MNIST t10k IDX files")
    p.add_argument("--run", type=Path, default=None, help="also score this run's generator (5,000 samples)")
    p.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true", help="print the block instead of updating --output")
    args = p.parse_args(argv)
    if not (args.mnist / "t10k-images-idx3-ubyte.gz").is_file() and not (args.mnist / "t10k-images-idx3-ubyte").is_file():
        raise SystemExit(f"no MNIST test images in {args.mnist}; pass --mnist FOLDER with t10k-images-idx3-ubyte[.gz]")
    start = time.time()
    request = DataRequest(path=str(args.mnist), resolution=32, channels=1)
    test = build_dataset("mnist-idx", request, {"split": "test"})
    embedded = build_dataset("mnist5k", DataRequest(resolution=32, channels=1), {})

    clf5k = get_classifier("mnist5k", None, 32, 1, {}, progress=True)  # the one classifier_fid / stacked_mnist use
    clf_test = get_classifier("mnist-idx", str(args.mnist), 32, 1, {"split": "test"}, progress=True)
    settings = clf_test.meta["record"]["settings"]  # the classifier's own held-out split of the test digits
    _, hold = holdout_split(len(test), settings["holdout"], seed=settings["seed"])
    m5, mt = clf5k.meta, clf_test.meta
    trained_5k = f"mnist5k ({m5['n_train']:,} embedded digits)"
    acc = [
        (trained_5k, f"its {m5['n_holdout']:,} held-out embedded digits", m5["holdout_accuracy"]),
        (trained_5k, f"all {len(test):,} real MNIST test digits", clf5k.accuracy(test.x, test.y)),
        (f"mnist-idx test split ({mt['n_train']:,} digits)", f"the other {len(hold):,} test digits",
         clf_test.accuracy(test.x[hold], test.y[hold])),
    ]

    f_test, f_embedded = features(clf5k, test.x), features(clf5k, embedded.x)
    half = len(test) // 2
    perm = torch.randperm(len(test), generator=torch.Generator().manual_seed(SEED))
    floors = [
        ("MNIST test, two disjoint random halves", f"{half:,} vs {half:,}",
         fd(f_test[perm[:half]], f_test[perm[half:2 * half]])),
        (f"embedded digits ({m5['n_train']:,} of them the classifier's training set) vs MNIST test",
         f"{len(embedded):,} vs {len(test):,}", fd(f_embedded, f_test)),
    ]
    run_values = run_metrics(args.run) if args.run else None

    lines: List[str] = [
        BEGIN, "## The MNIST classifier and real-vs-real floors", "",
        f"`python benchmarks/classifier_floor.py{' --run ' + str(args.run) if args.run else ''}` on "
        f"{platform.processor() or platform.machine()} ({os.cpu_count()} CPU cores), torch {torch.__version__}, "
        f"{time.time() - start:.0f} s including training any classifier not yet cached. The classifier is "
        f"gankit's default (width {clf5k.meta['record']['settings']['width']}, "
        f"{clf5k.meta['record']['settings']['epochs']} epochs, shifts of up to "
        f"{clf5k.meta['record']['settings']['max_shift']} px), images at 32x32.", "",
        "| classifier trained on | accuracy measured on | accuracy |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {v * 100:.2f}% |" for a, b, v in acc]
    lines += ["", f"Fréchet distance in the mnist5k classifier's {f_test.shape[1]}-d feature space (`classifier_fid`) between "
              "real sets: what a perfect generator would score at these sample counts.", "",
              "| real set A vs real set B | samples | Fréchet distance |", "|---|---|---|"]
    lines += [f"| {a} | {n} | {v:.3f} |" for a, n, v in floors]
    if run_values is not None:
        lines += ["", f"Generator of `{args.run}` (5,000 samples, seed {SEED}, against its run's data): "
                  f"classifier_fid {run_values['classifier_fid']:.3f} (real-vs-real floor of that data "
                  f"{run_values['classifier_fid_real_floor']:.3f}), classifier_score "
                  f"{run_values['classifier_score']:.2f} of at most 10."]
    lines.append(END)
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
