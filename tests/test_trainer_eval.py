"""Periodic evaluation during training (eval.every) and keeping the best checkpoint (eval.best)."""

import json

import pytest

import gankit
from gankit.registry import ConfigError
from gankit.training import checkpoint as ckpt


def test_eval_every_reports_metrics_and_keeps_the_best_checkpoint(tmp_path, tiny_overrides, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    run = gankit.train(overrides=tiny_overrides + [
        "train.steps=4", "eval.every=2", "eval.metrics=[fid]", "eval.n_samples=40", "eval.best=fid",
        "+eval.args.extractor=tiny", "eval.args.n_real=200"], run_dir=tmp_path / "r", quiet=True).run_dir
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    fids = {r["step"]: r["metric/fid"] for r in rows if "metric/fid" in r}
    assert sorted(fids) == [2, 4]
    files = {p.name: json.loads(p.read_text()) for p in (run / "eval").iterdir()}
    assert sorted(files) == ["step-0000002.json", "step-0000004.json"]
    assert files["step-0000004.json"]["values"]["fid"] == pytest.approx(fids[4])
    assert files["step-0000004.json"]["protocol"]["samples"]["n_fake"] == 40
    best = ckpt.load_checkpoint(run / "checkpoints" / "best.pt")
    best_step = min(fids, key=fids.get)
    assert best["callbacks"]["evaluation"]["best"] == {"step": best_step, "metric": "fid", "value": pytest.approx(fids[best_step])}
    assert best["step"] == best_step


def test_eval_config_errors(tmp_path, tiny_overrides):
    with pytest.raises(ConfigError, match="eval.metrics is empty"):
        gankit.train(overrides=tiny_overrides + ["train.steps=2", "eval.every=1"], run_dir=tmp_path / "a", quiet=True)
    with pytest.raises(ConfigError, match="eval.best=fdi is not a result"):
        gankit.train(overrides=tiny_overrides + ["train.steps=2", "eval.best=fdi"], run_dir=tmp_path / "b", quiet=True)
