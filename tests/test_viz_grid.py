"""Sample grids: pixel sizes, grey/RGB modes, class rows and the atomic write."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.models import build_generator
from gankit.viz.grid import class_grid, make_grid, sample, save_grid

def noise(n, z_dim, seed):
    """gankit's fixed noise for a generator without a prior: a CPU standard gaussian seeded with ``seed``."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))



@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models: one thread avoids spinning workers on a shared CPU.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _images(n, c, h, w, seed=0):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("c, mode", [(1, "L"), (3, "RGB")])
def test_save_grid_size_and_mode(tmp_path, c, mode):
    path = save_grid(_images(10, c, 8, 6), tmp_path / "sub" / "g.png", nrow=4, padding=2)
    with Image.open(path) as im:
        # 4 columns x 3 rows of 6x8 tiles with 2-pixel padding around and between.
        assert im.size == (4 * (6 + 2) + 2, 3 * (8 + 2) + 2)
        assert im.mode == mode
    assert [p.name for p in path.parent.iterdir()] == ["g.png"]  # no temporary file left behind


def test_default_nrow_is_square_and_pixels_are_exact(tmp_path):
    x = torch.tensor([-1.0, 0.0, 1.0, 0.5]).view(4, 1, 1, 1)
    path = save_grid(x, tmp_path / "g.png", padding=0)
    with Image.open(path) as im:
        assert im.size == (2, 2)
        assert np.asarray(im).ravel().tolist() == [0, 128, 255, 191]  # round((x + 1) * 127.5)


def test_make_grid_pads_with_pad_value():
    grid = make_grid(torch.ones(1, 1, 2, 2), padding=1, pad_value=7)
    expected = torch.full((1, 4, 4), 7, dtype=torch.uint8)
    expected[:, 1:3, 1:3] = 255
    assert torch.equal(grid, expected)


def test_save_grid_rejects_vectors(tmp_path):
    with pytest.raises(ValueError, match="plot_samples_2d"):
        save_grid(torch.zeros(5, 2), tmp_path / "g.png")


def test_class_grid_rows_are_classes_with_shared_noise():
    torch.manual_seed(0)
    G = build_generator("mlp", {"hidden": 16, "layers": 1, "conditioning": "concat"}, z_dim=4, out_shape=(1, 4, 4),
                        num_classes=3).eval()
    x = class_grid(G, n_per_class=2, seed=5)
    assert x.shape == (6, 1, 4, 4)
    with torch.no_grad():
        expected = G(noise(2, 4, 5).repeat(3, 1), torch.tensor([0, 0, 1, 1, 2, 2]))
    torch.testing.assert_close(x, expected)


def test_sample_uses_seeded_noise_and_cycles_labels():
    torch.manual_seed(0)
    G = build_generator("mlp", {"hidden": 16, "layers": 1, "conditioning": "concat"}, z_dim=4, out_shape=(1, 4, 4),
                        num_classes=3).eval()
    x, y = sample(G, 5, seed=3)
    assert y.tolist() == [0, 1, 2, 0, 1]
    with torch.no_grad():
        torch.testing.assert_close(x, G(noise(5, 4, 3), y))
