"""Mode-collapse benchmarks: 2-D ring, 2-D grid and Stacked MNIST, over several seeds.

Trains each recipe through ``gankit.train`` once per seed, evaluates the final generator (the EMA
one when the recipe keeps it) with the registered metrics ``modes`` (ring / grid: 2,500 samples,
VEEGAN / PacGAN Table 1 protocol) and ``stacked_mnist`` (26,000 samples, PacGAN Table 2), and
writes mean +/- standard error over seeds into BENCHMARKS.md between
``<!-- mode-collapse:begin -->`` and ``<!-- mode-collapse:end -->``, next to the published numbers.

A recipe is a preset plus overrides. Built-in recipes are listed by ``--list``; ``--presets`` also
accepts ``LABEL=PRESET:key=value,key=value`` or a bare preset name. Per-seed results are kept in
``<out>/results.json``; a rerun reuses the ones whose recipe, seed and steps are unchanged (``--fresh``
retrains). Examples::

    python benchmarks/mode_collapse.py                                   # everything, 10 seeds
    python benchmarks/mode_collapse.py --presets ring-best grid-best --seeds 3
    python benchmarks/mode_collapse.py --presets stacked-dcgan --seeds 2 --steps 3000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

import gankit
from gankit.config import load_config
from gankit.metrics import evaluate

BEGIN, END = "<!-- mode-collapse:begin -->", "<!-- mode-collapse:end -->"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Recipe:
    """A preset plus overrides, shown in the table as ``label``."""

    label: str
    preset: str
    overrides: tuple = ()
    note: str = ""


# The shipped presets, PacGAN-style packing on them, and the tuned recipes that meet the targets.
#: The Stacked MNIST rows were measured with dcgan-mnist's earlier optimiser settings (the DCGAN
#: paper's Adam, batch 64, no EMA); the preset has since been tuned for a short default run.
PAPER_ADAM = ("optim.g.lr=2e-4", "optim.d.lr=2e-4", "optim.g.betas=[0.5,0.999]", "optim.d.betas=[0.5,0.999]",
              "train.batch_size=64", "train.ema=0.0", "train.ema_start=0")

RECIPES: Dict[str, Recipe] = {r.label: r for r in [
    Recipe("ring-gan", "ring-gan", (), "shipped preset"),
    Recipe("ring-pacgan2", "ring-gan", ("model.d.args.pack=2",), "shipped preset + PacGAN2 (D sees pairs)"),
    Recipe("grid-gan", "grid-gan", (), "shipped preset"),
    Recipe("grid-pacgan4", "grid-gan", ("model.d.args.pack=4",), "shipped preset + PacGAN4"),
    # The best recipes found in short CPU trials (one or two seeds each; the closing notes of issue #4 list the trials).
    Recipe("ring-best", "ring-gan",
           ("model.g.args.norm=batch", "model.g.args.slope=0.0", "model.d.args.pack=2", "regularizers.r1.gamma=0.01",
            "optim.g.lr=2e-3", "optim.d.lr=2e-3", "train.batch_size=256", "train.steps=40000", "train.sample_every=2000"),
           "batch-norm ReLU G, PacGAN2, R1 0.01, lr 2e-3 decayed linearly, batch 256, 40k steps"),
    Recipe("grid-best", "grid-wgan-gp", ("train.steps=10000",), "the grid-wgan-gp preset trained 10k steps"),
    Recipe("stacked-dcgan", "dcgan-mnist",
           ("data.source=stacked-mnist", "data.channels=null", "train.steps=2000", *PAPER_ADAM),
           "DCGAN (dcgan-mnist nets) on Stacked MNIST"),
    Recipe("stacked-pacdcgan2", "dcgan-mnist",
           ("data.source=stacked-mnist", "data.channels=null", "train.steps=2000", "model.d.args.pack=2", *PAPER_ADAM),
           "PacDCGAN2: the same with D packing 2 samples"),
]}
DEFAULT_RECIPES = list(RECIPES)

# Published numbers, quoted as the papers print them.
PUBLISHED = {
    "ring": [("PacGAN2 (PacGAN Table 1)", "7.9", "95.6", "0.07")],
    "grid": [("GAN (VEEGAN Table 1)", "3.3", "0.5", ""), ("Unrolled GAN (VEEGAN Table 1)", "23.6", "16.0", ""),
             ("VEEGAN (VEEGAN Table 1)", "24.6", "40.0", ""), ("PacGAN4 (PacGAN Table 1)", "24.8", "93.6", "0.04")],
    "stacked": [("DCGAN (PacGAN Table 2)", "99", "", "3.40"), ("PacDCGAN2 (PacGAN Table 2)", "1000", "", "0.06")],
}
TARGETS = {"ring": "8 modes, >= 97% HQ, rKL <= 0.02", "grid": "25 modes, >= 95% HQ, rKL <= 0.03",
           "stacked": "1000 modes, KL <= 0.05"}
TITLES = {"ring": "2-D ring (8 modes, sigma 0.01)", "grid": "2-D grid (25 modes, sigma 0.05)",
          "stacked": "Stacked MNIST (1,000 modes)"}
# benchmark -> (metric, samples per evaluation, {table column: metric key})
PROTOCOL = {"ring": ("modes", 2500, {"modes": "modes", "hq": "hq_percent", "kl": "rkl"}),
            "grid": ("modes", 2500, {"modes": "modes", "hq": "hq_percent", "kl": "rkl"}),
            "stacked": ("stacked_mnist", 26000, {"modes": "stacked_modes", "kl": "stacked_kl"})}
SOURCES = {"ring": "ring", "grid": "grid", "stacked-mnist": "stacked"}


def parse_recipe(text: str) -> Recipe:
    """A built-in label, ``LABEL=PRESET:k=v,k=v``, ``PRESET:k=v,...`` or a bare preset name."""
    if text in RECIPES:
        return RECIPES[text]
    label, _, spec = text.partition("=") if re.match(r"^[\w.+-]+=[\w-]+(:|$)", text) else ("", "", text)
    preset, _, rest = spec.partition(":")
    overrides = tuple(o for o in rest.split(",") if o)
    return Recipe(label or text, preset, overrides, "")


def benchmark_of(recipe: Recipe, steps: Optional[int]) -> str:
    cfg = load_config(recipe.preset, overrides=list(recipe.overrides) + _step_override(steps))
    if cfg.data.source not in SOURCES:
        raise SystemExit(f"recipe {recipe.label}: data.source '{cfg.data.source}' is not a mode-collapse benchmark "
                         f"(use one of {', '.join(SOURCES)})")
    return SOURCES[cfg.data.source]


def _step_override(steps: Optional[int]) -> List[str]:
    return [f"train.steps={steps}"] if steps else []


@dataclass
class SeedResult:
    seed: int
    values: Dict[str, float]
    steps: int
    seconds: float
    run_dir: str
    command: str = ""


@dataclass
class RecipeResults:
    recipe: Recipe
    benchmark: str
    seeds: List[SeedResult] = field(default_factory=list)


def run_one(recipe: Recipe, bench: str, seed: int, steps: Optional[int], out: Path, threads: int,
            command: str) -> SeedResult:
    """Train one seed of a recipe and evaluate its final generator."""
    metric, n_samples, _ = PROTOCOL[bench]
    overrides = list(recipe.overrides) + _step_override(steps) + [
        f"train.seed={seed}", f"out={out / 'runs'}", f"name={recipe.label}-s{seed}", f"train.threads={threads}",
        "train.log_every=250", "train.checkpoint_every=1000000", "train.sample_every=1000000"]
    start = time.time()
    result = gankit.train(recipe.preset, overrides=overrides, quiet=True)
    values = evaluate(result.G, [metric], data_cfg=result.cfg.data, n_samples=n_samples, seed=10_000 + seed,
                      out_dir=result.run_dir / "eval", name=metric)
    return SeedResult(seed, values, int(result.step), round(time.time() - start, 1), str(result.run_dir), command)


def real_floor(bench: str) -> Dict[str, float]:
    """Scores of the real data under the same protocol (what a perfect generator would get)."""
    from gankit.data import DataRequest, build_dataset
    from gankit.data.sources.toy2d import modes_of, sample_mixture
    from gankit.metrics.modes import mode_metrics

    metric, n, _ = PROTOCOL[bench]
    if bench in ("ring", "grid"):
        centres, sigma = modes_of(bench)
        x, _ = sample_mixture(centres, sigma, n, seed=10_000)
        m = mode_metrics(x, centres, sigma)
        return {"modes": m["modes"], "hq_percent": m["hq_percent"], "rkl": m["rkl"]}
    from gankit.metrics.classifier import get_classifier
    from gankit.metrics.stacked import stacked_labels, stacked_mode_metrics

    data = build_dataset("stacked-mnist", DataRequest(seed=10_000), {"n": n})
    clf = get_classifier("mnist5k", None, 32, 1, {}, True, progress=True)  # the one the stacked_mnist metric uses
    m = stacked_mode_metrics(stacked_labels(data.x, clf))
    return {"stacked_modes": m["modes"], "stacked_kl": m["kl"]}


def mean_se(values: Sequence[float], digits: int) -> str:
    """``mean ± standard error`` (sample std / sqrt(n)); NaNs (no high-quality sample) are counted apart."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "undefined"
    mean = statistics.fmean(finite)
    text = f"{mean:.{digits}f}"
    if len(finite) > 1:
        text += f" ± {statistics.stdev(finite) / math.sqrt(len(finite)):.{digits}f}"
    if len(finite) < len(values):
        text += f" ({len(values) - len(finite)} undefined)"
    return text


def render(results: List[RecipeResults], floors: Dict[str, Dict[str, float]]) -> str:
    cpu = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores"
    seeds = [s for r in results for s in r.seeds]
    wall = sum(s.seconds for s in seeds)
    commands = "; ".join(f"`{c}`" for c in dict.fromkeys(s.command for s in seeds if s.command))
    lines = [BEGIN, "## Mode collapse: ring, grid, Stacked MNIST", "",
             "Protocol: ring / grid: 2,500 samples; a sample is high quality (HQ) within 3 sigma of its nearest mode; "
             "a mode is captured when it has at least one HQ sample; reverse KL = KL(p_hq || uniform) over the modes "
             "(VEEGAN / PacGAN Table 1). Stacked MNIST: 26,000 samples, each channel labelled by the MNIST classifier "
             "(`gankit.metrics.classifier`, trained on the 5,000 embedded digits), KL = KL(p_gen || uniform) over "
             "1,000 modes (PacGAN Table 2). Metrics: `gankit eval RUN --metrics modes` / `stacked_mnist`. "
             "gankit rows: mean ± standard error over seeds (final generator, the EMA one when the recipe keeps it).",
             "",
             f"Machine: {cpu}, torch {torch.__version__}, {platform.system()}, one torch thread per run, "
             f"shared with other jobs. Commands: {commands}. Wall time: {wall / 60:.1f} min, the sum of the "
             f"runs' times (training and evaluation; column s / run).", ""]
    for bench in ("ring", "grid", "stacked"):
        rows = [r for r in results if r.benchmark == bench and r.seeds]
        if not rows:
            continue
        _, n, cols = PROTOCOL[bench]
        lines += [f"### {TITLES[bench]}", "", f"Target for gankit's best recipe: {TARGETS[bench]}.", "",
                  "| recipe | seeds | steps | modes | HQ % | " + ("reverse KL" if bench != "stacked" else "KL") +
                  " | s / run | settings |", "|---|---|---|---|---|---|---|---|"]
        for label, modes, hq, kl in PUBLISHED[bench]:
            lines.append(f"| {label} | | | {modes} | {hq} | {kl} | | published |")
        if bench in floors:
            f = floors[bench]
            hq = f"{f['hq_percent']:.1f}" if "hq_percent" in f else ""
            lines.append(f"| real data ({n:,} samples) | | | {f[cols['modes']]:.0f} | {hq} | {f[cols['kl']]:.4f} | | "
                         f"the score of a perfect generator |")
        for r in rows:
            vals = {c: [s.values[k] for s in r.seeds] for c, k in cols.items()}
            steps = sorted({s.steps for s in r.seeds})
            settings = " ".join([f"preset {r.recipe.preset}"] + [f"`{o}`" for o in r.recipe.overrides])
            if r.recipe.note:
                settings += f" ({r.recipe.note})"
            lines.append(f"| gankit {r.recipe.label} | {len(r.seeds)} | {'/'.join(map(str, steps))} | "
                         f"{mean_se(vals['modes'], 1)} | {mean_se(vals['hq'], 1) if 'hq' in vals else ''} | "
                         f"{mean_se(vals['kl'], 3)} | {statistics.fmean(s.seconds for s in r.seeds):.0f} | {settings} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_block(path: Path, block: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace the block between ``begin`` and ``end`` in ``path`` (or append it; create the file
    when absent), atomically. Other benchmark scripts write their own blocks through this."""
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def save_results(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=DEFAULT_RECIPES,
                   help="recipes: built-in labels (--list), LABEL=PRESET:k=v,k=v, or preset names")
    p.add_argument("--seeds", type=int, default=10, help="seeds per recipe (0..N-1)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="first seed: runs seeds FIRST..FIRST+SEEDS-1 (to split one recipe over processes)")
    p.add_argument("--steps", type=int, default=None, help="override train.steps of every recipe")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-mode-collapse", help="runs and results.json")
    p.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="markdown file to update")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.add_argument("--fresh", action="store_true", help="retrain even when results.json has the run")
    p.add_argument("--cached-only", action="store_true",
                   help="train nothing: tabulate the seeds already in results.json (up to --seeds per recipe)")
    p.add_argument("--no-write", action="store_true", help="print the table instead of updating --output")
    p.add_argument("--list", action="store_true", help="list the built-in recipes and exit")
    args = p.parse_args(argv)
    if args.list:
        for r in RECIPES.values():
            print(f"{r.label:20s} {r.preset} {' '.join(r.overrides)}  # {r.note}")
        return 0
    torch.set_num_threads(args.threads)
    recipes = [parse_recipe(t) for t in args.presets]
    benches = [benchmark_of(r, args.steps) for r in recipes]  # every config checked before any training
    results_file = args.out / "results.json"
    stored = load_results(results_file)
    command = " ".join(["python benchmarks/mode_collapse.py"] + list(argv if argv is not None else sys.argv[1:]))
    all_results = []
    for recipe, bench in zip(recipes, benches):
        key = json.dumps([recipe.preset, list(recipe.overrides), args.steps])
        rr = RecipeResults(recipe, bench)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            old = stored.get(key, {}).get(str(seed))
            if old is not None and not args.fresh:
                rr.seeds.append(SeedResult(**old))
                continue
            if args.cached_only:
                continue
            res = run_one(recipe, bench, seed, args.steps, args.out, args.threads, command)
            rr.seeds.append(res)
            # Re-read before writing: invocations with other --presets may share this file.
            stored = load_results(results_file)
            stored.setdefault(key, {})[str(seed)] = res.__dict__
            save_results(results_file, stored)
            print(f"{recipe.label} seed {seed}: {res.values} ({res.seconds:.0f} s)", flush=True)
        all_results.append(rr)
    floors = {b: real_floor(b) for b in {r.benchmark for r in all_results}}
    block = render(all_results, floors)
    if args.no_write:
        print(block)
    else:
        write_block(args.output, block)
        print(f"updated {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
