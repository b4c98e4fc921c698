"""Training curves: one PNG per group with data, TensorBoard-style smoothing, robust reading."""

import json

import pytest
from PIL import Image

from gankit.viz.curves import ema_smooth, group_keys, plot_curves, read_stats


def _write_stats(run_dir, rows):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _rows(keys, steps=range(0, 100, 10)):
    return [{"step": s, "time": s / 10, **{k: 1.0 + s / 100 + i for i, k in enumerate(keys)}} for s in steps]


ALL_KEYS = ["loss/D", "loss/G", "D/real", "D/fake", "D/real_prob", "D/fake_prob", "grad_norm/D", "grad_norm/G",
            "penalty/gp", "lr/G", "lr/D", "perf/images_per_s", "metric/fid", "metric/is"]


def test_one_png_per_group_present(tmp_path):
    _write_stats(tmp_path / "run", _rows(ALL_KEYS))
    paths = plot_curves(tmp_path / "run")
    assert [p.name for p in paths] == ["losses.png", "d_outputs.png", "grad_norms.png", "penalties.png", "lr.png",
                                       "throughput.png", "metrics.png"]
    assert all(p.parent == tmp_path / "run" / "curves" for p in paths)
    for p in paths:
        with Image.open(p) as im:
            im.verify()  # a complete, valid PNG


def test_only_groups_with_data_and_unknown_names_in_other(tmp_path):
    _write_stats(tmp_path / "run", _rows(["loss/D", "my/custom"]))
    paths = plot_curves(tmp_path / "run", out_dir=tmp_path / "out")
    assert [p.name for p in paths] == ["losses.png", "other.png"]
    # Logits and probabilities get separate panels (different scales), as does every metric.
    assert group_keys(["D/real", "D/real_prob", "metric/fid", "metric/is"]) == {
        "d_outputs": [["D/real"], ["D/real_prob"]], "metrics": [["metric/fid"], ["metric/is"]]}


def test_multi_panel_figure_is_wider(tmp_path):
    _write_stats(tmp_path / "run", _rows(["loss/D", "D/real", "D/real_prob"]))
    losses, d_outputs = plot_curves(tmp_path / "run")
    with Image.open(losses) as a, Image.open(d_outputs) as b:
        assert (a.size, b.size) == ((520, 360), (1040, 360))  # 5.2 in per panel x 3.6 in at 100 dpi


def test_ema_smooth_matches_tensorboard_debiasing():
    # last = 0.5 * last + 0.5 * v; smoothed = last / (1 - 0.5 ** n)
    assert ema_smooth([2.0, 4.0, 8.0], 0.5) == pytest.approx([2.0, (0.5 + 2.0) / 0.75, (1.25 + 4.0) / 0.875])
    assert ema_smooth([1.0, 3.0], 0.0) == [1.0, 3.0]
    nan_kept = ema_smooth([1.0, float("nan"), 1.0], 0.6)
    assert nan_kept[0] == pytest.approx(1.0) and nan_kept[2] == pytest.approx(1.0) and nan_kept[1] != nan_kept[1]


def test_truncated_last_line_is_dropped_with_a_warning(tmp_path):
    path = tmp_path / "stats.jsonl"
    path.write_text('{"step": 1, "loss/D": 1.0}\n{"step": 2, "loss')
    with pytest.warns(UserWarning, match="truncated last line 2"):
        assert read_stats(path) == [{"step": 1, "loss/D": 1.0}]


def test_damaged_middle_line_is_an_error(tmp_path):
    path = tmp_path / "stats.jsonl"
    path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_stats(path)


def test_missing_stats_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="stats.jsonl"):
        plot_curves(tmp_path)
