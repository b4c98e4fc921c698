"""Latent priors: documented distributions and shapes, config errors, and that runs draw through them."""

import pytest
import torch

import gankit
from gankit.priors import PRIORS, build_prior, latents, prior_of
from gankit.registry import ConfigError


def _draw(name, args, n=20000, dim=6, seed=0):
    prior = build_prior(name, args, dim)
    return prior, prior.sample(n, torch.Generator().manual_seed(seed))


def test_gaussian_is_standard_normal_and_the_default_fixed_noise():
    prior, z = _draw("gaussian", {})
    assert z.shape == (20000, 6) and z.dtype == torch.float32 and prior.dim == 6
    assert z.mean().item() == pytest.approx(0.0, abs=0.02) and z.std().item() == pytest.approx(1.0, abs=0.02)
    # the same numbers as the historic randn fixed noise, so old runs' grids and metrics do not change
    assert torch.equal(prior.sample(5, torch.Generator().manual_seed(3)),
                       torch.randn(5, 6, generator=torch.Generator().manual_seed(3)))


def test_uniform_covers_its_interval_evenly():
    _, z = _draw("uniform", {"low": -2.0, "high": 1.0})
    assert float(z.min()) >= -2.0 and float(z.max()) <= 1.0
    assert z.mean().item() == pytest.approx(-0.5, abs=0.02)
    assert z.var().item() == pytest.approx(3.0 ** 2 / 12, abs=0.03)  # variance of U(a, b) = (b - a)^2 / 12
    hist = torch.histc(z, bins=6, min=-2.0, max=1.0) / z.numel()
    assert torch.allclose(hist, torch.full((6,), 1 / 6), atol=0.01)


def test_truncated_gaussian_resamples_beyond_the_threshold():
    _, z = _draw("truncated", {"threshold": 0.5})
    assert float(z.abs().max()) <= 0.5
    # N(0,1) restricted to [-0.5, 0.5]: variance 1 - 2 t phi(t) / (2 Phi(t) - 1) = 0.0793 for t = 0.5
    assert z.var().item() == pytest.approx(0.0793, abs=0.003)
    # resampling (not clamping): no pile-up at the boundary
    assert (z.abs() > 0.49).float().mean().item() < 0.03


@pytest.mark.parametrize("name, args, match", [
    ("uniform", {"low": 1.0, "high": 1.0}, "low must be < high"),
    ("truncated", {"threshold": 0.0}, r"model\.latent\.args\.threshold must be > 0"),
    ("gaussian", {"std": 2.0}, r"unknown setting model\.latent\.args\.std"),
    ("gausian", {}, r"unknown latent prior 'gausian'\. Did you mean 'gaussian'"),
])
def test_bad_prior_settings_name_the_setting(name, args, match):
    with pytest.raises(ConfigError, match=match):
        build_prior(name, args, 4)


def test_plain_modules_fall_back_to_a_gaussian_of_their_z_dim():
    G = torch.nn.Linear(3, 2)
    G.z_dim = 3
    assert prior_of(G).name == "gaussian" and latents(G, 4, 1).shape == (4, 3)


def test_a_run_trains_samples_and_reloads_through_its_prior(tmp_path, tiny_overrides):
    result = gankit.train(overrides=tiny_overrides + ["train.steps=2", "model.latent.name=uniform",
                                                      "model.latent.args={low: 0.0, high: 1.0}"],
                          run_dir=tmp_path / "r", quiet=True)
    trainer = result.trainer
    fixed = trainer.objective.fixed_z
    assert float(fixed.min()) >= 0.0 and float(fixed.max()) <= 1.0  # the preview's fixed noise is uniform
    G = gankit.load_generator(tmp_path / "r")
    assert prior_of(G).name == "uniform" and prior_of(G).options == {"low": 0.0, "high": 1.0}
    z = latents(G, 100, 0)
    assert float(z.min()) >= 0.0 and float(z.max()) <= 1.0
    assert "uniform" in PRIORS.names()
