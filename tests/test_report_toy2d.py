"""`gankit report` on a 2-D ring run: the 2-D section draws, the image-only sections say why not."""

import base64
import io
import re

import numpy as np
import torch
from PIL import Image

import gankit
import gankit.viz.toy2d as toy2d
from gankit.data.sources.toy2d import modes_of
from gankit.training.checkpoint import load_run_generator
from gankit.viz.grid import sample
from gankit.viz.report import build_report

from figures import axes_pixels, capture_figures


def test_ring_report(tmp_path, monkeypatch):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    figures = capture_figures(monkeypatch, toy2d)
    try:
        run = gankit.train("ring-gan", overrides=["train.steps=20", "train.log_every=10", "train.sample_every=10",
                                                  "train.checkpoint_every=20", "train.n_samples=100"],
                           run_dir=tmp_path / "ring", quiet=True).run_dir
        figures.clear()  # the run's own sample plots
        text = build_report(run, progress=lambda line: None).read_text(encoding="utf-8")
    finally:
        torch.set_num_threads(before)
    sections = dict(re.findall(r'<section id="(\w+)">(.*?)</section>', text, flags=re.S))
    toy = re.findall(r'<img src="data:image/png;base64,([^"]+)"', sections["toy2d"])
    pictures = []
    for data in toy:
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            pictures.append(np.asarray(im.convert("RGB")).astype(np.int64))
    assert [p.shape[1::-1] for p in pictures] == [(460, 460), (520, 460)]  # scatter over the modes, density
    # What the plots show: the run's generator's 2,500 (scatter) and 20,000 (density) points, over the ring.
    scatter_fig, density_fig = [f for f in figures if f.axes[0].get_title().split(" (")[0] in
                                ("Generated samples", "Generator density")][-2:]
    G, _ = load_run_generator(run)
    points, _ = sample(G, 2500, 0)
    centres, sigma = modes_of("ring")
    scatter_ax = scatter_fig.axes[0]
    generated, modes = scatter_ax.collections
    np.testing.assert_allclose(generated.get_offsets(), points.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(modes.get_offsets(), centres.numpy())
    lo, hi = scatter_ax.get_xlim()
    inside = ((points >= lo) & (points <= hi)).all(dim=1)
    assert inside.sum() > 100  # the view holds the points (limits come from the modes, padded)
    blue = axes_pixels(pictures[0], scatter_ax)
    assert int(((blue[..., 2] - blue[..., 0]) > 25).sum()) > 50  # and they reached the embedded picture
    counts = np.ma.filled(density_fig.axes[0].collections[0].get_array(), 0)
    dense, _ = sample(G, 20000, 1)
    dlo, dhi = density_fig.axes[0].get_xlim()
    assert counts.sum() == int(((dense >= dlo) & (dense <= dhi)).all(dim=1).sum())
    for sid in ("interpolation", "embedding", "memorization"):
        assert "Not applicable: this run generates vectors" in sections[sid]
    # With no metric on record, the report evaluated the ring protocol (2,500 samples) itself.
    for key in ("modes", "hq_percent", "rkl"):
        assert f"<td>{key}</td>" in sections["metrics"]
    assert len(list((run / "eval").glob("report-*-2500.json"))) == 1
    assert sections["timeline"].count("<img") == 2
    assert "data:image/gif;base64," in sections["timeline"]
