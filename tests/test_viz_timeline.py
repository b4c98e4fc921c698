"""Timeline: GIF frame count and labels, strip size, frame selection."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.viz.grid import save_grid
from gankit.viz.timeline import find_frames, make_timeline_gif, make_timeline_strip, select_evenly


def _fake_run(tmp_path, steps, size=4):
    for i, step in enumerate(steps):
        x = torch.full((4, 3, size, size), -1.0 + 0.2 * i)
        save_grid(x, tmp_path / "samples" / f"step-{step:07d}.png")
    (tmp_path / "samples" / "notes.txt").write_text("not a frame")
    return tmp_path


def test_find_frames_sorted_by_step(tmp_path):
    run = _fake_run(tmp_path, [500, 50, 1500])
    assert [s for s, _ in find_frames(run)] == [50, 500, 1500]
    assert find_frames(tmp_path / "nothing") == []


def test_gif_has_one_labelled_frame_per_grid(tmp_path):
    run = _fake_run(tmp_path, [10, 20, 30, 40, 50])
    gif = make_timeline_gif(find_frames(run), tmp_path / "t.gif", duration_ms=100, hold_last_ms=900)
    with Image.open(gif) as im:
        assert im.n_frames == 5
        assert im.info["loop"] == 0
        # A 2x2 grid of 4-pixel tiles is 14 px wide: enlarged x19 to >= 256 px, under a label band of
        # font size 22 (width // 12, at most 22) + 8 px.
        assert im.size == (14 * 19, 14 * 19 + 22 + 8)
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
    assert durations == [100, 100, 100, 100, 900]


def test_every_frame_carries_its_step(tmp_path):
    run = _fake_run(tmp_path, [10, 20])
    gif = make_timeline_gif(find_frames(run), tmp_path / "t.gif")
    bands = []
    with Image.open(gif) as im:
        for i in range(2):
            im.seek(i)
            bands.append(np.asarray(im.convert("L"))[:30])
    assert bands[0].min() < 128 and bands[1].min() < 128  # dark text on the white band
    assert not np.array_equal(bands[0], bands[1])  # "step 10" vs "step 20"


def test_gif_max_frames_keeps_first_and_last(tmp_path):
    run = _fake_run(tmp_path, range(10, 110, 10))
    frames = find_frames(run)
    gif = make_timeline_gif(frames, tmp_path / "t.gif", max_frames=4)
    with Image.open(gif) as im:
        assert im.n_frames == 4
    assert [s for s, _ in select_evenly(frames, 4)] == [10, 40, 70, 100]


def test_strip_width_is_frames_side_by_side(tmp_path):
    run = _fake_run(tmp_path, range(1, 9))
    strip = make_timeline_strip(find_frames(run), tmp_path / "s.png", n=6, gap=8, min_width=28)
    with Image.open(strip) as im:
        # Six frames of 14 px enlarged x2 = 28 px with 5 gaps of 8 px; label band: font 10 (the minimum) + 8.
        assert im.size == (6 * 28 + 5 * 8, 28 + 10 + 8)


def test_select_evenly_edge_cases():
    items = list(range(5))
    assert select_evenly(items, 10) == items
    assert select_evenly(items, 1) == [4]
    assert select_evenly(items, 2) == [0, 4]
    with pytest.raises(ValueError):
        select_evenly(items, 0)


def test_no_frames_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="sample_every"):
        make_timeline_gif([], tmp_path / "t.gif")
