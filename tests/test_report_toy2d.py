"""`gankit report` on a 2-D ring run: the 2-D section draws, the image-only sections say why not."""

import base64
import io
import re

import torch
from PIL import Image

import gankit
from gankit.viz.report import build_report


def test_ring_report(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = gankit.train("ring-gan", overrides=["train.steps=20", "train.log_every=10", "train.sample_every=10",
                                                  "train.checkpoint_every=20", "train.n_samples=100"],
                           run_dir=tmp_path / "ring", quiet=True).run_dir
        text = build_report(run, progress=lambda line: None).read_text(encoding="utf-8")
    finally:
        torch.set_num_threads(before)
    sections = dict(re.findall(r'<section id="(\w+)">(.*?)</section>', text, flags=re.S))
    toy = re.findall(r'<img src="data:image/png;base64,([^"]+)"', sections["toy2d"])
    sizes = []
    for data in toy:
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            sizes.append(im.size)
    assert sizes == [(460, 460), (520, 460)]  # scatter over the modes, density heat map
    for sid in ("interpolation", "embedding", "memorization"):
        assert "Not applicable: this run generates vectors" in sections[sid]
    # With no metric on record, the report evaluated the ring protocol (2,500 samples) itself.
    for key in ("modes", "hq_percent", "rkl"):
        assert f"<td>{key}</td>" in sections["metrics"]
    assert len(list((run / "eval").glob("report-*-2500.json"))) == 1
    assert sections["timeline"].count("<img") == 2
    assert "data:image/gif;base64," in sections["timeline"]
