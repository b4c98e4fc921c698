"""benchmarks/time_to_quality.py: the paused training clock, and one tiny end-to-end run of all three curves."""

import importlib.util
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_DATA

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "time_to_quality.py"
MNIST_TEST = SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz"
CURVES = ["gankit-default", "textbook", "gankit-ptg"]
BUDGETS = [2.0, 4.0]  # seconds: a PyTorch-GAN step takes ~0.7 s on one busy core, so the steps differ


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("time_to_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_clock_stands_still_while_a_snapshot_is_saved(bench, tmp_path):
    clock = bench.BudgetClock([0.25, 0.05], lambda b: tmp_path / f"{b:g}.pt", "test", time.time())
    saved = []

    def save(path):
        saved.append(path.name)
        time.sleep(0.5)

    clock.start()
    step = 0
    while not clock.tick(step, save):
        step += 1
        time.sleep(0.01)
    assert saved == ["0.05.pt", "0.25.pt"]
    first, second = clock.reached
    assert first["budget"] == 0.05 and second["budget"] == 0.25
    assert first["save_s"] >= 0.5
    assert 0.25 <= second["train_s"] < 0.5  # the first save's 0.5 s is not training time
    assert second["steps"] > first["steps"]


@pytest.mark.skipif(not MNIST_TEST.is_file(), reason=f"real MNIST test digits not available: {MNIST_TEST}")
def test_every_curve_is_trained_to_every_budget_scored_and_plotted(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--seeds", "0", "--budgets", *map(str, BUDGETS), "--samples", "200",
           "--threads", "1", "--no-write", "--work", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]

    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(results) == sorted(f"{c}/0" for c in CURVES)
    for key, run in results.items():
        points = run["points"]
        assert [p["budget"] for p in points] == BUDGETS, key
        assert all(p["train_s"] >= p["budget"] for p in points), key
        assert points[0]["steps"] < points[1]["steps"], key
        assert run["setup_s"] > 0, key
        for p in points:  # the values themselves: untrained nets, no order to expect
            assert math.isfinite(p["fid"]) and p["fid"] > 0, (key, p)
            assert math.isfinite(p["floor"]) and 0 < p["floor"] < p["fid"], (key, p)
        for budget in BUDGETS:
            assert (tmp_path / "snapshots" / f"{run['curve']}-0-{budget:g}s.pt").is_file()
    for line in ["<!-- time-to-quality:begin -->", "| textbook (PyTorch-GAN nets) |", "| gankit on PyTorch-GAN nets |",
                 "| gankit default (", "![time to quality](docs/time_to_quality.png)", "<!-- time-to-quality:end -->"]:
        assert line in out.stdout, line
    for progress in (f"{c} seed 0: {b:g} s reached at step" for c in CURVES for b in BUDGETS):
        assert progress in out.stdout, progress

    image = np.asarray(Image.open(tmp_path / "time_to_quality.png").convert("RGB"))
    assert image.shape[0] >= 400 and image.shape[1] >= 600
    assert (image < 240).any(axis=2).mean() > 0.01  # drawn on, not a white page
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50  # three coloured curves, bands, text

    # --reuse: the runs already measured are not trained again
    again = subprocess.run(cmd + ["--reuse"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-4000:]
    assert again.stdout.count("reusing") == len(CURVES) and "reached at step" not in again.stdout
    assert json.loads((tmp_path / "results.json").read_text()) == results
