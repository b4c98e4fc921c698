"""Ring / grid mode metrics (VEEGAN / PacGAN protocol) on sample sets with known answers."""

import math

import pytest
import torch

from gankit.data.sources.toy2d import modes_of
from gankit.metrics import evaluate
from gankit.metrics.modes import histogram_metrics, kl_to_uniform, mode_metrics
from gankit.registry import ConfigError


# The 2-D probability mass within 3 standard deviations of an isotropic Gaussian: 1 - exp(-9/2).
MASS_3SIGMA = 1.0 - math.exp(-4.5)


def ring_centres():
    centres, sigma = modes_of("ring")
    assert (len(centres), sigma) == (8, 0.01)
    return centres.double(), sigma


def grid_centres():
    centres, sigma = modes_of("grid")
    assert (len(centres), sigma) == (25, 0.05)
    return centres.double(), sigma


def mixture_samples(centres, sigma, n, seed):
    """n samples from the equal-weight isotropic Gaussian mixture (the perfect generator)."""
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(len(centres), (n,), generator=g)
    return centres[which] + sigma * torch.randn(n, 2, generator=g, dtype=torch.float64)


def binomial_tolerance_percent(p, n, k=4.0):
    """k binomial standard deviations of a percentage estimated from n samples."""
    return 100.0 * k * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("layout", [ring_centres, grid_centres])
def test_perfect_sampler_captures_every_mode_with_the_gaussian_3sigma_mass(layout):
    centres, sigma = layout()
    n = 20000
    stats = mode_metrics(mixture_samples(centres, sigma, n, seed=1), centres, sigma)
    assert stats["modes"] == len(centres)
    assert stats["hq_percent"] == pytest.approx(100 * MASS_3SIGMA, abs=binomial_tolerance_percent(MASS_3SIGMA, n))
    # For a multinomial histogram of m samples over K equal cells, 2 m KL ~ chi2(K - 1): mean (K-1)/(2m).
    m = n * MASS_3SIGMA
    k = len(centres)
    assert stats["rkl"] == pytest.approx((k - 1) / (2 * m), abs=4 * math.sqrt(2 * (k - 1)) / (2 * m))


@pytest.mark.parametrize("layout", [ring_centres, grid_centres])
def test_collapsed_sampler_scores_one_mode_and_log_k(layout):
    centres, sigma = layout()
    # Every sample close to centre 3 (within one sigma).
    g = torch.Generator().manual_seed(0)
    samples = centres[3] + 0.3 * sigma * torch.randn(2500, 2, generator=g, dtype=torch.float64)
    stats = mode_metrics(samples, centres, sigma)
    assert stats == {"modes": 1.0, "hq_percent": 100.0, "rkl": pytest.approx(math.log(len(centres)), rel=1e-12)}


def test_samples_far_from_every_centre_are_not_high_quality():
    centres, sigma = grid_centres()
    samples = torch.full((100, 2), 1.0)  # halfway between grid modes, 14 sigma from each
    stats = mode_metrics(samples, centres, sigma)
    assert stats["modes"] == 0.0
    assert stats["hq_percent"] == 0.0
    assert math.isnan(stats["rkl"])


def test_high_quality_radius_is_three_sigma_of_the_nearest_centre():
    centres, sigma = ring_centres()
    radial = centres[0] / centres[0].norm()
    inside = centres[0] + 2.9 * sigma * radial
    outside = centres[5] + 3.1 * sigma * radial
    stats = mode_metrics(torch.stack([inside, outside]), centres, sigma)
    assert stats == {"modes": 1.0, "hq_percent": 50.0, "rkl": pytest.approx(math.log(8))}


def test_half_the_modes_evenly_gives_log_two():
    centres, sigma = ring_centres()
    samples = centres[[0, 2, 4, 6]].repeat(10, 1)
    stats = mode_metrics(samples, centres, sigma)
    assert stats == {"modes": 4.0, "hq_percent": 100.0, "rkl": pytest.approx(math.log(2))}


def test_histogram_kl_to_uniform_known_answer():
    counts = torch.tensor([2, 1, 1, 0])
    # p = (1/2, 1/4, 1/4, 0): KL = 1/2 log(4/2) + 2 * 1/4 log(4/4) + 0 = log(2) / 2
    assert histogram_metrics(counts) == {"modes": 3.0, "kl": pytest.approx(math.log(2) / 2, rel=1e-12)}
    assert kl_to_uniform(torch.tensor([5, 5, 5])) == pytest.approx(0.0, abs=1e-15)
    assert math.isnan(kl_to_uniform(torch.zeros(4)))


def test_bad_shapes_and_sigma_are_rejected():
    centres, sigma = ring_centres()
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        mode_metrics(torch.zeros(10, 3), centres, sigma)
    with pytest.raises(ValueError, match="sigma"):
        mode_metrics(torch.zeros(10, 2), centres, 0.0)


class MixtureGenerator(torch.nn.Module):
    """Stand-in generator: z [N, 3] -> a point of the true mixture (mode from z0, offset from z1, z2),
    or, with ``collapse``, every point at centre ``collapse``."""

    def __init__(self, centres, sigma, collapse=None):
        super().__init__()
        self.centres, self.sigma, self.collapse = centres.float(), sigma, collapse
        self.z_dim, self.num_classes, self.out_shape = 3, 0, (2,)

    def forward(self, z, y=None):
        k = len(self.centres)
        if self.collapse is not None:
            return self.centres[self.collapse].expand(len(z), 2)
        mode = (torch.special.ndtr(z[:, 0]) * k).long().clamp(max=k - 1)  # uniform over the modes
        return self.centres[mode] + self.sigma * z[:, 1:]


@pytest.mark.parametrize("source, collapse", [("ring", None), ("grid", None), ("grid", 7)])
def test_modes_metric_through_evaluate_matches_mode_metrics(source, collapse, tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    centres, sigma = modes_of(source)
    G = MixtureGenerator(centres, sigma, collapse)
    values = evaluate(G, ["modes"], data_cfg={"source": source, "resolution": None, "args": {"n": 1000}},
                      n_samples=2500, seed=5, batch_size=1000)
    # evaluate's documented noise: torch.randn(n, z_dim) from torch.Generator().manual_seed(seed).
    z = torch.randn(2500, 3, generator=torch.Generator().manual_seed(5))
    expected = mode_metrics(G(z), centres, sigma)
    assert values == {k: pytest.approx(v, rel=1e-12) for k, v in expected.items()}
    if collapse is not None:
        assert values == {"modes": 1.0, "hq_percent": 100.0, "rkl": pytest.approx(math.log(25))}


def test_modes_metric_reads_the_runs_std(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    centres, _ = modes_of("ring")
    G = MixtureGenerator(centres, 0.02)  # twice the benchmark's sigma: half the samples fall outside 3 x 0.01
    data_cfg = {"source": "ring", "resolution": None, "args": {"n": 1000, "std": 0.02}}
    values = evaluate(G, ["modes"], data_cfg=data_cfg, n_samples=2500, seed=1)
    z = torch.randn(2500, 3, generator=torch.Generator().manual_seed(1))
    assert values["hq_percent"] == pytest.approx(mode_metrics(G(z), centres, 0.02)["hq_percent"], rel=1e-12)
    assert values["hq_percent"] == pytest.approx(100 * MASS_3SIGMA, abs=binomial_tolerance_percent(MASS_3SIGMA, 2500))


def test_modes_metric_needs_a_ring_or_grid_run(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    G = MixtureGenerator(*modes_of("ring"))
    with pytest.raises(ConfigError, match="ring, grid"):
        evaluate(G, ["modes"], data_cfg={"source": "mnist5k"}, n_samples=10)


def test_one_process_evaluates_ring_then_grid_against_each_runs_own_modes(tmp_path, monkeypatch):
    """The extractor built for one run's data (ring centres, sigma 0.01) must not serve the next run
    (grid, or another data.args.std) in the same process: the reuse key covers the reference."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    ring, ring_sigma = modes_of("ring")
    grid, grid_sigma = modes_of("grid")
    on_ring = evaluate(MixtureGenerator(ring, ring_sigma), ["modes"], n_samples=2500, seed=3,
                       data_cfg={"source": "ring", "resolution": None, "args": {"n": 1000}})
    on_grid = evaluate(MixtureGenerator(grid, grid_sigma), ["modes"], n_samples=2500, seed=3,
                       data_cfg={"source": "grid", "resolution": None, "args": {"n": 1000}})
    wide_ring = evaluate(MixtureGenerator(ring, 0.02), ["modes"], n_samples=2500, seed=3,
                         data_cfg={"source": "ring", "resolution": None, "args": {"n": 1000, "std": 0.02}})
    z = torch.randn(2500, 3, generator=torch.Generator().manual_seed(3))
    assert on_ring["modes"] == 8.0
    assert on_grid == {k: pytest.approx(v, rel=1e-12)
                       for k, v in mode_metrics(MixtureGenerator(grid, grid_sigma)(z), grid, grid_sigma).items()}
    assert on_grid["modes"] == 25.0
    assert wide_ring["hq_percent"] == pytest.approx(
        mode_metrics(MixtureGenerator(ring, 0.02)(z), ring, 0.02)["hq_percent"], rel=1e-12)
