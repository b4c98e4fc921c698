"""The study report (``gankit tune --report``): one self-contained HTML page, and ``best.yaml``.

The page shows Optuna's matplotlib visualisations (optimisation history, parameter importances,
parallel coordinates, slices), a table of the trials (parameters, value, state, seed, run folder,
why a trial failed) and the best trial's sample grid; pictures are inlined as in the run report
(:mod:`gankit.viz.report`), so the page opens anywhere. ``best.yaml`` is the best trial's full
resolved config (as it trained), renamed so that ``gankit train --config best.yaml`` starts a new
run beside the others instead of inside the study.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Optional, Tuple

from gankit.registry import ConfigError

#: Parameter importances (fANOVA) need a few completed trials to say anything.
MIN_TRIALS_FOR_IMPORTANCE = 3


def _plot(fn, *args, **kwargs) -> bytes:
    """PNG bytes of one of Optuna's matplotlib plots (closes the figure afterwards)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from gankit.viz.io import figure_bytes

    # Optuna's plots switch the global style to ggplot (plt.style.use); rc_context restores every
    # setting afterwards, so the plots drawn later in this process keep gankit's look.
    with warnings.catch_warnings(), plt.rc_context():
        # Optuna marks its matplotlib plots experimental; tight_layout warns about colour bars
        warnings.simplefilter("ignore")
        axes = fn(*args, **kwargs)
        fig = (np.asarray(axes).ravel()[0] if isinstance(axes, np.ndarray) else axes).figure
        fig.set_size_inches(max(fig.get_size_inches()[0], 8), max(fig.get_size_inches()[1], 4.5))
        fig.tight_layout()
        try:
            return figure_bytes(fig, dpi=90)
        finally:
            plt.close(fig)


def open_study(study_dir, storage: Optional[str] = None, study_name: Optional[str] = None):
    """The Optuna study of a study folder (its study.json names it; ``storage`` for a shared database)."""
    import optuna

    from gankit.search.study import _quiet_optuna, open_storage, settings_from_folder, study_folder

    study_dir = study_folder(study_dir)
    info = settings_from_folder(study_dir)
    if storage is None:
        if info.get("storage") and "***" in info["storage"]:
            raise ConfigError(f"the study's database URL has a password ({info['storage']}); pass it with --storage")
        storage = info.get("storage") or f"sqlite:///{(study_dir / 'study.db').resolve()}"
    _quiet_optuna()
    name = study_name or info["study"]
    try:
        return optuna.load_study(study_name=name, storage=open_storage(storage))
    except KeyError:
        raise ConfigError(f"no study '{name}' in {storage}; check --study and --storage") from None


def write_study_report(study_dir, study=None, space=None, out=None, storage: Optional[str] = None,
                       study_name: Optional[str] = None) -> Tuple[Path, Optional[Path]]:
    """Write ``report.html`` (or ``out``) and ``best.yaml`` into the study folder.

    Args:
        study_dir: the study folder.
        study: the loaded Optuna study; default: opened from the folder (``storage``, ``study_name``).
        space: the study's :class:`~gankit.search.space.Space`; default: the one stored with the study.
        out: the HTML file; default ``<study_dir>/report.html``.

    Returns:
        ``(report path, best.yaml path or None when no trial completed)``.
    """
    from gankit.io import atomic_write_text
    from gankit.search.space import parse_space
    from gankit.viz.report import html_page

    from gankit.search.study import study_folder

    start = time.perf_counter()
    study_dir = study_folder(study_dir)
    if study is None:
        study = open_study(study_dir, storage, study_name)
    identity = study.user_attrs.get("identity", {})
    if space is None:
        space = parse_space(identity.get("space", {}), f"study {study.study_name}")
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = study.best_trial if complete else None
    best_yaml = _write_best_yaml(study_dir, study.study_name, best) if best is not None else None
    key = identity.get("metric", "value")
    sections = [
        ("summary", "Summary", _summary(study, trials, best, key, space, best_yaml)),
        ("best", "Best trial's samples", _best_samples(best)),
        ("history", "Optimisation history", _history(study, complete, key)),
        ("importance", "Parameter importances", _importances(study, complete, space)),
        ("parallel", "Parallel coordinates", _parallel(study, complete, space)),
        ("slice", "Slices", _slices(study, complete, space)),
        ("trials", "Trials", _trial_table(trials, space, study_dir)),
    ]
    from gankit import __version__

    subtitle = (f"{study_dir.resolve()} · {len(trials)} trials · gankit {__version__} · written "
                f"{time.strftime('%Y-%m-%d %H:%M')} in {time.perf_counter() - start:.0f} s")
    out = Path(out) if out is not None else study_dir / "report.html"
    atomic_write_text(out, html_page(f"Study {study.study_name}", subtitle, sections))
    return out, best_yaml


def _write_best_yaml(study_dir: Path, name: str, best) -> Optional[Path]:
    from gankit.config import from_yaml_text, to_yaml
    from gankit.io import atomic_write_text

    text = best.user_attrs.get("config")
    if not text:
        return None
    cfg = from_yaml_text(text)
    cfg.name = f"{name}-best"
    cfg.out = best.user_attrs.get("out", "runs")  # the base config's, not the study's trials/ folder
    header = (f"# The best trial ({best.number}, value {best.value:.6g}) of study {name}: its full config.\n"
              "# Train it again with: gankit train --config best.yaml\n")
    return atomic_write_text(study_dir / "best.yaml", header + to_yaml(cfg))


def _summary(study, trials, best, key, space, best_yaml) -> str:
    from collections import Counter

    from gankit.viz.report import _note, _table

    counts = Counter(t.state.name for t in trials)
    rows = [("metric", key), ("direction", study.direction.name.lower()),
            ("trials", ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "none")]
    rows += [(f"space: {p.key}", p.describe().split(": ", 1)[1]) for p in space.params]
    if best is None:
        return _table(rows) + _note("No trial has completed yet, so there is no best trial and no best.yaml.")
    rows += [("best trial", best.number), (f"best {key}", best.value),
             *((f"best {k}", str(v)) for k, v in space.decode(best.params).items())]
    text = _table(rows)
    if best_yaml is not None:
        text += _note(f"{best_yaml} holds the best trial's full config: gankit train --config {best_yaml}")
    return text


def _best_samples(best) -> str:
    from gankit.viz.report import _img, _missing, _note

    if best is None:
        return _note("No completed trial yet.")
    run_dir = Path(best.user_attrs.get("run_dir", ""))
    grid = run_dir / "samples.png"
    if not grid.is_file():
        return _missing(f"{grid} (the best trial's run folder is not on this machine, or it has no samples)")
    return _img(grid, f"samples of trial {best.number}",
                f"Trial {best.number} ({run_dir}): fixed-noise samples at the end of training.", upscale_to=512)


def _need(complete, n: int, what: str) -> Optional[str]:
    from gankit.viz.report import _note

    if len(complete) >= n:
        return None
    return _note(f"{what} need at least {n} completed trial{'s' if n > 1 else ''}; this study has {len(complete)} "
                 "so far. Run more trials (rerun the same gankit tune command with a larger --trials).")


def _history(study, complete, key) -> str:
    from optuna.visualization.matplotlib import plot_optimization_history

    from gankit.viz.report import _img

    return _need(complete, 1, "The optimisation history") or _img(
        _plot(plot_optimization_history, study, target_name=key), "optimisation history",
        f"{key} of every completed trial in the order they ran, and the best so far.")


def _importances(study, complete, space) -> str:
    from optuna.visualization.matplotlib import plot_param_importances

    from gankit.viz.report import _img, _note

    missing = _need(complete, MIN_TRIALS_FOR_IMPORTANCE, "Parameter importances")
    if missing:
        return missing
    varied = [p.key for p in space.params if len({str(t.params.get(p.key)) for t in complete}) > 1]
    if not varied:
        return _note("Every completed trial has the same parameter values, so there is nothing to attribute.")
    values = {t.value for t in complete}
    if len(values) == 1 or not all(math.isfinite(v) for v in values):
        return _note("The completed trials' values are all equal, so no parameter explains a difference.")
    return _img(_plot(plot_param_importances, study, params=varied), "parameter importances",
                "fANOVA importance of each varied parameter for the objective (Optuna's default evaluator).")


def _parallel(study, complete, space) -> str:
    from optuna.visualization.matplotlib import plot_parallel_coordinate

    from gankit.viz.report import _img

    return _need(complete, 2, "Parallel coordinates") or _img(
        _plot(plot_parallel_coordinate, study, params=[p.key for p in space.params]), "parallel coordinates",
        "Each line is a completed trial: its parameter values and objective value.")


def _slices(study, complete, space) -> str:
    from optuna.visualization.matplotlib import plot_slice

    from gankit.viz.report import _img

    return _need(complete, 1, "Slice plots") or _img(
        _plot(plot_slice, study, params=[p.key for p in space.params]), "slices",
        "The objective against each parameter (colour: trial number).")


def _trial_table(trials, space, study_dir: Path) -> str:
    from gankit.viz.report import _note, _table

    if not trials:
        return _note("No trials yet.")
    keys = [p.key for p in space.params]
    rows = []
    for t in trials:
        params = space.decode(t.params)
        run_dir = t.user_attrs.get("run_dir", "")
        try:
            shown_dir = str(Path(run_dir).relative_to(study_dir.resolve()))
        except ValueError:
            shown_dir = run_dir
        seconds = round(t.duration.total_seconds()) if t.duration is not None else ""
        reason = t.user_attrs.get("fail_reason", "")
        reason = reason.splitlines()[0][:200] if reason else ""
        last = max(t.intermediate_values) if t.intermediate_values else ""
        rows.append((t.number, t.state.name.lower(), "" if t.value is None else t.value,
                     *(str(params.get(k, "")) for k in keys), t.user_attrs.get("seed", ""), last,
                     seconds, shown_dir, reason))
    return _table(rows, ["trial", "state", "value", *keys, "seed", "last eval step", "seconds", "run folder", "reason"])
