"""Memorisation check: are generated samples copies of training samples?

For each generated sample we find its nearest training samples (Euclidean, in a feature space;
pixels by default) and compare those distances with the same distances measured for real samples
the generator never saw. A generator that copies its training set has many generated samples much
closer to the training set than fresh real samples are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from gankit.viz.grid import grid_to_pil, make_grid
from gankit.viz.io import font, save_figure, save_image


@torch.no_grad()
def nearest_neighbours(queries: torch.Tensor, reference: torch.Tensor, k: int = 3,
                       exclude: Optional[torch.Tensor] = None, chunk: int = 4096) -> tuple:
    """The ``k`` nearest reference rows of every query row (Euclidean distance, float64).

    The reference is processed in chunks, so a large training set never sits in memory as float64.

    Args:
        queries: ``[Q, F]`` features.
        reference: ``[M, F]`` features (any dtype; converted chunk by chunk).
        k: neighbours per query (``k <= M``).
        exclude: ``[Q]`` reference index to skip for each query (leave-one-out when the queries are
            reference rows), or None.
        chunk: reference rows per distance computation.

    Returns:
        ``(distances [Q, k] float64 ascending, indices [Q, k] int64 into reference)``.
    """
    if queries.dim() != 2 or reference.dim() != 2 or queries.shape[1] != reference.shape[1]:
        raise ValueError(f"queries [Q, F] and reference [M, F] must share F; got {tuple(queries.shape)} "
                         f"and {tuple(reference.shape)}")
    m = reference.shape[0]
    if not 0 < k <= m - (1 if exclude is not None else 0):
        raise ValueError(f"k must be in 1..{m - (1 if exclude is not None else 0)} for {m} reference samples, got {k}")
    q = queries.detach().to(torch.float64)
    best_d = torch.full((q.shape[0], k), float("inf"), dtype=torch.float64, device=q.device)
    best_i = torch.zeros((q.shape[0], k), dtype=torch.long, device=q.device)
    for start in range(0, m, chunk):
        r = reference[start : start + chunk].detach().to(q.device, torch.float64)
        # float64: the fast |a|^2 + |b|^2 - 2ab expansion then leaves an exact copy at ~1e-6, not
        # at the ~1e-1 that float32 rounding gives for 3,072-pixel images.
        d = torch.cdist(q, r)
        if exclude is not None:
            local = exclude.to(q.device) - start
            rows = torch.nonzero((local >= 0) & (local < r.shape[0])).flatten()
            d[rows, local[rows]] = float("inf")
        cand_d = torch.cat([best_d, d], dim=1)
        cand_i = torch.cat([best_i, torch.arange(start, start + r.shape[0], device=q.device).expand(q.shape[0], -1)], 1)
        best_d, order = cand_d.topk(k, dim=1, largest=False, sorted=True)
        best_i = cand_i.gather(1, order)
    return best_d.cpu(), best_i.cpu()


def neighbour_grid(generated: torch.Tensor, train: torch.Tensor, indices: torch.Tensor, path: str | Path,
                   min_tile: int = 64, padding: int = 2) -> Path:
    """Save rows of ``generated | 1st NN | 2nd NN | ...`` with column headings.

    Args:
        generated: ``[Q, C, H, W]`` generated images in [-1, 1].
        train: ``[M, C, H, W]`` training images in [-1, 1].
        indices: ``[Q, k]`` indices into ``train`` (from :func:`nearest_neighbours`).
        path: destination PNG (written atomically).
        min_tile: small images are enlarged (nearest neighbour) to at least this many pixels wide
            so the columns and headings are readable.
        padding: pixels between tiles.

    Returns:
        The written path.
    """
    q, k = indices.shape
    if generated.shape[0] != q:
        raise ValueError(f"{generated.shape[0]} generated images but {q} rows of neighbour indices")
    rows = torch.cat([generated[:, None].float().cpu(), train[indices].float().cpu()], dim=1)  # [Q, 1+k, C, H, W]
    tiles = rows.flatten(0, 1)
    scale = max(1, -(-min_tile // tiles.shape[-1]))
    if scale > 1:
        tiles = F.interpolate(tiles, scale_factor=scale, mode="nearest")
    grid = grid_to_pil(make_grid(tiles, nrow=k + 1, padding=padding)).convert("RGB")
    tile_w = tiles.shape[-1]
    size = max(10, min(16, tile_w // 5))
    band = size + 8
    out = Image.new("RGB", (grid.width, grid.height + band), "white")
    out.paste(grid, (0, band))
    draw = ImageDraw.Draw(out)
    names = ["generated"] + [f"{_ordinal(j + 1)} NN" for j in range(k)]
    for j, name in enumerate(names):
        draw.text((padding + j * (tile_w + padding) + 2, 3), name, fill="black", font=font(size))
    return save_image(out, path)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def plot_distance_histogram(generated_d: torch.Tensor, real_d: torch.Tensor, path: str | Path,
                            real_label: str = "held-out real", space: str = "pixel space", bins: int = 40) -> Path:
    """Histogram of nearest-training-sample distances: generated samples vs real samples.

    Args:
        generated_d: ``[Q]`` distance of each generated sample to its nearest training sample.
        real_d: ``[R]`` the same for real samples not in the reference set.
        path: destination PNG (written atomically).
        real_label: legend name of the real distances (e.g. "held-out real").
        space: the feature space, for the axis label.
        bins: number of bins (shared by both histograms).

    Returns:
        The written path.
    """
    from matplotlib.figure import Figure

    g = torch.as_tensor(generated_d, dtype=torch.float64).flatten()
    r = torch.as_tensor(real_d, dtype=torch.float64).flatten()
    lo, hi = float(torch.cat([g, r]).min()), float(torch.cat([g, r]).max())
    edges = torch.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1).numpy()
    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.subplots()
    for values, name, colour in ((r, real_label, "0.4"), (g, "generated", "C3")):
        median = float(values.median())
        ax.hist(values.numpy(), bins=edges, density=True, histtype="stepfilled", alpha=0.35, color=colour,
                label=f"{name} (n={len(values)}, median {median:.3g})")
        ax.axvline(median, color=colour, linestyle="--", linewidth=1.2)
    ax.set_xlabel(f"L2 distance to the nearest training sample ({space})")
    ax.set_ylabel("density")
    ax.set_title("Nearest-neighbour distances: generated samples far closer than real ones suggest copying",
                 fontsize="small")
    ax.legend(fontsize="small")
    return save_figure(fig, path)


@dataclass
class MemorizationResult:
    """Distances and pictures of :func:`memorization_check`.

    Attributes:
        generated_d: ``[Q, k]`` distances of generated samples to their nearest training samples.
        generated_i: ``[Q, k]`` their indices in the training set.
        real_d: ``[R]`` nearest-training-sample distances of the real comparison samples.
        real_label: what those real samples are ("held-out real" or "training, leave-one-out").
        summary: medians, their ratio, and the fraction of generated samples closer to the
            training set than the 1st percentile of real samples (``close_fraction``).
        grid_path, hist_path: the written pictures.
    """

    generated_d: torch.Tensor
    generated_i: torch.Tensor
    real_d: torch.Tensor
    real_label: str
    summary: dict
    grid_path: Path
    hist_path: Path


def memorization_check(generated: torch.Tensor, train: torch.Tensor, out_dir: str | Path,
                       heldout: Optional[torch.Tensor] = None, generated_features: Optional[torch.Tensor] = None,
                       train_features: Optional[torch.Tensor] = None, heldout_features: Optional[torch.Tensor] = None,
                       k: int = 3, n_show: int = 8, n_real: int = 500, space: str = "pixel space",
                       seed: int = 0) -> MemorizationResult:
    """Nearest training neighbours of generated samples, shown and compared with real samples.

    Without ``heldout`` the real comparison is leave-one-out: ``n_real`` random training samples,
    each measured against the rest of the training set (a fair stand-in for unseen real data
    when no separate split exists; it is labelled so in the plot).

    Args:
        generated: ``[Q, C, H, W]`` generated images in [-1, 1].
        train: ``[M, C, H, W]`` training images in [-1, 1].
        out_dir: folder for ``memorization_nn.png`` and ``memorization_hist.png``.
        heldout: ``[R, C, H, W]`` real images not used for training, or None.
        generated_features, train_features, heldout_features: the same samples in a feature space;
            None uses the flattened pixels.
        k: neighbours per generated sample.
        n_show: rows in the picture: the generated samples closest to the training set (the likeliest copies).
        n_real: leave-one-out samples when ``heldout`` is None.
        space: name of the feature space, for labels.
        seed: picks the leave-one-out samples.

    Returns:
        A :class:`MemorizationResult`.
    """
    out_dir = Path(out_dir)
    gen_f = generated_features if generated_features is not None else generated.flatten(1)
    train_f = train_features if train_features is not None else train.flatten(1)
    gen_d, gen_i = nearest_neighbours(gen_f, train_f, k=k)
    if heldout is not None or heldout_features is not None:
        real_f = heldout_features if heldout_features is not None else heldout.flatten(1)
        real_d = nearest_neighbours(real_f, train_f, k=1)[0][:, 0]
        real_label = "held-out real"
    else:
        pick = torch.randperm(len(train_f), generator=torch.Generator().manual_seed(seed))[: min(n_real, len(train_f) - 1)]
        real_d = nearest_neighbours(train_f[pick], train_f, k=1, exclude=pick)[0][:, 0]
        real_label = "training, leave-one-out"
    show = gen_d[:, 0].argsort()[: min(n_show, len(gen_d))]
    grid_path = neighbour_grid(generated[show], train, gen_i[show], out_dir / "memorization_nn.png")
    hist_path = plot_distance_histogram(gen_d[:, 0], real_d, out_dir / "memorization_hist.png", real_label, space)
    g_med, r_med = float(gen_d[:, 0].median()), float(real_d.median())
    threshold = float(torch.quantile(real_d, 0.01))
    summary = {
        "generated_median": g_med,
        "real_median": r_med,
        "ratio": g_med / r_med if r_med > 0 else float("inf"),
        "close_fraction": float((gen_d[:, 0] < threshold).double().mean()),
        "real_p01": threshold,
    }
    return MemorizationResult(gen_d, gen_i, real_d, real_label, summary, grid_path, hist_path)
