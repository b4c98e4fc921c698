"""`gankit tune`: hyper-parameter search on Optuna (TPE, random or grid; pruning; parallel workers)."""

from __future__ import annotations

HELP = "search hyper-parameters with Optuna (one run folder per trial), or write a study's report with --report"


def add_arguments(p) -> None:
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides for every trial, e.g. train.steps=1000 eval.n_samples=2500")
    p.add_argument("--preset", help="the shipped preset the trials start from (see `gankit presets`)")
    p.add_argument("--config", help="a YAML config file merged over the preset")
    p.add_argument("--space", help="YAML file: dotted config keys -> distributions, e.g. "
                   "'optim.d.lr: {log_uniform: [1.0e-5, 1.0e-3]}' (see the README)")
    p.add_argument("--metric", help="the result to optimise: classifier_fid, fid, hq_percent, modes, ...")
    p.add_argument("--direction", choices=("min", "max"), help="default: the metric's own (fid: min, hq_percent: max)")
    p.add_argument("--trials", type=int, help="trials in the study in total (a rerun continues up to this number)")
    p.add_argument("--sampler", default="tpe", help="tpe (Bayesian, default), random or grid")
    p.add_argument("--pruner", default="median", help="median (default), hyperband or none")
    p.add_argument("--prune-after", type=int, default=4, metavar="N",
                   help="median pruner: completed trials before pruning starts (default 4)")
    p.add_argument("--startup-trials", type=int, default=10, metavar="N",
                   help="tpe: random trials before it models the results (default 10, Optuna's)")
    p.add_argument("--study", help="study name (default: <preset>-<space file name>)")
    p.add_argument("--storage", metavar="URL", help="SQLAlchemy database URL shared by workers on many machines, "
                   "e.g. postgresql://user@host/db (default: SQLite in the study folder)")
    p.add_argument("--dir", metavar="FOLDER", help="the study folder (default: <out>/tune/<study>)")
    p.add_argument("--workers", type=int, default=1, help="trials in parallel processes on this machine (default 1)")
    p.add_argument("--eval-every", type=int, metavar="STEPS",
                   help="evaluate the metric (and let the pruner act) every STEPS (default: a quarter of train.steps)")
    p.add_argument("--seed", type=int, help="the sampler's seed (default train.seed)")
    p.add_argument("--vary-seed", action="store_true",
                   help="train trial n with train.seed + n (default: every trial with train.seed)")
    p.add_argument("--report", metavar="STUDY", help="write report.html and best.yaml of a study (its folder, or a "
                   "name under runs/tune/) and exit")
    p.add_argument("--out", metavar="FILE", help="with --report: the HTML file (default STUDY/report.html)")
    p.add_argument("--no-report", action="store_true", help="do not write report.html and best.yaml at the end")
    p.add_argument("--quiet", action="store_true", help="no line per trial")


def run(args) -> int:
    from gankit.registry import ConfigError

    if args.report:
        from gankit.search.report import write_study_report

        out, best = write_study_report(args.report, out=args.out, storage=args.storage, study_name=args.study)
        print(f"wrote {out}")
        print(f"wrote {best}: gankit train --config {best}" if best else "no completed trial yet: no best.yaml")
        return 0
    missing = [f"--{n}" for n in ("space", "metric", "trials") if getattr(args, n) is None]
    if missing:
        raise ConfigError(f"gankit tune needs {', '.join(missing)}; e.g. gankit tune --preset grid-gan "
                          "--space examples/spaces/grid-gan.yaml --metric hq_percent --trials 24")
    from gankit.search.study import Interrupted, TuneSettings, tune

    settings = TuneSettings(space=args.space, metric=args.metric, trials=args.trials, preset=args.preset,
                            config_file=args.config, overrides=tuple(args.overrides), direction=args.direction,
                            sampler=args.sampler, pruner=args.pruner, prune_after=args.prune_after,
                            startup_trials=args.startup_trials, study=args.study,
                            storage=args.storage, study_dir=args.dir, workers=args.workers,
                            eval_every=args.eval_every, seed=args.seed, vary_seed=args.vary_seed, quiet=args.quiet)
    try:
        result = tune(settings, report=not args.no_report)
    except Interrupted as e:
        print(f"gankit: {e}", flush=True)
        return 130
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(result.states.items()))
    print(f"study '{result.study}' ({result.storage}): {states}")
    if result.best_number is None:
        print("no trial completed")
        return 0
    params = ", ".join(f"{k}={v}" for k, v in result.best_params.items())
    print(f"best: trial {result.best_number}, {args.metric}={result.best_value:.4g}: {params}")
    if result.report:
        print(f"report: {result.report}")
    if result.best_yaml:
        print(f"next:   gankit train --config {result.best_yaml}")
    return 0
