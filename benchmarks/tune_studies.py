"""TPE vs random search with the same budget (``gankit tune``), and whether the best trial beats the preset.

For each sampler: one study of ``--trials`` trials (median pruning, the metric evaluated every
``--eval-every`` steps), then the best value after each number of trials. The preset itself is
trained with the same overrides on seed 0 (the seed every trial used), so "best trial vs preset"
compares like with like; because the best trial was selected on seed 0, its config and the
preset's are then both trained again on fresh seeds (``--confirm-seeds``), which is the honest
comparison. Prints Markdown for BENCHMARKS.md and writes ``summary.json`` into ``--out``.

Example (the grid benchmark of BENCHMARKS.md)::

    flock /tmp/gankit-bench.lock python benchmarks/tune_studies.py --preset grid-wgan-gp \\
        --space examples/spaces/grid-wgan-gp.yaml --metric hq_percent --trials 20 --out /tmp/tune-grid \\
        eval.n_samples=2500
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seeded_runs import mean_se, train_run  # noqa: E402

CHECKPOINTS = (1, 2, 4, 8, 12, 16, 20, 24, 32, 48)


def best_after(trials, direction: str) -> dict:
    """Best completed value after each number of trials (in trial order; pruned/failed ones count)."""
    better = min if direction == "minimize" else max
    out, best = {}, None
    for n, t in enumerate(sorted(trials, key=lambda t: t.number), 1):
        if t.state.name == "COMPLETE" and t.value is not None and math.isfinite(t.value):
            best = t.value if best is None else better(best, t.value)
        out[n] = best
    return out


def final_value(run_dir: Path, key: str) -> float:
    """The metric of a run's last evaluation (eval/step-*.json)."""
    last = sorted((run_dir / "eval").glob("step-*.json"))[-1]
    return json.loads(last.read_text())["values"][key]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="key=value for every trial and baseline run")
    p.add_argument("--preset", required=True)
    p.add_argument("--space", required=True)
    p.add_argument("--metric", required=True)
    p.add_argument("--trials", type=int, default=24)
    p.add_argument("--samplers", nargs="+", default=["tpe", "random"])
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--startup-trials", type=int, default=10, help="TPE's random trials first (Optuna's default 10)")
    p.add_argument("--confirm-seeds", type=int, default=2, help="fresh seeds for best config vs preset (0: skip)")
    p.add_argument("--out", required=True, help="work folder (studies, baseline runs, summary.json)")
    args = p.parse_args()

    from gankit.search import TuneSettings, tune
    from gankit.search.report import open_study
    from gankit.search.study import resolve_metric

    metric, key, direction = resolve_metric(args.metric)
    out = Path(args.out)
    eval_overrides = [f"eval.metrics=[{metric}]"]
    summary = {"preset": args.preset, "space": args.space, "metric": key, "direction": direction,
               "trials": args.trials, "overrides": args.overrides, "studies": {}}
    for sampler in args.samplers:
        started = time.perf_counter()
        result = tune(TuneSettings(space=args.space, metric=args.metric, trials=args.trials, preset=args.preset,
                                   overrides=tuple(args.overrides + ["train.threads=1"]), sampler=sampler,
                                   study=f"{args.preset}-{sampler}", study_dir=str(out / sampler),
                                   eval_every=args.eval_every, startup_trials=args.startup_trials, seed=0))
        study = open_study(out / sampler)
        curve = best_after(study.get_trials(deepcopy=False), direction)
        summary["studies"][sampler] = {
            "best_after": curve, "states": result.states, "best_trial": result.best_number,
            "best_value": result.best_value, "best_params": result.best_params, "best_yaml": str(result.best_yaml),
            "minutes": (time.perf_counter() - started) / 60}
        print(f"{sampler}: best {result.best_value} (trial {result.best_number}) {result.best_params}", flush=True)
    steps_overrides = args.overrides + eval_overrides
    base_dir = out / "preset-seed0"
    if not base_dir.exists():
        train_run(args.preset, 0, steps_overrides + [f"eval.every={_steps(args)}"], base_dir, threads=1)
    summary["preset_seed0"] = final_value(base_dir, key)
    if args.confirm_seeds:
        better = min if direction == "minimize" else max
        winner = better(args.samplers, key=lambda s: summary["studies"][s]["best_value"])
        best_yaml = summary["studies"][winner]["best_yaml"]
        confirm = {"preset": [], "best": [], "from": winner}
        for seed in range(1, args.confirm_seeds + 1):
            for name, extra in (("preset", []), ("best", ["--config", best_yaml])):
                run_dir = out / f"confirm-{name}-seed{seed}"
                if not run_dir.exists():
                    train_run(args.preset if name == "preset" else None, seed,
                              steps_overrides + [f"eval.every={_steps(args)}"], run_dir, threads=1, extra_args=extra)
                confirm[name].append(final_value(run_dir, key))
        confirm["preset_mean"], confirm["best_mean"] = mean_se(confirm["preset"]), mean_se(confirm["best"])
        summary["confirm"] = confirm
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print_markdown(summary)
    return 0


def _steps(args) -> int:
    from gankit.config import load_config

    return load_config(args.preset, overrides=args.overrides).train.steps


def print_markdown(s: dict) -> None:
    ks = [k for k in CHECKPOINTS if k <= s["trials"]]
    print("\n| sampler | " + " | ".join(f"best after {k}" for k in ks) + " | trials (complete / pruned / failed) | "
          "minutes |")
    print("|---|" + "---|" * (len(ks) + 2))
    for sampler, st in s["studies"].items():
        curve = {int(k): v for k, v in st["best_after"].items()}
        cells = " | ".join("" if curve.get(k) is None else f"{curve[k]:.4g}" for k in ks)
        c = st["states"]
        print(f"| {sampler} | {cells} | {c.get('COMPLETE', 0)} / {c.get('PRUNED', 0)} / {c.get('FAIL', 0)} | "
              f"{st['minutes']:.1f} |")
    print(f"\npreset {s['preset']} on seed 0 (the trials' seed): {s['metric']} = {s['preset_seed0']:.4g}")
    if "confirm" in s:
        c = s["confirm"]
        print(f"fresh seeds 1..{len(c['preset'])}: preset {c['preset_mean']} ({c['preset']}) vs best {c['from']} "
              f"config {c['best_mean']} ({c['best']})")


if __name__ == "__main__":
    sys.exit(main())
