"""`gankit report` evaluates offline metrics when a run has recorded none, and shows them."""

import json
import re

import numpy as np
import pytest
import torch

import gankit
from gankit.cli import main
from gankit.metrics import clear_memory_cache, evaluate
from gankit.training.checkpoint import load_run_generator
from gankit.viz.report import build_report

SMALL = dict(n_embed=20, n_memo=20, n_real=20, embed_methods=("pca",), progress=lambda line: None)


@pytest.fixture(autouse=True)
def _one_thread_own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    clear_memory_cache()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
    clear_memory_cache()


def _bars_run(tmp_path, name="bars"):
    """A 4-step DCGAN on 400 labelled 16x16 images: one bright row per image, its index // 4 the class."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    x = rng.integers(0, 60, (400, 16, 16)).astype(np.uint8)
    x[np.arange(400), 4 * y + rng.integers(0, 4, 400), :] = 250
    np.savez(tmp_path / "bars.npz", x=x, y=y)
    return gankit.train(overrides=[
        "data.source=npz", f"data.path={tmp_path / 'bars.npz'}", "data.resolution=16", "model.z_dim=8",
        "model.g.args.width=4", "model.d.args.width=4", "train.batch_size=8", "train.steps=4",
        "train.log_every=2", "train.sample_every=2", "train.checkpoint_every=4", "train.n_samples=16"],
        run_dir=tmp_path / name, quiet=True).run_dir


def _metrics_section(path):
    text = path.read_text(encoding="utf-8")
    return re.search(r'<section id="metrics">(.*?)</section>', text, flags=re.S).group(1)


def test_auto_evaluates_classifier_metrics_once(tmp_path):
    run = _bars_run(tmp_path)
    section = _metrics_section(build_report(run, n_eval=300, **SMALL))
    files = sorted((run / "eval").glob("report-*.json"))
    assert len(files) == 1
    values = json.loads(files[0].read_text())["values"]
    assert sorted(values) == ["classifier_fid", "classifier_fid_real_floor", "classifier_score"]
    # The numbers are exactly what `evaluate` gives for the same generator, samples and seed.
    G, cfg = load_run_generator(run)
    direct = evaluate(G, ["classifier_fid", "classifier_score"], data_cfg=cfg.data, n_samples=300, seed=0)
    assert values == pytest.approx(direct, rel=1e-12)
    for key in values:
        assert f"<td>{key}</td>" in section
    assert 'class="missing"' not in section
    # The run now has a metric on record: "auto" evaluates nothing more.
    build_report(run, n_eval=300, **SMALL)
    assert sorted((run / "eval").glob("report-*.json")) == files


def test_no_metrics_explains_how_to_get_them_and_cli_checks_names(tmp_path, capsys):
    run = _bars_run(tmp_path)
    section = _metrics_section(build_report(run, metrics=[], **SMALL))
    assert "Missing:" in section and "--metrics NAMES" in section
    assert not (run / "eval").exists()
    assert main(["report", str(run), "--metrics", "classifier_fid,fdi"]) == 2
    assert "unknown metric 'fdi'" in capsys.readouterr().err
    # The library checks the names too, before any section is built, and suggests the closest.
    with pytest.raises(ValueError, match="unknown metric 'fdi'.*fid"):
        build_report(run, tmp_path / "bad.html", metrics=["fdi"], **SMALL)
    assert not (tmp_path / "bad.html").exists()
