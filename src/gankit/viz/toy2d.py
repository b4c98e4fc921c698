"""Pictures of 2-D generators (ring and grid mixtures): samples over the true modes, and density."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from gankit.viz.io import save_figure


def _as_points(points: torch.Tensor, name: str = "points") -> torch.Tensor:
    points = torch.as_tensor(points).detach().to("cpu", torch.float64)
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must be [N, 2] (2-D vectors), got shape {tuple(points.shape)}")
    return points


def plot_limits(points: torch.Tensor, centres: Optional[torch.Tensor] = None, sigma: Optional[float] = None) -> tuple:
    """A square view ``(lo, hi)`` used for both axes.

    With centres, the view depends on the data alone (centres plus margin), so the frames of a
    training timeline share their axes; otherwise it spans the 0.5..99.5 percentiles of the points.

    Args:
        points: ``[N, 2]``.
        centres: ``[K, 2]`` true mode centres, or None.
        sigma: the modes' standard deviation (margin of 6 sigma), or None.

    Returns:
        ``(lo, hi)`` floats.
    """
    if centres is not None:
        c = _as_points(centres, "centres")
        lo, hi = float(c.min()), float(c.max())
        margin = max(0.15 * (hi - lo), 6 * float(sigma or 0.0), 1e-3)
    else:
        finite = points[torch.isfinite(points).all(dim=1)]
        if finite.numel() == 0:
            return -1.0, 1.0
        q = torch.quantile(finite.flatten(), torch.tensor([0.005, 0.995], dtype=finite.dtype))
        lo, hi = float(q[0]), float(q[1])
        margin = max(0.1 * (hi - lo), 1e-3)
    return lo - margin, hi + margin


def _outside(points: torch.Tensor, lo: float, hi: float) -> int:
    inside = torch.isfinite(points).all(dim=1) & (points >= lo).all(dim=1) & (points <= hi).all(dim=1)
    return int((~inside).sum())


def _draw_modes(ax, centres: Optional[torch.Tensor], sigma: Optional[float], colour: str = "red",
                marker_size: float = 40) -> None:
    from matplotlib.patches import Circle

    if centres is None:
        return
    c = _as_points(centres, "centres")
    ax.scatter(c[:, 0], c[:, 1], marker="+", s=marker_size, color=colour, linewidths=1, label="true mode centre",
               zorder=3)
    if sigma:
        for x, y in c.tolist():
            ax.add_patch(Circle((x, y), 3 * float(sigma), fill=False, edgecolor=colour, linewidth=1, zorder=3))
        # A proxy artist so that the legend explains the circles.
        ax.plot([], [], color=colour, linewidth=1, label="3-sigma circle")


def _legend(ax) -> None:
    legend = ax.legend(loc="upper right", fontsize="small")
    # Scatter points are drawn tiny (thousands of them); legend entries need a readable size.
    for handle in legend.legend_handles:
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([25])


def plot_samples_2d(points: torch.Tensor, path: str | Path, centres: Optional[torch.Tensor] = None,
                    sigma: Optional[float] = None, title: str = "Generated samples",
                    real: Optional[torch.Tensor] = None) -> Path:
    """Scatter generated 2-D points over the true mode centres with their 3-sigma circles.

    Args:
        points: ``[N, 2]`` generated points (natural units of the data).
        path: destination PNG (written atomically).
        centres: ``[K, 2]`` true mode centres, or None when unknown.
        sigma: standard deviation of each mode (circles of radius ``3 * sigma``), or None.
        title: figure title; the count of points outside the view is appended.
        real: optional ``[M, 2]`` real points drawn faintly underneath.

    Returns:
        The written path.
    """
    from matplotlib.figure import Figure

    points = _as_points(points)
    lo, hi = plot_limits(points, centres, sigma)
    fig = Figure(figsize=(4.6, 4.6), layout="constrained")
    ax = fig.subplots()
    if real is not None:
        r = _as_points(real, "real")
        ax.scatter(r[:, 0], r[:, 1], s=2, color="0.6", alpha=0.4, label="real", rasterized=True)
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.5, color="C0", label="generated", rasterized=True)
    _draw_modes(ax, centres, sigma)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    out = _outside(points, lo, hi)
    ax.set_title(f"{title} (n={len(points)}" + (f", {out} outside view)" if out else ")"), fontsize="medium")
    _legend(ax)
    return save_figure(fig, path)


def plot_density_2d(points: torch.Tensor, path: str | Path, centres: Optional[torch.Tensor] = None,
                    sigma: Optional[float] = None, bins: int = 120, title: str = "Generator density") -> Path:
    """The generator's density as a heat map: a 2-D histogram of many samples (log colour scale).

    Args:
        points: ``[N, 2]`` generated points; use thousands for a smooth map.
        path: destination PNG (written atomically).
        centres: ``[K, 2]`` true mode centres (marked), or None.
        sigma: mode standard deviation (3-sigma circles), or None.
        bins: histogram bins per axis.
        title: figure title.

    Returns:
        The written path.
    """
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    points = _as_points(points)
    if bins <= 0:
        raise ValueError(f"bins must be > 0, got {bins}")
    lo, hi = plot_limits(points, centres, sigma)
    finite = points[torch.isfinite(points).all(dim=1)]
    fig = Figure(figsize=(5.2, 4.6), layout="constrained")
    ax = fig.subplots()
    # Log colours: a collapsed generator piles most mass in one cell, which would hide the rest.
    counts, _, _, image = ax.hist2d(finite[:, 0].numpy(), finite[:, 1].numpy(), bins=bins,
                                    range=[[lo, hi], [lo, hi]], cmap="magma", norm=LogNorm(vmin=1), cmin=1)
    ax.set_facecolor("black")
    fig.colorbar(image, ax=ax, label="samples per bin")
    _draw_modes(ax, centres, sigma, colour="cyan", marker_size=15)
    if centres is not None:
        _legend(ax)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"{title} (n={len(points)}, {bins}x{bins} bins)", fontsize="medium")
    return save_figure(fig, path)


def modes_of(source: str) -> tuple:
    """True ``(centres [K, 2], sigma)`` of a 2-D toy data source, or ``(None, None)`` when unknown.

    The data module owns the geometry (``gankit.data.sources.toy2d.modes_of``); this only asks it.
    """
    try:
        from gankit.data.sources import toy2d as data_toy2d
    except ImportError:  # the toy sources are an optional part of the data package
        return None, None
    fn = getattr(data_toy2d, "modes_of", None)
    return fn(source) if fn is not None else (None, None)
