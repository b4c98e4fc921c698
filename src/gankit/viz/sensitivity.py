"""Pictures of latent sensitivity (:mod:`gankit.tools.sensitivity`): a ranked bar chart and per-pixel maps."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from gankit.viz.io import save_figure


def plot_sensitivity(result, path: str | Path, top: Optional[int] = None) -> Path:
    """Bar chart of the directions' scores, most sensitive first.

    Args:
        result: :class:`gankit.tools.sensitivity.Sensitivity`.
        path: destination PNG.
        top: show only the ``top`` most sensitive (default all).

    Returns:
        The written path.
    """
    from matplotlib.figure import Figure

    order = result.ranking()[:top] if top else result.ranking()
    scores = [float(result.scores[i]) for i in order]
    names = [result.directions[i].name for i in order]
    fig = Figure(figsize=(min(14, 2 + 0.18 * len(order)), 3.4))
    ax = fig.add_subplot(111)
    ax.bar(range(len(order)), scores, color=["#d1495b" if result.directions[i].kind == "categorical" else "#30638e"
                                             for i in order])
    every = max(1, len(order) // 40)
    ax.set_xticks(range(0, len(order), every))
    ax.set_xticklabels(names[::every], rotation=90, fontsize=7)
    ax.set_ylabel("mean ||dG / dz_i||")
    ax.set_title(f"Latent sensitivity over {result.n} samples (central differences, h = {result.step:g})", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def sensitivity_maps(result, k: int = 8) -> torch.Tensor:
    """The per-pixel maps of the ``k`` most sensitive directions as images for ``save_grid``.

    Each map is scaled by its own maximum (black = no change, white = the direction's largest
    change), so the grid shows *where* each direction acts; compare magnitudes on the bar chart.

    Returns:
        float ``[k, 1, H, W]`` in [-1, 1].
    """
    if result.maps.dim() != 3:
        raise ValueError("per-pixel maps need an image generator")
    maps = result.maps[result.ranking()[:k]]
    peak = maps.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
    return (maps / peak * 2 - 1).unsqueeze(1)
