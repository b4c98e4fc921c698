"""A study: Optuna storage, sampler and pruner, worker processes, and one run folder per trial.

Layout of a study folder (default ``<out>/tune/<study>``)::

    study.db            the SQLite storage (unless --storage names another database)
    study.json          how the study was started (metric, space, preset, overrides, storage)
    trials/trial-0000/  an ordinary run folder per trial (config.yaml, samples, checkpoints, eval/)
    report.html         gankit tune --report
    best.yaml           the best trial's full config, for ``gankit train --config best.yaml``

Each trial trains with ``eval.every`` so that :class:`~gankit.search.pruning.OptunaPruning` reports
the metric to Optuna after each evaluation; the trial's value is the metric at its last
evaluation. A trial that diverges (non-finite loss) or whose sampled combination the config
refuses is recorded as failed with its reason, and the study goes on. A trial stopped by a signal
is recorded as failed and ``interrupted``, does not count towards ``--trials``, and its parameters
are queued again, so rerunning the same command continues the study where it stopped.

Workers are processes (``multiprocessing`` with ``spawn``), never threads: training installs
signal handlers and sets torch's thread count. On one machine a lock file in the study folder
makes "count the trials, then start one" atomic, so K workers never run more than ``--trials``
trials and, with the grid sampler (which gives trial number n grid point n), never the same point
twice. Workers on other machines share the study through ``--storage`` (e.g. PostgreSQL).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

from gankit.registry import ConfigError, closest

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
# user attrs of a trial (besides Optuna's own fields)
ATTR_SEED, ATTR_RUN, ATTR_CONFIG = "seed", "run_dir", "config"
ATTR_REASON, ATTR_INTERRUPTED = "fail_reason", "interrupted"


@dataclass(frozen=True)
class TuneSettings:
    """Everything a study needs; picklable, so that worker processes rebuild the same study.

    Attributes:
        space: the space file (see :mod:`gankit.search.space`).
        metric: the result key to optimise (``classifier_fid``, ``hq_percent``, ``fid``...) or a metric
            name that is also its key.
        trials: total trials of the study (all workers, all reruns; interrupted ones do not count).
        preset, config_file, overrides: the base config, as for ``gankit train``.
        direction: ``min``/``max``; default the metric's own.
        sampler: ``tpe`` (Bayesian), ``random`` or ``grid``.
        pruner: ``median``, ``hyperband`` or ``none``.
        prune_after: trials that must complete before the median pruner prunes.
        startup_trials: TPE's random trials before it models the results (Optuna's default 10; with
            a budget of a few dozen trials, fewer leave more trials to the model).
        study: the study name; default ``<preset>-<space file stem>``.
        storage: an SQLAlchemy URL; default SQLite in the study folder.
        study_dir: the study folder; default ``<out>/tune/<study>``.
        workers: trial processes on this machine.
        eval_every: evaluate (and report to the pruner) every N steps; default ``eval.every`` or a
            quarter of ``train.steps``.
        seed: the sampler's seed; default ``train.seed``.
        vary_seed: train trial n with ``train.seed + n`` (default: every trial with ``train.seed``,
            so that trials differ only in their hyper-parameters).
        quiet: no line per trial.
    """

    space: str
    metric: str
    trials: int
    preset: Optional[str] = None
    config_file: Optional[str] = None
    overrides: Tuple[str, ...] = ()
    direction: Optional[str] = None
    sampler: str = "tpe"
    pruner: str = "median"
    prune_after: int = 4
    startup_trials: int = 10
    study: Optional[str] = None
    storage: Optional[str] = None
    study_dir: Optional[str] = None
    workers: int = 1
    eval_every: Optional[int] = None
    seed: Optional[int] = None
    vary_seed: bool = False
    quiet: bool = False


@dataclass
class TuneResult:
    """What :func:`tune` returns: where the study is and what it found."""

    study_dir: Path
    study: str
    storage: str  # the URL, password hidden
    states: dict  # state name -> number of trials
    best_number: Optional[int] = None
    best_value: Optional[float] = None
    best_params: dict = field(default_factory=dict)
    report: Optional[Path] = None
    best_yaml: Optional[Path] = None


# ------------------------------------------------------------------ metric and storage
def resolve_metric(name: str) -> Tuple[str, str, str]:
    """``(metric to evaluate, result key, direction)`` for ``--metric NAME`` (a key or a metric name)."""
    from gankit.metrics import METRICS, load_builtin_metrics, metric_spec

    load_builtin_metrics()
    producers = [m for m in METRICS.names() if name in metric_spec(m).directions]
    if name in METRICS.names() and name not in producers:
        keys = [k for k, d in metric_spec(name).directions.items() if d]
        raise ConfigError(f"--metric {name}: the metric reports {', '.join(keys)}; pass one of these keys as --metric")
    if not producers:
        keys = sorted({k for m in METRICS.names() for k, d in metric_spec(m).directions.items() if d})
        raise ConfigError(f"--metric {name}: no metric reports it.{closest(name, keys)} Keys: {', '.join(keys)}")
    metric = name if name in producers else producers[0]
    direction = metric_spec(metric).directions[name]
    if direction is None:
        raise ConfigError(f"--metric {name} is informational (no better direction); choose another key")
    return metric, name, {"min": "minimize", "max": "maximize"}[direction]


def public_url(url: str) -> str:
    """The storage URL with any password hidden (for messages and study.json)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 (a malformed URL is reported by open_storage)
        return url


def open_storage(url: str):
    """An Optuna RDBStorage for ``url``; ConfigError naming the URL (password hidden) and the fix."""
    import optuna
    import sqlalchemy.exc

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
    except ModuleNotFoundError as e:
        raise ConfigError(f"--storage {public_url(url)} needs the database driver {e.name}; for PostgreSQL install "
                          "it with: pip install 'gankit[postgres]' (psycopg2-binary)") from None
    except (sqlalchemy.exc.ArgumentError, ValueError) as e:
        raise ConfigError(f"--storage {public_url(url)} is not a database URL ({str(e).splitlines()[0]}); e.g. "
                          "sqlite:///study.db or postgresql://user@host/db") from None
    except sqlalchemy.exc.OperationalError as e:
        raise ConfigError(f"cannot open --storage {public_url(url)}: {str(e.orig).strip().splitlines()[0]}; "
                          "check the host, port, user and database, and that the server runs") from None


# ------------------------------------------------------------------ the study's context
@dataclass
class Context:
    """The resolved study: built from :class:`TuneSettings` in the main process and again in each worker."""

    settings: TuneSettings
    base: object  # the trials' base DictConfig (eval settings included)
    space: object  # gankit.search.space.Space
    metric: str
    key: str
    direction: str
    study_name: str
    study_dir: Path
    storage_url: str
    budget: int

    @classmethod
    def build(cls, s: TuneSettings, check: bool = True) -> "Context":
        from gankit.config import load_config, merge_settings
        from gankit.search.space import load_space

        if s.trials < 1:
            raise ConfigError(f"--trials must be >= 1, got {s.trials}")
        if s.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {s.workers}")
        for name, value in (("--startup-trials", s.startup_trials), ("--prune-after", s.prune_after)):
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        if s.sampler not in SAMPLERS:
            raise ConfigError(f"--sampler {s.sampler}: use one of {', '.join(SAMPLERS)}.{closest(s.sampler, SAMPLERS)}")
        if s.pruner not in PRUNERS:
            raise ConfigError(f"--pruner {s.pruner}: use one of {', '.join(PRUNERS)}.{closest(s.pruner, PRUNERS)}")
        metric, key, direction = resolve_metric(s.metric)
        if s.direction is not None:
            if s.direction not in ("min", "max"):
                raise ConfigError(f"--direction must be min or max, got {s.direction}")
            direction = {"min": "minimize", "max": "maximize"}[s.direction]
        cfg = load_config(s.preset, s.config_file, list(s.overrides))
        steps = cfg.train.steps
        every = s.eval_every or cfg.eval.every or _default_eval_every(steps)
        if steps % every:
            raise ConfigError(f"--eval-every {every} does not divide train.steps={steps}: the trial's value is the "
                              f"metric at its last evaluation, which must be the end of training; e.g. --eval-every "
                              f"{_default_eval_every(steps)}")
        metrics = list(cfg.eval.metrics) + ([metric] if metric not in cfg.eval.metrics else [])
        base = merge_settings(cfg, {"eval.every": every, "eval.metrics": metrics}, "gankit tune")
        space = load_space(s.space, base if check else None)
        name = s.study or f"{cfg.name or 'run'}-{Path(s.space).stem}"
        study_dir = Path(s.study_dir).expanduser() if s.study_dir else Path(cfg.out) / "tune" / name
        storage = s.storage or f"sqlite:///{(study_dir / 'study.db').resolve()}"
        budget = s.trials
        if s.sampler == "grid":
            budget = min(budget, space.grid_size())
        return cls(s, base, space, metric, key, direction, name, study_dir, storage, budget)

    def identity(self) -> dict:
        """What must not change when a study is continued (else its trials would not be comparable)."""
        from gankit.config import to_yaml

        base = self.base.copy()
        base.name, base.out = "", ""
        return {"metric": self.key, "direction": self.direction, "space": self.space.to_dict(),
                "base_config": to_yaml(base)}

    def sampler(self, worker: int):
        import optuna

        base_seed = self.settings.seed if self.settings.seed is not None else self.base.train.seed
        seed = base_seed + worker
        if self.settings.storage:  # workers on other machines run the same command: do not replay their draws
            seed += hash((socket.gethostname(), os.getpid())) % 100_000
        # GridSampler shuffles the grid with its seed and gives trial n point n of that order: every
        # worker, here or elsewhere, must shuffle alike, so the grid's seed is the study's.
        build = {"tpe": lambda: optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.settings.startup_trials),
                 "random": lambda: optuna.samplers.RandomSampler(seed=seed),
                 "grid": lambda: _grid_sampler(self.space.grid(), base_seed)}
        return build[self.settings.sampler]()

    def pruner(self):
        import optuna

        t = self.base.train
        build = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=self.settings.prune_after),
                 "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=self.base.eval.every,
                                                                     max_resource=t.steps),
                 "none": lambda: optuna.pruners.NopPruner()}
        return build[self.settings.pruner]()

    def load_study(self, worker: int = 0):
        import optuna

        return optuna.load_study(study_name=self.study_name, storage=open_storage(self.storage_url),
                                 sampler=self.sampler(worker), pruner=self.pruner())

    @contextlib.contextmanager
    def lock(self):
        """Exclusive among this machine's workers of the study (a lock file in the study folder)."""
        import fcntl

        with open(self.study_dir / ".tune.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _grid_sampler(grid: dict, seed: int):
    """Optuna's GridSampler, except that it does not stop the study when the grid is used up: the
    workers ask and tell (``Study.stop`` works only inside ``optimize``) and stop at the grid's size."""
    import optuna

    class Grid(optuna.samplers.GridSampler):
        def after_trial(self, study, trial, state, values) -> None:
            pass

    return Grid(grid, seed=seed)


def _default_eval_every(steps: int) -> int:
    """A quarter of the run when that divides it (else the first of 1/3, 1/5 ... 1/10 that does, else the end)."""
    for n in (4, 3, 5, 6, 8, 10, 2):
        if steps % n == 0:
            return steps // n
    return steps


# ------------------------------------------------------------------ creating and continuing
def prepare(s: TuneSettings) -> Context:
    """Validate everything, create or reopen the study, retire trials of processes that died."""
    import optuna

    ctx = Context.build(s)
    _quiet_optuna()
    from gankit.validate import check_output_folder

    check_output_folder(ctx.study_dir, "the study folder")
    (ctx.study_dir / "trials").mkdir(parents=True, exist_ok=True)
    storage = open_storage(ctx.storage_url)
    study = optuna.create_study(study_name=ctx.study_name, storage=storage, direction=ctx.direction,
                                load_if_exists=True)
    identity = ctx.identity()
    stored = study.user_attrs.get("identity")
    if stored is None:
        study.set_user_attr("identity", identity)
    elif stored != identity:
        what = [k for k in identity if stored.get(k) != identity[k]]
        raise ConfigError(f"study '{ctx.study_name}' in {public_url(ctx.storage_url)} was started with another "
                          f"{' and '.join(what)}; its trials would not be comparable. Pass --study NEW_NAME for a new "
                          "study, or the original settings to continue it")
    if list(study.directions) != [getattr(optuna.study.StudyDirection, ctx.direction.upper())]:
        raise ConfigError(f"study '{ctx.study_name}' optimises in the other direction; pass --study NEW_NAME")
    _retire_dead_trials(study)
    from gankit.io import atomic_write_json

    atomic_write_json(ctx.study_dir / "study.json", {
        "study": ctx.study_name, "storage": public_url(s.storage) if s.storage else None, "metric": ctx.key,
        "direction": ctx.direction, "space": str(s.space), "preset": s.preset, "config_file": s.config_file,
        "overrides": list(s.overrides), "sampler": s.sampler, "pruner": s.pruner, "eval_every": ctx.base.eval.every,
        "command": sys.argv})
    return ctx


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one gankit line per trial instead


def _retire_dead_trials(study) -> None:
    """RUNNING trials of this host whose process is gone were interrupted: fail them, queue their params."""
    from optuna.trial import TrialState

    from gankit.io import _alive

    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") == host and pid is not None and not _alive(pid):
            storage = study._storage
            storage.set_trial_user_attr(t._trial_id, ATTR_REASON, f"interrupted: its process {pid} ended")
            storage.set_trial_user_attr(t._trial_id, ATTR_INTERRUPTED, True)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)


def _used(study) -> int:
    """Trials that count towards --trials: all but interrupted ones and queued retries."""
    from optuna.trial import TrialState

    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state != TrialState.WAITING and not t.user_attrs.get(ATTR_INTERRUPTED))


# ------------------------------------------------------------------ workers and trials
class Interrupted(Exception):
    """A signal stopped a trial; the worker stops (the trial is queued again for the next run)."""


def run_worker(s: TuneSettings, worker: int = 0) -> int:
    """Run trials until the study has ``trials``; returns how many this worker ran."""
    ctx = Context.build(s, check=False)
    _quiet_optuna()
    study = ctx.load_study(worker)
    ran = 0
    while True:
        with ctx.lock():
            if _used(study) >= ctx.budget:
                return ran
            trial = study.ask()
        run_trial(ctx, study, trial)
        ran += 1


def run_trial(ctx: Context, study, trial) -> None:
    """Train one trial's run folder and tell Optuna how it ended."""
    import torch
    from optuna.trial import TrialState

    from gankit.config import to_yaml
    from gankit.runner import train
    from gankit.search.pruning import OptunaPruning
    from gankit.training.loop import NonFiniteLossError, RunError

    start = time.perf_counter()
    values = ctx.space.suggest(trial)
    seed = values.get("train.seed", ctx.base.train.seed + (trial.number if ctx.settings.vary_seed else 0))
    run_dir = (ctx.study_dir / "trials" / f"trial-{trial.number:04d}").resolve()
    for k, v in ((ATTR_SEED, seed), (ATTR_RUN, str(run_dir)), ("out", ctx.base.out), ("host", socket.gethostname()),
                 ("pid", os.getpid())):
        trial.set_user_attr(k, v)
    settings = {**values, "train.seed": seed, "name": run_dir.name, "out": str(run_dir.parent)}
    if ctx.settings.workers > 1 and not ctx.base.train.threads:  # K processes share the cores
        settings["train.threads"] = max(1, (os.cpu_count() or 1) // ctx.settings.workers)
    pruning = OptunaPruning(trial, ctx.key)
    try:
        cfg = ctx.space.apply(ctx.base, settings, f"trial {trial.number}")
        trial.set_user_attr(ATTR_CONFIG, to_yaml(cfg))
        result = train(cfg=cfg, run_dir=run_dir, callbacks=[pruning], quiet=True,
                       argv=["gankit", "tune", "--study", ctx.study_name, f"(trial {trial.number})"])
    except (NonFiniteLossError, ConfigError, torch.OutOfMemoryError) as e:
        # The sampled values diverged, do not fit together, or do not fit in memory: a result of the
        # search (a bad region), not a failure of the study.
        _fail(study, trial, f"{type(e).__name__}: {e}", start, values)
        return
    except (RunError, KeyboardInterrupt) as e:  # aborted, disk full: not about the hyper-parameters
        _interrupted(study, trial, str(e) or "interrupted")
        raise
    if pruning.pruned_at is not None:
        study.tell(trial, state=TrialState.PRUNED)
        _line(ctx, study, trial, f"pruned at step {pruning.pruned_at} ({ctx.key}={pruning.last[1]:.4g})", start, values)
    elif result.stopped and result.stopped.startswith("interrupted"):
        _interrupted(study, trial, result.stopped)
        raise Interrupted(f"trial {trial.number} {result.stopped} at step {result.step}; rerun the same command "
                          "to continue the study (the trial runs again)")
    elif pruning.last is None or not math.isfinite(pruning.last[1]):
        _fail(study, trial, result.stopped or f"no evaluation of {ctx.key} ran (eval.every > train.steps?)", start,
              values)
    else:
        step, value = pruning.last
        trial.set_user_attr("value_step", step)
        study.tell(trial, value)
        _line(ctx, study, trial, f"{ctx.key}={value:.4g}", start, values)


def _fail(study, trial, reason: str, start: float, values) -> None:
    from optuna.trial import TrialState

    trial.set_user_attr(ATTR_REASON, reason)
    study.tell(trial, state=TrialState.FAIL)
    first = reason.splitlines()[0]
    print(f"trial {trial.number}: failed: {first[:300]} [{time.perf_counter() - start:.0f} s]", flush=True)


def _interrupted(study, trial, reason: str) -> None:
    from optuna.trial import TrialState

    trial.set_user_attr(ATTR_REASON, f"interrupted: {reason}")
    trial.set_user_attr(ATTR_INTERRUPTED, True)
    study.tell(trial, state=TrialState.FAIL)
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)


def _line(ctx: Context, study, trial, outcome: str, start: float, values) -> None:
    if ctx.settings.quiet:
        return
    shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
    try:
        best = study.best_trial
        best_text = f"best {best.value:.4g} (trial {best.number})"
    except ValueError:
        best_text = "no completed trial yet"
    print(f"trial {trial.number}: {shown} -> {outcome}; {best_text} [{time.perf_counter() - start:.0f} s]", flush=True)


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _worker_main(s: TuneSettings, worker: int) -> None:
    """Entry of a spawned worker process: exit status 0, 1 (a run error) or 130 (interrupted)."""
    import warnings

    from gankit.training.loop import RunError

    warnings.simplefilter("ignore")  # the main process already showed the config notes once
    try:
        run_worker(s, worker)
    except (Interrupted, KeyboardInterrupt) as e:
        print(f"gankit: worker {worker}: {e or 'interrupted'}", file=sys.stderr, flush=True)
        sys.exit(130)
    except (RunError, ConfigError) as e:
        print(f"gankit: worker {worker}: error: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


def tune(settings: Optional[TuneSettings] = None, *, report: bool = True, **kwargs) -> TuneResult:
    """Run (or continue) a study; see :class:`TuneSettings` for the arguments.

    Args:
        settings: the study's settings; or give them as keyword arguments.
        report: write ``report.html`` and ``best.yaml`` into the study folder at the end.

    Returns:
        :class:`TuneResult`. Raises :class:`Interrupted` when a signal stopped the study (rerun to continue).
    """
    s = settings or TuneSettings(**{k: tuple(v) if k == "overrides" else v for k, v in kwargs.items()})
    ctx = prepare(s)
    study = ctx.load_study(0)
    done = _used(study)
    if s.sampler == "grid" and s.trials > ctx.budget:
        print(f"gankit tune: the grid has {ctx.budget} points: running {ctx.budget} trials, not {s.trials}", flush=True)
    if not s.quiet:
        print(f"gankit tune: study '{ctx.study_name}' in {ctx.study_dir} ({s.sampler} sampler, {s.pruner} pruner, "
              f"{ctx.direction} {ctx.key}, evaluated every {ctx.base.eval.every} steps): {done} of {ctx.budget} trials "
              f"done; {max(0, ctx.budget - done)} to run on {s.workers} worker(s)", flush=True)
    if s.workers == 1:
        run_worker(s, 0)
    else:
        _run_processes(s)
    return summarize(ctx, report=report)


def _run_processes(s: TuneSettings) -> None:
    import multiprocessing

    mp = multiprocessing.get_context("spawn")
    procs = [mp.Process(target=_worker_main, args=(s, i), name=f"gankit-tune-{i}") for i in range(s.workers)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:  # the workers got the signal too: they save their trials and stop
        for p in procs:
            p.join()
        raise Interrupted("interrupted; rerun the same command to continue the study") from None
    codes = [p.exitcode for p in procs]
    if 130 in codes or any(c is not None and c < 0 for c in codes):
        raise Interrupted("a worker was interrupted; rerun the same command to continue the study")
    if any(codes):
        from gankit.training.loop import RunError

        raise RunError(f"worker(s) {[i for i, c in enumerate(codes) if c]} stopped with an error (see above); "
                       "rerun the same command to continue the study")


def summarize(ctx: Context, report: bool = True) -> TuneResult:
    """Counts by state and the best trial; with ``report``, writes report.html and best.yaml."""
    from collections import Counter

    study = ctx.load_study(0)
    trials = study.get_trials(deepcopy=False)
    result = TuneResult(ctx.study_dir, ctx.study_name, public_url(ctx.storage_url),
                        dict(Counter(t.state.name for t in trials)))
    try:
        best = study.best_trial
        result.best_number, result.best_value = best.number, best.value
        result.best_params = ctx.space.decode(best.params)
    except ValueError:
        pass
    if report:
        from gankit.search.report import write_study_report

        result.report, result.best_yaml = write_study_report(ctx.study_dir, study=study, space=ctx.space)
    return result


def study_folder(study) -> Path:
    """The folder of ``--report STUDY``: a study folder, or the name of one under the default ``runs/tune/``."""
    path = Path(study).expanduser()
    default = Path("runs") / "tune" / str(study)
    return default if not path.is_dir() and default.is_dir() else path


def settings_from_folder(study_dir) -> dict:
    """study.json of a study folder (how it was started)."""
    path = Path(study_dir) / "study.json"
    if not path.is_file():
        raise ConfigError(f"{study_dir} is not a study folder (no study.json); give the folder `gankit tune` made, "
                          "e.g. runs/tune/NAME")
    return json.loads(path.read_text(encoding="utf-8"))

