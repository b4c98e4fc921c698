"""2-D plots: sample scatter over the true modes and the density heat map."""

import math

import numpy as np
import pytest
import torch
from matplotlib.patches import Circle

import gankit.viz.toy2d as toy2d
from gankit.data.sources.toy2d import modes_of as data_modes_of
from gankit.viz.toy2d import modes_of, plot_density_2d, plot_limits, plot_samples_2d

from figures import axes_pixels, capture_figures, colour_fraction, data_pixel, png_rgb


def _ring_points(n=500, seed=0):
    centres, sigma = data_modes_of("ring")
    g = torch.Generator().manual_seed(seed)
    return centres[torch.randint(8, (n,), generator=g)] + sigma * torch.randn(n, 2, generator=g), centres, sigma


RED = (255, 0, 0)  # mode centres and 3-sigma circles


def _bluish(region) -> int:
    """Pixels of the generated points' colour (C0, alpha 0.5 over white or over each other)."""
    return int(((region[..., 2] - region[..., 0]) > 25).sum())


def test_scatter_shows_the_points_over_the_modes(tmp_path, monkeypatch):
    points, centres, sigma = _ring_points()
    figures = capture_figures(monkeypatch, toy2d)
    path = plot_samples_2d(points, tmp_path / "s.png", centres=centres, sigma=sigma, real=points[:50])
    (fig,) = figures
    ax = fig.axes[0]
    real, generated, modes = ax.collections
    np.testing.assert_array_equal(generated.get_offsets(), points.numpy())
    np.testing.assert_array_equal(real.get_offsets(), points[:50].numpy())
    np.testing.assert_array_equal(modes.get_offsets(), centres.numpy())
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert [c.center for c in circles] == [tuple(c) for c in centres.tolist()]
    assert all(c.radius == pytest.approx(3 * sigma) for c in circles)
    assert ax.get_title() == "Generated samples (n=500)"
    pixels = png_rgb(path)
    assert pixels.shape == (460, 460, 3)  # 4.6 x 4.6 in at 100 dpi
    # The points reached the picture: blue around every mode, nothing at the ring's empty centre.
    for x, y in centres.tolist():
        px, py = ax.transData.transform((x, y))
        window = pixels[int(460 - py) - 6:int(460 - py) + 7, int(px) - 6:int(px) + 7]
        assert _bluish(window) > 5, (x, y)
        assert colour_fraction(window, RED, tol=60) > 0.02, (x, y)  # the centre's + and circle
    assert (data_pixel(pixels, ax, 0.0, 0.0) == 255).all()


def test_scatter_without_centres(tmp_path, monkeypatch):
    points = torch.randn(300, 2, generator=torch.Generator().manual_seed(1))
    figures = capture_figures(monkeypatch, toy2d)
    path = plot_samples_2d(points, tmp_path / "s.png")
    ax = figures[0].axes[0]
    (generated,) = ax.collections
    np.testing.assert_array_equal(generated.get_offsets(), points.numpy())
    assert not ax.patches
    pixels = png_rgb(path)
    assert pixels.shape == (460, 460, 3)
    plot_area = axes_pixels(pixels, ax)
    assert _bluish(plot_area) > 300 and colour_fraction(plot_area, RED, tol=60) == 0


def test_density_counts_every_point_and_lights_the_modes(tmp_path, monkeypatch):
    points, centres, sigma = _ring_points()
    figures = capture_figures(monkeypatch, toy2d)
    path = plot_density_2d(points, tmp_path / "d.png", centres=centres, sigma=sigma, bins=40)
    ax = figures[0].axes[0]
    counts = np.ma.filled(ax.collections[0].get_array(), 0)
    lo, hi = plot_limits(points, centres, sigma)
    expected, xedges, yedges = np.histogram2d(points[:, 0].numpy(), points[:, 1].numpy(), bins=40,
                                              range=[[lo, hi], [lo, hi]])
    np.testing.assert_array_equal(counts, expected.T)  # QuadMesh rows are y bins
    assert counts.sum() == len(points)
    pixels = png_rgb(path)
    assert pixels.shape == (460, 520, 3)  # 5.2 x 4.6 in: room for the colour bar
    assert (data_pixel(pixels, ax, 0.0, 0.0) == 0).all()  # empty bins show the black background
    # The fullest bin is drawn in the top colours of magma (bright yellow-white, unlike the cyan marks).
    iy, ix = np.unravel_index(counts.argmax(), counts.shape)
    px, py = ax.transData.transform(((xedges[ix] + xedges[ix + 1]) / 2, (yedges[iy] + yedges[iy + 1]) / 2))
    window = pixels[int(460 - py) - 2:int(460 - py) + 3, int(px) - 2:int(px) + 3].reshape(-1, 3)
    assert ((window[:, 0] > 200) & (window[:, 1] > 150)).any(), window


def test_limits_come_from_the_centres_so_timeline_frames_align():
    _, centres, sigma = _ring_points()
    far = torch.tensor([[50.0, 50.0]])
    assert plot_limits(far, centres, sigma) == plot_limits(torch.zeros(1, 2), centres, sigma)
    lo, hi = plot_limits(far, centres, sigma)
    assert (lo, hi) == pytest.approx((-1.0 - 0.3, 1.0 + 0.3))  # margin max(15% of 2, 6 sigma = 0.06)


def test_modes_of_asks_the_data_module():
    centres, sigma = modes_of("ring")
    assert sigma == 0.01
    torch.testing.assert_close(centres[2], torch.tensor([math.cos(math.pi / 2), 1.0]))
    assert modes_of("mnist5k") == (None, None)


def test_points_must_be_2d(tmp_path):
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        plot_samples_2d(torch.zeros(4, 3), tmp_path / "s.png")
