"""Learning tests that can fail: the grid-wgan-gp and grid-hinge recipes must cover the 25-mode grid.

Protocol of VEEGAN / PacGAN (Table 1): 2,500 samples; a sample is high quality (HQ) within 3 sigma
(0.15) of its nearest mode; a mode is captured when it has at least one HQ sample. Each recipe is
trained exactly as shipped (seed 0), about 20-30 s of CPU.

Thresholds. Measured with the shipped presets, train.seed 0, 1, 2, as (modes, HQ %), with 1 and
with 2 torch threads (the tests run with 1, set in conftest.py; the thread count changes the float
reductions), re-measured for seed 0 with 1 thread on 2026-12-01 after the training-core rewrite (same values):
    grid-wgan-gp  1 thread: (25, 13.4), (25, 11.2), (23, 10.5)   2 threads: (24, 11.3), (24, 9.0), (23, 12.4)
    grid-hinge    1 thread: (23, 24.6), (22, 12.7), (23, 27.0)   2 threads: (24, 26.9), (25, 23.9), (23, 28.8)
The test trains seed 0 with 1 thread, so the bounds sit just under that run's values (MIN_MODES and
MIN_HQ_PERCENT per recipe): a regression of a point or two fails. Together they need a trained G:
- the untrained G puts its samples near the origin: 2 modes (3-5% HQ, on the central mode);
  mode collapse fails the same way;
- a G that only learned the grid's extent: 2,500 points uniform on [-5, 5]^2 hit 22 modes, but only
  25 * pi * 0.15^2 / 10^2 = 1.8% of them are HQ (1.9% in one draw); 12.5% / 23% need the samples to
  concentrate on the modes. For scale, VEEGAN's Table 1 reports 0.5% HQ for a plain GAN on this
  grid; with the same step budget but no batch norm in G these recipes stayed at 1-4% HQ here.
"""

import pytest
import torch

import gankit
from gankit.data.sources.toy2d import modes_of
from gankit.metrics.modes import PAPER_SAMPLES, mode_metrics

MIN_MODES = {"grid-wgan-gp": 24, "grid-hinge": 22}  # measured 25 and 23
MIN_HQ_PERCENT = {"grid-wgan-gp": 12.5, "grid-hinge": 23.0}  # measured 13.4 and 24.6


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(MIN_HQ_PERCENT))
def test_grid_recipe_covers_the_modes(preset, tmp_path):
    steps = gankit.load_config(preset).train.steps
    # Only the final plot and checkpoint: the intermediate ones cost time and are not checked here.
    overrides = [f"out={tmp_path}", "train.device=cpu", f"train.log_every={steps}",
                 f"train.sample_every={steps}", f"train.checkpoint_every={steps}"]
    result = gankit.train(preset, overrides=overrides, quiet=True)
    assert result.step == steps
    centres, sigma = modes_of("grid")
    z = torch.randn(PAPER_SAMPLES, result.G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        samples = result.G(z)
    m = mode_metrics(samples, centres, sigma)
    assert m["modes"] >= MIN_MODES[preset], m
    assert m["hq_percent"] >= MIN_HQ_PERCENT[preset], m
