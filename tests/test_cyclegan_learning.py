"""CycleGAN learns the known mapping of mnist-pairs thicken_invert (B = 255 - dilate3x3(A)) from
unpaired halves: on the 500 holdout digits (never trained on) its translations are scored against
the exact mapping, with the same code as benchmarks/cyclegan_mnist.py."""

import importlib.util
from pathlib import Path

import pytest
import torch

import gankit

_SPEC = importlib.util.spec_from_file_location(
    "cyclegan_mnist_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "cyclegan_mnist.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

# cyclegan-mnist at 16 px for 300 steps (about 20 s on one core). Measured, seeds 0 / 1 / 2:
#   A -> B MAE 0.129 / 0.128 / 0.123; B -> A MAE 0.107 / 0.099 / 0.098 (grey levels / 255).
# References on the same holdout at 16 px: identity map 0.750 (the floor the issue names), plain
# inversion 0.185 (colours right, strokes not thickened). The bounds sit about 0.02 above the worst
# seed, so they also demand the thickening (below inversion) and catch a real regression.
A2B_BOUND, B2A_BOUND = 0.15, 0.13
STEPS = ["data.resolution=16", "train.steps=300", "train.threads=1", "train.sample_every=300",
         "train.checkpoint_every=300"]


def test_cyclegan_learns_the_known_mapping_on_held_out_digits(tmp_path):
    torch.set_num_threads(1)
    run = gankit.train("cyclegan-mnist", overrides=STEPS + [f"out={tmp_path}"], run_dir=tmp_path / "run",
                       quiet=True).run_dir
    scores = bench.holdout_scores(run, classifier=False)
    assert scores["identity_a2b"] == pytest.approx(0.7496, abs=1e-3)  # the references are what the comment says
    assert scores["invert_a2b"] == pytest.approx(0.1845, abs=1e-3)
    assert scores["mae_a2b"] < A2B_BOUND < scores["invert_a2b"] < scores["identity_a2b"]
    assert scores["mae_b2a"] < B2A_BOUND < scores["identity_b2a"]
