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


# Where the browser laid out the sample grid: [left, top, width, height] in CSS pixels.
BOX_PROBE = ("<script>window.addEventListener('load', () => {const r = document.querySelector('#samples img')"
             ".getBoundingClientRect(); document.body.setAttribute('data-box', JSON.stringify("
             "[r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]));});</script>")


def _screenshot(page, path, size="1280,4000"):
    _chromium(f"--screenshot={path}", f"--window-size={size}", "--force-device-scale-factor=1", page.as_uri())
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.float64)


def test_screenshot_shows_the_sample_grid(report, tmp_path):
    html = report.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", BOX_PROBE + "</body>"), encoding="utf-8")
    dom = _chromium("--window-size=1280,4000", "--force-device-scale-factor=1", "--dump-dom", probe.as_uri()).stdout
    left, top, width, height = (int(round(v)) for v in json.loads(re.search(r'data-box="([^"]*)"', dom).group(1)))
    assert width > 50 and height > 50 and top + height < 4000
    pixels = _screenshot(probe, tmp_path / "shot.png")
    assert pixels.shape == (4000, 1280, 3)
    assert pixels[10, 10].tolist() == [29.0, 35.0, 48.0]  # the header's colour #1d2330: the CSS was applied
    # The screenshot shows the embedded sample grid where the layout put it: the same picture,
    # not a blank or uniform box (a page without the image, or with a broken one, fails here).
    samples = re.search(r'<section id="samples">.*?<img[^>]* src="data:image/png;base64,([^"]+)"', html, re.S)
    with Image.open(io.BytesIO(base64.b64decode(samples.group(1)))) as im:
        expected = np.asarray(im.convert("L").resize((width, height), Image.Resampling.BILINEAR), np.float64)
    shown = pixels[top:top + height, left:left + width].mean(axis=2)
    assert shown.std() > 20
    inner = (slice(2, -2), slice(2, -2))  # edge pixels blend with the page under rounding
    assert np.corrcoef(shown[inner].ravel(), expected[inner].ravel())[0, 1] > 0.9
    # A page with the same header and no content differs: the check above is not satisfied by chrome alone.
    blank = tmp_path / "blank.html"
    blank.write_text(re.sub(r"<main.*</main>|<section.*</section>", "", html, flags=re.S), encoding="utf-8")
    empty = _screenshot(blank, tmp_path / "blank.png")[top:top + height, left:left + width].mean(axis=2)
    assert empty.std() < 20 or np.corrcoef(empty[inner].ravel(), expected[inner].ravel())[0, 1] < 0.5


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
    # 5 curves, samples, GIF, strip, interpolation, PCA, NN grid, histogram, 3 sensitivity
    # (ranking, walk grid, maps) and 1 saliency (unconditional D)
    assert len(expected) == 16
    assert decoded == expected
