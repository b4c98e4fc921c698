"""A real browser opens report.html from disk: the page renders and every embedded image decodes."""

import base64
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.viz.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (Debian: apt-get install -y chromium)")

# Runs after every image has loaded and records what the browser decoded: [naturalWidth, naturalHeight].
PROBE = ("<script>window.addEventListener('load', () => {document.body.setAttribute('data-decoded', "
         "JSON.stringify(Array.from(document.images, i => [i.naturalWidth, i.naturalHeight])));});</script>")


def _chromium(*args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = gankit.train(overrides=["data.source=mnist5k", "data.resolution=16", "model.z_dim=8",
                                      "model.g.args.width=4", "model.d.args.width=4", "train.batch_size=8",
                                      "train.steps=4", "train.log_every=2", "train.sample_every=2",
                                      "train.checkpoint_every=4", "train.n_samples=16"],
                           run_dir=tmp_path_factory.mktemp("b") / "run", quiet=True).run_dir
        # metrics=[]: the offline evaluation has its own tests; this one is about rendering.
        return build_report(run, n_embed=20, n_memo=20, n_real=20, embed_methods=("pca",), metrics=[],
                            progress=lambda line: None)
    finally:
        torch.set_num_threads(before)


def test_screenshot_is_not_blank(report, tmp_path):
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,4000", report.as_uri())
    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("RGB")).astype(np.float64)
    assert pixels.shape == (4000, 1280, 3)
    assert pixels[10, 10].tolist() == [29.0, 35.0, 48.0]  # the header's colour #1d2330: the CSS was applied
    assert pixels.std() > 10  # text, plots and samples, not an empty page


def test_every_image_decodes_in_the_browser(report, tmp_path):
    html = report.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium("--dump-dom", probe.as_uri()).stdout
    decoded = json.loads(re.search(r'data-decoded="([^"]*)"', dom).group(1).replace("&quot;", '"'))
    expected = []
    for data in re.findall(r'<img[^>]* src="data:image/(?:png|gif);base64,([^"]+)"', html):
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            expected.append(list(im.size))
    assert len(expected) == 12  # 5 curves, samples, GIF, strip, interpolation, PCA, NN grid, histogram
    assert decoded == expected
