"""Pictures of discriminator saliency (:mod:`gankit.tools.saliency`): heat maps over the images."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from gankit.viz.io import save_figure

_LABELS = {"gradient": "|gradient|", "gradient_x_input": "|gradient x input|", "smoothgrad": "|SmoothGrad|"}


def _grey(x: torch.Tensor):
    """``[C, H, W]`` in [-1, 1] -> an array matplotlib shows (grey or RGB) in [0, 1]."""
    x = ((x.float().clamp(-1, 1) + 1) / 2).cpu()
    return x[0].numpy() if x.shape[0] == 1 else x.permute(1, 2, 0).numpy()


def _heat(s: torch.Tensor):
    """Saliency ``[C, H, W]`` -> its absolute value summed over channels, scaled to [0, 1] per image."""
    h = s.abs().sum(0)
    return (h / h.max().clamp_min(1e-12)).cpu().numpy()


def plot_saliency(groups: Sequence[tuple], path: str | Path, methods: Sequence[str]) -> Path:
    """One block per group (e.g. real and generated): a row of images titled with D's logit, then one
    row per method with the saliency as a heat map over the faded image.

    Args:
        groups: ``(title, images [N, C, H, W], {method: saliency [N, C, H, W], "logits": [N]})``.
        path: destination PNG.
        methods: the methods to draw, in row order.

    Returns:
        The written path.
    """
    from matplotlib.figure import Figure

    cols = max(len(g[1]) for g in groups)
    rows = len(groups) * (1 + len(methods))
    fig = Figure(figsize=(1.2 * cols + 1.4, 1.25 * rows))
    r = 0
    for title, images, sal in groups:
        for row_kind in [None, *methods]:
            for j in range(cols):
                ax = fig.add_subplot(rows, cols, r * cols + j + 1)
                ax.set_xticks([])
                ax.set_yticks([])
                if j >= len(images):
                    ax.axis("off")
                    continue
                if row_kind is None:
                    ax.imshow(_grey(images[j]), cmap="gray", vmin=0, vmax=1)
                    ax.set_title(f"D {float(sal['logits'][j]):+.2f}", fontsize=7)
                else:
                    ax.imshow(_grey(images[j]), cmap="gray", vmin=0, vmax=1, alpha=0.35)
                    ax.imshow(_heat(sal[row_kind][j]), cmap="inferno", alpha=0.75, vmin=0, vmax=1)
                if j == 0:
                    ax.set_ylabel(title if row_kind is None else _LABELS.get(row_kind, row_kind), fontsize=7)
            r += 1
    fig.suptitle("What D looks at: D's logit above each image, input saliency below (brighter = more)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_class_saliency(images: torch.Tensor, maps: torch.Tensor, path: str | Path,
                        class_names: Sequence[str]) -> Path:
    """Rows: images; columns: the image, then the saliency of each class's evidence.

    Args:
        images: ``[N, C, H, W]``.
        maps: ``[K, N, C, H, W]`` (:func:`gankit.tools.saliency.class_saliency`).
        path: destination PNG.
        class_names: ``K`` column titles.
    """
    from matplotlib.figure import Figure

    k, n = maps.shape[:2]
    fig = Figure(figsize=(1.0 * (k + 1) + 0.6, 1.05 * n + 0.5))
    for i in range(n):
        for j in range(k + 1):
            ax = fig.add_subplot(n, k + 1, i * (k + 1) + j + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.imshow(_grey(images[i]), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(_grey(images[i]), cmap="gray", vmin=0, vmax=1, alpha=0.35)
                ax.imshow(_heat(maps[j - 1, i]), cmap="inferno", alpha=0.75, vmin=0, vmax=1)
            if i == 0:
                ax.set_title("image" if j == 0 else str(class_names[j - 1]), fontsize=7)
    fig.suptitle("Per-class evidence: saliency of D's score for each class", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)
