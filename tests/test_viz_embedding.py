"""t-SNE / PCA views of real vs generated features."""

import numpy as np
import pytest
import torch

import gankit.viz.embedding as embedding
from gankit.viz.embedding import plot_embedding, project_2d

from figures import blend, capture_figures, colour_fraction, png_rgb


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
def test_plot_shows_both_sets_where_the_projection_puts_them(tmp_path, monkeypatch, labels, size):
    real, fake = _two_blobs()
    y = torch.arange(20) % 3 if labels else None
    figures = capture_figures(monkeypatch, embedding)
    path = plot_embedding(real, fake, tmp_path / "e.png", method="pca", real_labels=y, fake_labels=None,
                          class_names=["a", "b", "c"])
    (fig,) = figures
    xy = project_2d(torch.cat([real, fake]), "pca", 0)
    by_source = fig.axes[0]
    real_dots, fake_dots = by_source.collections
    np.testing.assert_allclose(real_dots.get_offsets(), xy[:20])
    np.testing.assert_allclose(fake_dots.get_offsets(), xy[20:])
    assert [t.get_text() for t in by_source.get_legend().get_texts()] == ["real (20)", "generated (20)"]
    pixels = png_rgb(path)
    assert pixels.shape[1::-1] == size
    # The two blobs land in the picture: grey dots around the real centroid, red crosses around the other.
    grey, red = blend((115, 115, 115), 0.6), blend((214, 39, 40), 0.7)
    for centroid, colour in ((xy[:20].mean(0), grey), (xy[20:].mean(0), red)):
        px, py = by_source.transData.transform(centroid)
        top = pixels.shape[0] - int(py)
        assert colour_fraction(pixels[top - 40:top + 40, int(px) - 40:int(px) + 40], colour, tol=45) > 0.005
    if labels:
        by_class = fig.axes[1]
        real_by_class, fake_unlabelled = by_class.collections[:2]  # (then the legend's class swatches)
        np.testing.assert_array_equal(real_by_class.get_array(), (y % 10).numpy())
        np.testing.assert_allclose(real_by_class.get_offsets(), xy[:20])
        np.testing.assert_allclose(fake_unlabelled.get_offsets(), xy[20:])
    else:
        assert len(fig.axes) == 1


def test_mismatched_features_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="differ in size"):
        plot_embedding(torch.zeros(5, 3), torch.zeros(5, 4), tmp_path / "e.png")
    with pytest.raises(ValueError, match="tsne, pca"):
        project_2d(torch.zeros(5, 3), "umap")
