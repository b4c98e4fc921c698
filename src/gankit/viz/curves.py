"""Training curves from a run's ``stats.jsonl``: one PNG per group of statistics.

Each series is drawn twice, as in TensorBoard: the raw values faint, and an exponential moving
average (debiased, so the first points are not pulled towards zero) on top.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from gankit.viz.io import save_figure


@dataclass(frozen=True)
class Panel:
    """One axes of a group's figure: which statistic names it shows and its y-axis label."""

    title: str
    ylabel: str
    match: Callable[[str], bool]
    log_y: bool = False


@dataclass(frozen=True)
class Group:
    """A figure (one PNG, ``curves/<name>.png``) of one or more panels."""

    name: str
    title: str
    panels: tuple


def _prefix(p: str) -> Callable[[str], bool]:
    return lambda key: key.startswith(p)


_PROB_KEYS = ("D/real_prob", "D/fake_prob")

# Order matters: a key belongs to the first group whose panel matches it.
GROUPS: tuple = (
    Group("losses", "Losses", (Panel("Adversarial losses", "loss value", _prefix("loss/")),)),
    Group("d_outputs", "Discriminator outputs", (
        Panel("Mean raw logit", "D logit", lambda k: k.startswith("D/") and k not in _PROB_KEYS),
        Panel("Mean probability", "D(x) probability", lambda k: k in _PROB_KEYS),
    )),
    Group("grad_norms", "Gradient norms", (Panel("Gradient L2 norm", "L2 norm", _prefix("grad_norm/"), log_y=True),)),
    Group("penalties", "Regulariser penalties", (Panel("Penalty", "penalty value", _prefix("penalty/")),)),
    Group("lr", "Learning rates", (Panel("Learning rate", "learning rate", _prefix("lr/")),)),
    Group("throughput", "Throughput", (Panel("Training speed", "images / s", _prefix("perf/")),)),
    Group("metrics", "Evaluation metrics", ()),  # one panel per metric: their scales differ
)

_RESERVED = ("step", "time")


def read_stats(path: str | Path) -> List[dict]:
    """Read a ``stats.jsonl`` file: one JSON object per line, each with an int ``"step"``.

    A truncated last line (the run was killed mid-write) is dropped with a warning; a bad line
    elsewhere is an error naming the file and line.

    Returns:
        The records in file order.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            if i == len(lines) - 1:
                warnings.warn(f"{path}: ignoring the truncated last line {i + 1} ({e})", stacklevel=2)
                continue
            raise ValueError(f"{path} line {i + 1} is not JSON ({e}); the file is damaged") from None
        if not isinstance(rec, dict) or "step" not in rec:
            raise ValueError(f"{path} line {i + 1} has no \"step\" field; expected {{\"step\": int, ...}}")
        records.append(rec)
    return records


def series(records: Sequence[dict]) -> Dict[str, tuple]:
    """Split records into one ``(steps, values)`` pair of lists per statistic name.

    Non-numeric values are skipped; NaN/inf are kept (drawn as gaps) so that divergence is visible.
    """
    out: Dict[str, tuple] = {}
    for rec in records:
        for key, value in rec.items():
            if key in _RESERVED or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            steps, values = out.setdefault(key, ([], []))
            steps.append(rec["step"])
            values.append(float(value))
    return out


def ema_smooth(values: Sequence[float], weight: float) -> List[float]:
    """TensorBoard's smoothing: debiased exponential moving average.

    Args:
        values: the raw series.
        weight: smoothing in [0, 1); 0 returns the values unchanged.

    Returns:
        Smoothed values (same length); non-finite inputs stay non-finite and do not poison later points.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {weight}")
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight ** n))
    return out


def group_keys(keys: Sequence[str]) -> Dict[str, List[List[str]]]:
    """Assign statistic names to groups and panels.

    Returns:
        ``{group name: [[keys of panel 0], [keys of panel 1], ...]}`` for groups with data, in
        :data:`GROUPS` order, plus ``"other"`` (one panel) for names no group claims.
    """
    placed: Dict[str, List[List[str]]] = {}
    other: List[str] = []
    for key in sorted(keys):
        if key.startswith("metric/"):
            placed.setdefault("metrics", [])
            placed["metrics"].append([key])
            continue
        for group in GROUPS:
            hit = next((i for i, p in enumerate(group.panels) if p.match(key)), None)
            if hit is not None:
                panels = placed.setdefault(group.name, [[] for _ in group.panels])
                panels[hit].append(key)
                break
        else:
            other.append(key)
    ordered = {g.name: [p for p in placed[g.name] if p] for g in GROUPS if g.name in placed}
    if other:
        ordered["other"] = [other]
    return ordered


def _panel_style(group_name: str, keys: List[str]) -> tuple:
    """(title, ylabel, log_y) for one panel."""
    group = next((g for g in GROUPS if g.name == group_name), None)
    if group_name == "metrics":
        name = keys[0][len("metric/"):]
        return name.upper() if len(name) <= 4 else name, name, False
    if group is None or not group.panels:
        return "Other statistics", "value", False
    # Empty panels were dropped, so find the panel by what it matches.
    panel = next(p for p in group.panels if p.match(keys[0]))
    return panel.title, panel.ylabel, panel.log_y


def plot_group(name: str, panels: List[List[str]], data: Dict[str, tuple], path: Path, smoothing: float) -> Path:
    """Draw one group's figure (panels side by side) and save it as a PNG."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    title = next((g.title for g in GROUPS if g.name == name), "Other statistics")
    # Metrics are few, separate evaluations: smoothing them would invent a trend between points.
    smoothing = 0.0 if name == "metrics" else smoothing
    fig = Figure(figsize=(5.2 * len(panels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, keys in zip(axes, panels):
        ptitle, ylabel, log_y = _panel_style(name, keys)
        for j, key in enumerate(keys):
            steps, values = data[key]
            colour = f"C{j}"
            if smoothing > 0:
                ax.plot(steps, values, color=colour, alpha=0.25, linewidth=1)
            marker = "o" if len(steps) <= 20 else None  # sparse series (metrics) need visible points
            ax.plot(steps, ema_smooth(values, smoothing), color=colour, linewidth=1.8, marker=marker,
                    markersize=3, label=key)
        if log_y and all(v > 0 for k in keys for v in data[k][1] if math.isfinite(v)):
            ax.set_yscale("log")
            # "0.4" reads better than matplotlib's default "4 x 10^-1" on log axes.
            plain = FuncFormatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
        if len(panels) > 1 or name == "metrics":  # a lone panel's title would repeat the figure's
            ax.set_title(ptitle)
        ax.set_xlabel("step (generator updates)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    note = f"EMA smoothing {smoothing:g}, raw values faint" if smoothing > 0 else "raw values"
    fig.suptitle(f"{title}  ({note})", fontsize="medium")
    return save_figure(fig, path)


def plot_curves(run_dir: str | Path, smoothing: float = 0.6, out_dir: Optional[str | Path] = None) -> List[Path]:
    """Plot a run's ``stats.jsonl`` as one PNG per group that has data.

    Groups: losses, d_outputs (logits and probabilities), grad_norms, penalties, lr, throughput,
    metrics (one panel per metric), other (names no group claims).

    Args:
        run_dir: the run folder holding ``stats.jsonl``.
        smoothing: EMA weight in [0, 1) for the bold line (TensorBoard's slider).
        out_dir: where to write; default ``run_dir/curves``.

    Returns:
        The written PNG paths (``<out_dir>/<group>.png``), in group order; empty if there are no stats.
    """
    run_dir = Path(run_dir)
    stats_path = run_dir / "stats.jsonl"
    if not stats_path.is_file():
        raise FileNotFoundError(f"{stats_path} does not exist; is {run_dir} a gankit run folder?")
    data = series(read_stats(stats_path))
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "curves"
    return [plot_group(name, panels, data, out_dir / f"{name}.png", smoothing)
            for name, panels in group_keys(list(data)).items()]
