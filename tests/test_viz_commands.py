"""`gankit interpolate` and `gankit timeline` on a tiny trained run."""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.training.checkpoint import load_run_generator

def noise(n, z_dim, seed):
    """gankit's fixed noise for a generator without a prior: a CPU standard gaussian seeded with ``seed``."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))



@pytest.fixture(scope="module")
def run(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return gankit.train(overrides=["data.source=mnist5k", "data.resolution=16", "model.z_dim=8",
                                       "model.g.args.width=4", "model.d.args.width=4", "train.batch_size=8",
                                       "train.steps=6", "train.log_every=2", "train.sample_every=2",
                                       "train.checkpoint_every=6", "train.n_samples=4"],
                            run_dir=tmp_path_factory.mktemp("c") / "run", quiet=True).run_dir
    finally:
        torch.set_num_threads(before)


def test_interpolate_writes_rows_of_steps_with_exact_ends(run, tmp_path, capsys):
    out = tmp_path / "interp.png"
    assert main(["interpolate", str(run), "--seeds", "4", "9", "2", "--steps", "5", "--mode", "lerp",
                 "--out", str(out)]) == 0
    assert "2 rows of 5" in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.size == (5 * 18 + 2, 2 * 18 + 2)  # 16-px images, 2-px padding
        grid = torch.from_numpy(np.asarray(im).copy())
    G, _ = load_run_generator(run)
    with torch.no_grad():
        seed9 = G(noise(1, G.z_dim, 9))[0, 0]
    expected = ((seed9.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(grid[2:18, 2 + 4 * 18 : 18 + 4 * 18], expected)  # row 0, last column: seed 9


def test_interpolate_classes_on_an_unconditional_run_is_a_usage_error(run, tmp_path, capsys):
    assert main(["interpolate", str(run), "--classes", "1", "2", "--out", str(tmp_path / "x.png")]) == 2
    assert "conditional generator" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_timeline_writes_gif_and_strip(run, tmp_path):
    gif, strip = tmp_path / "t.gif", tmp_path / "t.png"
    assert main(["timeline", str(run), "--out", str(gif), "--strip", str(strip), "--frames", "2"]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 3  # steps 2, 4, 6
    with Image.open(strip) as im:
        # Two frames of the 38-px grid enlarged x5 = 190 px (>= 160), 8-px gap; band: font 15 (190 // 12) + 8.
        assert im.size == (2 * 190 + 8, 190 + 15 + 8)


def test_timeline_without_frames_says_how_to_get_them(tmp_path, capsys):
    assert main(["timeline", str(tmp_path)]) == 2
    assert "sample_every" in capsys.readouterr().err
