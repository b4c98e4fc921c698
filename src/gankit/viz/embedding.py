"""Feature-space views: real and generated samples embedded in 2-D with t-SNE or PCA.

A generator that covers the data puts its points among the real ones; separate islands of
generated points are samples unlike any real one, and real clusters without generated points
are modes it dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from gankit.viz.io import save_figure

METHODS = ("tsne", "pca")


def project_2d(features: torch.Tensor, method: str = "tsne", seed: int = 0, threads: Optional[int] = 1) -> np.ndarray:
    """Embed feature vectors in 2-D.

    t-SNE first reduces to 50 dimensions with PCA (the usual practice: faster, less noise) and uses
    perplexity ``min(30, (N - 1) / 3)`` so that small sets work.

    Args:
        features: ``[N, F]`` with ``N >= 3``.
        method: "tsne" or "pca".
        seed: random state of the embedding.
        threads: BLAS/OpenMP threads for the computation; None keeps the libraries' default. One
            thread is the default because on a busy machine (e.g. next to a training run) spinning
            worker threads made t-SNE of 200 points take 35 s instead of 2.4 s on 2 cores.

    Returns:
        float ``[N, 2]`` numpy array.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return _project_2d(features, method, seed)


def _project_2d(features: torch.Tensor, method: str, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method not in METHODS:
        raise ValueError(f"embedding method must be one of {', '.join(METHODS)}, got '{method}'")
    x = torch.as_tensor(features).detach().to("cpu", torch.float64).flatten(1).numpy()
    n, f = x.shape
    if n < 3:
        raise ValueError(f"need at least 3 samples to embed, got {n}")
    if method == "pca" or f > 50:
        x = PCA(n_components=min(2 if method == "pca" else 50, n, f), random_state=seed).fit_transform(x)
    if method == "pca":
        # A 1-D feature space gives one component; pad so callers always get [N, 2].
        return np.pad(x, ((0, 0), (0, 2 - x.shape[1])))
    perplexity = min(30.0, (n - 1) / 3.0)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                random_state=seed).fit_transform(x)


def plot_embedding(real: torch.Tensor, fake: torch.Tensor, path: str | Path, method: str = "tsne",
                   real_labels: Optional[torch.Tensor] = None, fake_labels: Optional[torch.Tensor] = None,
                   class_names: Optional[Sequence[str]] = None, feature_name: str = "pixel", seed: int = 0) -> Path:
    """Embed real and generated features jointly and plot them: by source, and by class when known.

    Args:
        real: ``[N_r, F]`` features of real samples.
        fake: ``[N_g, F]`` features of generated samples (same feature space).
        path: destination PNG (written atomically).
        method: "tsne" or "pca".
        real_labels: ``[N_r]`` classes of the real samples, or None.
        fake_labels: ``[N_g]`` classes the generator was asked for (conditional models), or None.
        class_names: names for the class legend.
        feature_name: what the features are, for the title ("<feature_name> space"), e.g. "pixel".
        seed: random state of the embedding.

    Returns:
        The written path. One panel (by source) without labels, two panels (by source, by class)
        when at least one side has labels.
    """
    from matplotlib.figure import Figure

    real = torch.as_tensor(real).flatten(1)
    fake = torch.as_tensor(fake).flatten(1)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and generated features differ in size: {real.shape[1]} vs {fake.shape[1]}")
    xy = project_2d(torch.cat([real, fake]), method, seed)
    xy_r, xy_g = xy[: len(real)], xy[len(real):]
    has_labels = real_labels is not None or fake_labels is not None
    fig = Figure(figsize=(11 if has_labels else 6, 5.2), layout="constrained")
    # Shared axes: a point sits at the same place in both panels.
    axes = fig.subplots(1, 2 if has_labels else 1, squeeze=False, sharex=True, sharey=True)[0]
    ax = axes[0]
    ax.scatter(xy_r[:, 0], xy_r[:, 1], s=9, alpha=0.6, color="0.45", marker="o", label=f"real ({len(real)})")
    ax.scatter(xy_g[:, 0], xy_g[:, 1], s=12, alpha=0.7, color="C3", marker="x", linewidths=0.8,
               label=f"generated ({len(fake)})")
    ax.set_title("by source")
    ax.legend(fontsize="small")
    if has_labels:
        ax = axes[1]
        k = _num_classes(real_labels, fake_labels)
        span = 10 if k <= 10 else 20  # qualitative palettes; beyond 20 classes colours repeat
        cmap = f"tab{span}"
        for xy_part, labels, marker, size in ((xy_r, real_labels, "o", 9), (xy_g, fake_labels, "x", 12)):
            if labels is None:  # e.g. an unconditional generator: its points stay visible, without class
                ax.scatter(xy_part[:, 0], xy_part[:, 1], s=size, marker=marker, color="0.75", linewidths=0.8,
                           label="no class")
                continue
            ax.scatter(xy_part[:, 0], xy_part[:, 1], c=torch.as_tensor(labels).cpu().numpy() % span, cmap=cmap,
                       vmin=-0.5, vmax=span - 0.5, s=size, marker=marker, alpha=0.7, linewidths=0.8)
        _class_legend(ax, k, class_names, span)
        ax.set_title("by class (o real, x generated)")
    axis_name = "t-SNE" if method == "tsne" else "PC"
    for ax in axes:
        ax.set_xlabel(f"{axis_name} 1")
        ax.set_ylabel(f"{axis_name} 2")
        ax.grid(True, alpha=0.2)
    fig.suptitle(f"{'t-SNE' if method == 'tsne' else 'PCA'} of real vs generated samples in {feature_name} space",
                 fontsize="medium")
    return save_figure(fig, path)


def _num_classes(*label_sets) -> int:
    return max(int(torch.as_tensor(y).max()) + 1 for y in label_sets if y is not None and len(y))


def _class_legend(ax, k: int, class_names: Optional[Sequence[str]], span: int) -> None:
    import matplotlib

    cmap = matplotlib.colormaps[f"tab{span}"]
    shown = min(k, span)  # a legend of hundreds of classes is unreadable
    for c in range(shown):
        name = class_names[c] if class_names is not None and c < len(class_names) else str(c)
        ax.scatter([], [], color=cmap(c), s=20, label=name)
    # Outside the axes: the points of a class plot should never hide under its own legend.
    ax.legend(fontsize="x-small", ncol=2 if shown > 10 else 1, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title=None if shown == k else f"first {shown} of {k} classes")
