"""t-SNE / PCA views of real vs generated features."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.viz.embedding import plot_embedding, project_2d


def _two_blobs(n=20, dim=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g) + 10


def test_pca_matches_the_principal_axis():
    # Points on a line along (1, 1, 0): the first component is the position on the line (up to sign).
    t = torch.linspace(-2, 2, 9, dtype=torch.float64)
    x = torch.stack([t, t, torch.zeros_like(t)], dim=1)
    xy = project_2d(x, "pca")
    assert xy.shape == (9, 2)
    np.testing.assert_allclose(np.abs(xy[:, 0]), np.abs(t.numpy()) * np.sqrt(2), atol=1e-9)
    np.testing.assert_allclose(xy[:, 1], 0, atol=1e-9)


def test_tsne_separates_far_apart_blobs():
    real, fake = _two_blobs()
    xy = project_2d(torch.cat([real, fake]), "tsne")
    assert xy.shape == (40, 2)
    # Every point is closer to its own blob's centre than to the other's.
    c_real, c_fake = xy[:20].mean(0), xy[20:].mean(0)
    d = lambda p, c: np.linalg.norm(p - c, axis=1)  # noqa: E731
    assert (d(xy[:20], c_real) < d(xy[:20], c_fake)).all() and (d(xy[20:], c_fake) < d(xy[20:], c_real)).all()


@pytest.mark.parametrize("labels, size", [(False, (600, 520)), (True, (1100, 520))])
def test_plot_has_a_class_panel_when_labels_exist(tmp_path, labels, size):
    real, fake = _two_blobs()
    y = torch.arange(20) % 3 if labels else None
    path = plot_embedding(real, fake, tmp_path / "e.png", method="pca", real_labels=y, fake_labels=None,
                          class_names=["a", "b", "c"])
    with Image.open(path) as im:
        assert im.size == size


def test_mismatched_features_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="differ in size"):
        plot_embedding(torch.zeros(5, 3), torch.zeros(5, 4), tmp_path / "e.png")
    with pytest.raises(ValueError, match="tsne, pca"):
        project_2d(torch.zeros(5, 3), "umap")
