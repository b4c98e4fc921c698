"""Training curves: one PNG per group with data, TensorBoard-style smoothing, robust reading."""

import json

import pytest
from PIL import Image

import gankit.viz.curves as curves
from gankit.viz.curves import ema_smooth, group_keys, plot_curves, read_stats

from figures import axes_pixels, capture_figures, colour_fraction, png_rgb


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


def test_curves_plot_the_recorded_values_raw_and_smoothed(tmp_path, monkeypatch):
    rows = [{"step": s, "loss/D": 1.0 + (-1) ** (s // 10) * 0.5, "loss/G": 3.0 - s / 50,
             "grad_norm/D": 10.0 ** (s / 50)} for s in range(0, 100, 10)]
    _write_stats(tmp_path / "run", rows)
    figures = capture_figures(monkeypatch, curves)
    paths = plot_curves(tmp_path / "run", smoothing=0.6)
    losses_fig, grads_fig = figures
    steps = [r["step"] for r in rows]
    (ax,) = losses_fig.axes
    lines = ax.get_lines()
    assert len(lines) == 4  # per key: the faint raw line, then the bold smoothed one
    for (raw, smooth), key, colour in zip((lines[:2], lines[2:]), ("loss/D", "loss/G"), ("C0", "C1")):
        values = [r[key] for r in rows]
        assert list(raw.get_xdata()) == steps and list(raw.get_ydata()) == values
        assert list(smooth.get_ydata()) == pytest.approx(ema_smooth(values, 0.6))
        assert smooth.get_label() == key and raw.get_alpha() == 0.25
        assert smooth.get_color() == raw.get_color() == colour
    (g_ax,) = grads_fig.axes
    assert g_ax.get_yscale() == "log"  # gradient norms span decades
    # The bold lines reached the picture: both colours cover a visible share of the plotting area.
    area = axes_pixels(png_rgb(paths[0]), ax)
    assert colour_fraction(area, (31, 119, 180), tol=30) > 0.003
    assert colour_fraction(area, (255, 127, 14), tol=30) > 0.003


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
