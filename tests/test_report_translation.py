"""`gankit report` on a translation (cyclegan) run: A -> B -> A triplets for both directions, and
the noise-generator sections say that they do not apply instead of failing."""

import base64
import io
import re

import numpy as np
import torch
from PIL import Image

import gankit
from gankit.translate import load_translators, translate
from gankit.viz.grid import to_uint8
from gankit.viz.report import build_report
from test_objectives_cyclegan import TINY_CYCLEGAN


def _section(page: str, sid: str) -> str:
    return re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S).group(1)


def _images(section: str) -> list:
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(b))))
            for b in re.findall(r'src="data:image/png;base64,([^"]+)"', section)]


def test_report_shows_cycles_and_skips_the_noise_sections(tmp_path):
    torch.set_num_threads(1)
    run = gankit.train("cyclegan-mnist", overrides=TINY_CYCLEGAN + ["train.steps=2", f"out={tmp_path}"],
                       run_dir=tmp_path / "run", quiet=True).run_dir
    page = build_report(run, progress=lambda line: None).read_text()
    trans = _section(page, "translations")
    assert "rows: A, G_ab(A), G_ba(G_ab(A))" in trans and "rows: B, G_ba(B), G_ab(G_ba(B))" in trans
    grids = _images(trans)
    assert [g.shape for g in grids] == [(3 * 18 + 2, 2 * 18 + 2)] * 2  # 3 rows of the 2 fixed inputs, 16 px + 2 px
    nets = load_translators(run)
    a = nets.fixed["a"]
    there = translate(nets["a2b"], a)
    rows = [a, there, translate(nets["b2a"], there)]
    for r, expected in enumerate(rows):  # the a2b grid holds exactly A, G_ab(A), G_ba(G_ab(A))
        for c in range(2):
            tile = grids[0][2 + 18 * r: 18 + 18 * r, 2 + 18 * c: 18 + 18 * c]
            assert np.array_equal(tile, to_uint8(expected[c, 0]).numpy()), (r, c)
    for sid in ("interpolation", "embedding", "memorization", "toy2d"):
        body = _section(page, sid)
        assert "Not applicable: this &#x27;cyclegan&#x27; run translates images" in body, sid
        assert 'class="missing"' not in body, sid
    assert "fixed training images and their translations" in _section(page, "samples")
