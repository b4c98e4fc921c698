"""2-D plots: sample scatter over the true modes and the density heat map."""

import math

import pytest
import torch
from PIL import Image

from gankit.data.sources.toy2d import modes_of as data_modes_of
from gankit.viz.toy2d import modes_of, plot_density_2d, plot_limits, plot_samples_2d


def _ring_points(n=500, seed=0):
    centres, sigma = data_modes_of("ring")
    g = torch.Generator().manual_seed(seed)
    return centres[torch.randint(8, (n,), generator=g)] + sigma * torch.randn(n, 2, generator=g), centres, sigma


def test_scatter_and_density_write_images_of_the_figure_size(tmp_path):
    points, centres, sigma = _ring_points()
    scatter = plot_samples_2d(points, tmp_path / "s.png", centres=centres, sigma=sigma, real=points[:50])
    density = plot_density_2d(points, tmp_path / "d.png", centres=centres, sigma=sigma, bins=40)
    with Image.open(scatter) as a, Image.open(density) as b:
        assert a.size == (460, 460)  # 4.6 x 4.6 in at 100 dpi
        assert b.size == (520, 460)  # 5.2 x 4.6 in: room for the colour bar


def test_without_centres(tmp_path):
    points = torch.randn(300, 2, generator=torch.Generator().manual_seed(1))
    with Image.open(plot_samples_2d(points, tmp_path / "s.png")) as im:
        assert im.size == (460, 460)


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
