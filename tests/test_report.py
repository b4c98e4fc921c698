"""`gankit report`: every section present, nothing external, missing inputs explained."""

import base64
import io
import json
from html.parser import HTMLParser

import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.viz.curves import group_keys, read_stats, series
from gankit.viz.report import SECTIONS, build_report

# A tiny conditional DCGAN on the embedded digits: exercises class rows and class interpolation.
TINY_CGAN = [
    "data.source=mnist5k", "data.resolution=16", "model.z_dim=8", "model.conditional=true",
    "model.g.args.width=4", "model.d.args.width=4", "model.g.args.conditioning=concat",
    "model.d.args.conditioning=concat", "train.batch_size=8", "train.steps=6", "train.log_every=2",
    "train.sample_every=2", "train.checkpoint_every=6", "train.n_samples=10",
]


class Page(HTMLParser):
    """Collects what the checks need: section ids, images per section, links, tags, text."""

    def __init__(self):
        super().__init__()
        self.sections, self.images, self.hrefs, self.tags, self.missing = [], {}, [], set(), {}
        self.notes = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag == "img":
            self.images.setdefault(self.sections[-1], []).append(attrs)
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "p" and attrs.get("class") in ("missing", "note") and self.sections:
            bucket = self.missing if attrs["class"] == "missing" else self.notes
            bucket[self.sections[-1]] = bucket.get(self.sections[-1], 0) + 1


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    torch.set_num_threads(1)
    run = gankit.train(overrides=TINY_CGAN, run_dir=tmp_path_factory.mktemp("r") / "cgan", quiet=True).run_dir
    (run / "eval").mkdir()
    (run / "eval" / "final.json").write_text(json.dumps({"values": {"fid": 123.25}, "protocol": {"n": 10}}))
    with open(run / "stats.jsonl", "a") as fh:  # as the trainer logs in-training evaluations
        fh.write(json.dumps({"step": 4, "time": 1.0, "metric/fid": 80.5}) + "\n")
        fh.write(json.dumps({"step": 6, "time": 2.0, "metric/fid": 90.0}) + "\n")
    return run


def _decode(src):
    head, data = src.split(",", 1)
    assert head in ("data:image/png;base64", "data:image/gif;base64")
    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        im.load()
        return im.size


def test_report_sections_images_and_no_external_reference(cgan_run, capsys):
    out = cgan_run / "r.html"
    assert main(["report", str(cgan_run), "--out", str(out), "--n-embed", "25", "--n-memo", "20"]) == 0
    text = out.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    assert page.sections == list(SECTIONS)
    # Nothing that could load or link anything outside the file.
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert not page.tags & {"script", "link", "iframe", "object", "embed", "source", "base"}
    assert all(h.startswith("#") and h[1:] in SECTIONS for h in page.hrefs)
    for imgs in page.images.values():
        for img in imgs:
            assert img["src"].startswith("data:image/")
            w, h = _decode(img["src"])
            shown_w, shown_h = int(img["width"]), int(img["height"])
            # Shown at the natural size, or enlarged by one whole factor (small sample grids).
            assert shown_w % w == 0 and shown_h % h == 0 and shown_w // w == shown_h // h
    groups = group_keys(list(series(read_stats(cgan_run / "stats.jsonl"))))
    counts = {sid: len(page.images.get(sid, [])) for sid in SECTIONS}
    assert counts == {"config": 0, "meta": 0, "metrics": 0, "curves": len(groups), "samples": 1, "translations": 0,
                      "timeline": 2, "interpolation": 2, "codes": 0, "sensitivity": 3, "saliency": 2, "cas": 0,
                      "embedding": 2, "memorization": 2, "toy2d": 0}
    assert page.missing == {}  # every input of this run exists
    assert '<td>fid</td><td class="num">123.2</td>' in text  # from eval/final.json
    assert "<td>80.5 (step 4)</td>" in text  # best in-training FID: lower is better
    assert f"report: [{len(SECTIONS)}/{len(SECTIONS)}]" in capsys.readouterr().err  # progress lines, one per section


def test_missing_inputs_are_explained_not_dropped(tmp_path):
    out = build_report(tmp_path, progress=lambda line: None)
    assert out == tmp_path / "report.html"
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.sections == list(SECTIONS)
    assert set(page.missing) == set(SECTIONS)  # each section says what is missing
    assert page.images == {}


def test_bad_arguments_name_the_option(tmp_path):
    assert main(["report", str(tmp_path / "nope")]) == 2
    with pytest.raises(ValueError, match="n_embed"):
        build_report(tmp_path, n_embed=0)
