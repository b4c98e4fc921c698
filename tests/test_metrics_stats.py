"""The metric maths: Frechet distance, KID, precision/recall and the Inception Score."""

import numpy as np
import pytest
import scipy.linalg
import torch

from gankit.metrics.stats import (FeatureStats, check_enough_samples, feature_stats, frechet_distance,
                                  inception_score, kernel_inception_distance, mmd2_unbiased, precision_recall)
from gankit.registry import ConfigError


def _features(n, dim, seed, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(dim, dim, generator=g, dtype=torch.float64) / dim ** 0.5
    return (torch.randn(n, dim, generator=g, dtype=torch.float64) @ mix) * scale + shift


def _scipy_fid(a, b):
    """The textbook formula with scipy's sqrtm of S_a S_b (independent of gankit's eigen route)."""
    a, b = a.numpy(), b.numpy()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if np.iscomplexobj(covmean):
        assert np.abs(covmean.imag).max() < 1e-6
        covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_feature_stats_match_numpy():
    x = _features(50, 6, seed=0)
    s = feature_stats(x)
    torch.testing.assert_close(s.mu, torch.from_numpy(x.numpy().mean(0)))
    torch.testing.assert_close(s.sigma, torch.from_numpy(np.cov(x.numpy(), rowvar=False)))
    assert s.n == 50


@pytest.mark.parametrize("shift,scale", [(0.5, 1.0), (0.0, 2.0), (-1.0, 0.3)])
def test_frechet_matches_scipy_sqrtm(shift, scale):
    a = _features(300, 12, seed=1)
    b = _features(200, 12, seed=2, shift=shift, scale=scale)
    expected = _scipy_fid(a, b)
    assert frechet_distance(feature_stats(a), feature_stats(b)) == pytest.approx(expected, rel=1e-8, abs=1e-10)


def test_frechet_of_a_set_with_itself_is_zero():
    a = _features(500, 64, seed=3)
    s = feature_stats(a)
    assert abs(frechet_distance(s, s)) < 1e-6


def test_frechet_of_mean_shift_only():
    # Same covariance, means differing by v: the distance is |v|^2 exactly.
    sigma = torch.eye(3, dtype=torch.float64) * 2
    a = FeatureStats(torch.zeros(3, dtype=torch.float64), sigma, 10)
    b = FeatureStats(torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64), sigma, 10)
    assert frechet_distance(a, b) == pytest.approx(9.0, abs=1e-12)


def test_too_few_samples_names_the_count_needed():
    with pytest.raises(ConfigError, match=r"at least 65 generated samples \(got 40\)"):
        check_enough_samples(40, 64, "generated samples", "--n")


def _naive_mmd2(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3 written out pair by pair."""
    m, d = len(x), x.shape[1]

    def k(a, b):
        return (float(a @ b) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_mmd2_against_pairwise_loops():
    x = _features(12, 4, seed=4)
    y = _features(12, 4, seed=5, shift=0.3)
    assert mmd2_unbiased(x, y) == pytest.approx(_naive_mmd2(x, y), rel=1e-10)


def test_kid_with_whole_sets_is_the_plain_mmd2():
    # One subset as large as both sets is a permutation of each: MMD^2 does not depend on order.
    x = _features(15, 4, seed=6)
    y = _features(15, 4, seed=7, shift=0.5)
    mean, std, used = kernel_inception_distance(x, y, subsets=1, subset_size=15, seed=3)
    assert used == 15
    assert mean == pytest.approx(_naive_mmd2(x, y), rel=1e-10)
    assert std == 0.0


def test_kid_matches_torch_fidelity_subsets():
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    x = _features(120, 8, seed=8)
    y = _features(150, 8, seed=9, shift=0.2)
    mean, std, _ = kernel_inception_distance(x, y, subsets=7, subset_size=50, seed=11)
    ref = kid_features_to_metric(x, y, kid_subsets=7, kid_subset_size=50, rng_seed=11, verbose=False,
                                 kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
                                 kid_kernel_poly_coef0=1)
    assert mean == pytest.approx(ref[KEY_METRIC_KID_MEAN], rel=1e-9)
    assert std == pytest.approx(ref[KEY_METRIC_KID_STD], rel=1e-9)


def test_precision_recall_identical_sets_are_one():
    x = _features(40, 5, seed=10)
    assert precision_recall(x, x.clone(), k=3) == (1.0, 1.0)


def test_precision_recall_far_apart_sets_are_zero():
    x = _features(40, 5, seed=11)
    assert precision_recall(x + 1000.0, x, k=3) == (0.0, 0.0)


def test_precision_recall_one_sided_coverage():
    # Real: 30 points on a line, spacing 1 (3rd-neighbour radius 2 inside, 3 at the ends).
    # Fake: 10 points inside the real range and 10 far away -> precision 1/2; the fakes' balls
    # (radius 3 on the covered part) reach reals 0..12 -> recall 13/30.
    real = torch.arange(30, dtype=torch.float64).unsqueeze(1)
    fake = torch.cat([torch.arange(10, dtype=torch.float64), torch.arange(10, dtype=torch.float64) + 500]).unsqueeze(1)
    precision, recall = precision_recall(fake, real, k=3, chunk=7)
    assert precision == pytest.approx(0.5)
    assert recall == pytest.approx(13 / 30)


def test_inception_score_matches_torch_fidelity():
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = _features(100, 10, seed=12, scale=3.0).float()
    mean, std = inception_score(logits, splits=5, seed=2020)
    ref = isc_features_to_metric(logits, splits=5, shuffle=True, rng_seed=2020)
    assert mean == pytest.approx(ref["inception_score_mean"], rel=1e-9)
    assert std == pytest.approx(ref["inception_score_std"], rel=1e-9)


def test_inception_score_of_confident_uniform_classes_is_k():
    # Each sample certain of its class, classes balanced: KL = log K per sample, score = K.
    logits = torch.eye(4).repeat(5, 1) * 200
    mean, std = inception_score(logits, splits=1, seed=None)
    assert mean == pytest.approx(4.0, rel=1e-9)
    assert std == 0.0
