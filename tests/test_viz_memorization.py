"""Memorisation check: exact nearest neighbours, copies detected, pictures written."""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit.viz.memorization as memorization
from gankit.viz.grid import to_uint8
from gankit.viz.memorization import memorization_check, nearest_neighbours, neighbour_grid

from figures import axes_pixels, blend, capture_figures, colour_fraction


def _images(n, seed):
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_nearest_neighbours_match_brute_force_across_chunks():
    q, r = torch.randn(7, 5, generator=torch.Generator().manual_seed(0)), torch.randn(23, 5)
    d, i = nearest_neighbours(q, r, k=3, chunk=4)
    full = torch.cdist(q.double(), r.double())
    want_d, want_i = full.topk(3, dim=1, largest=False)
    assert torch.equal(i, want_i)
    torch.testing.assert_close(d, want_d)


def test_leave_one_out_skips_the_query_itself():
    r = torch.tensor([[0.0], [1.0], [3.0]])
    d, i = nearest_neighbours(r, r, k=1, exclude=torch.tensor([0, 1, 2]))
    assert i[:, 0].tolist() == [1, 0, 1]
    torch.testing.assert_close(d[:, 0], torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64))


def test_a_copying_generator_is_caught(tmp_path, monkeypatch):
    figures = capture_figures(monkeypatch, memorization)
    train = _images(40, 0)
    copies = train[[5, 9, 30]]
    fresh = torch.ones(3, 1, 6, 6) * torch.tensor([1.0, -1.0, 0.9]).view(3, 1, 1, 1)  # far from uniform noise
    result = memorization_check(torch.cat([copies, fresh]), train, tmp_path, k=2, n_show=3, n_real=20)
    assert result.generated_i[:3, 0].tolist() == [5, 9, 30]
    torch.testing.assert_close(result.generated_d[:3, 0], torch.zeros(3, dtype=torch.float64), atol=1e-6, rtol=0)
    assert result.summary["close_fraction"] == pytest.approx(3 / 6)  # the copies, not the fresh samples
    assert result.real_label == "training, leave-one-out" and len(result.real_d) == 20
    with Image.open(result.grid_path) as im:
        # 3 rows x (generated + 2 NN) tiles of 6 px enlarged x11 = 66 px, 2-px padding, 21-px heading band.
        assert im.size == (3 * 68 + 2, 3 * 68 + 2 + 13 + 8)
        grid = np.asarray(im.convert("L")).astype(np.int64)
    band, tile, pad = 13 + 8, 66, 2

    def tile_at(row, col):
        top, left = band + pad + row * (tile + pad), pad + col * (tile + pad)
        return grid[top:top + tile, left:left + tile]

    # Rows are the generated samples closest to the training set: the three copies, each shown
    # beside its 1st neighbour, the very training image it copies.
    for row in range(3):
        generated, first_nn, second_nn = (tile_at(row, col) for col in range(3))
        expected = np.kron(to_uint8(train).numpy()[:, 0], np.ones((11, 11), np.int64))  # x11, nearest
        hit = [k for k in (5, 9, 30) if np.array_equal(generated, expected[k])]
        assert len(hit) == 1 and np.array_equal(first_nn, expected[hit[0]])
        assert not np.array_equal(second_nn, first_nn)
    assert (grid[:band - 2] < 128).any()  # the column headings are drawn
    hist = figures[-1].axes[0]
    medians = sorted(line.get_xdata()[0] for line in hist.get_lines())
    assert medians == pytest.approx(sorted([float(result.generated_d[:, 0].median()), float(result.real_d.median())]))
    assert [t.get_text().split(" (")[0] for t in hist.get_legend().get_texts()] == ["training, leave-one-out",
                                                                                    "generated"]
    with Image.open(result.hist_path) as im:
        assert im.size == (700, 380)
        area = axes_pixels(np.asarray(im.convert("RGB")).astype(np.int64), hist)
    assert colour_fraction(area, blend((214, 39, 40), 0.35), tol=25) > 0.01  # the generated histogram's fill


def test_held_out_real_samples_are_used_when_given(tmp_path):
    train, heldout = _images(30, 0), _images(10, 2)
    result = memorization_check(_images(5, 3), train, tmp_path, heldout=heldout, k=1, n_show=2)
    assert result.real_label == "held-out real"
    want = torch.cdist(heldout.flatten(1).double(), train.flatten(1).double()).min(dim=1).values
    torch.testing.assert_close(result.real_d, want)


def test_neighbour_grid_checks_its_inputs(tmp_path):
    with pytest.raises(ValueError, match="rows of neighbour indices"):
        neighbour_grid(_images(2, 0), _images(5, 1), torch.zeros(3, 1, dtype=torch.long), tmp_path / "g.png")
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(torch.zeros(2, 3), torch.zeros(2, 3), k=3)
