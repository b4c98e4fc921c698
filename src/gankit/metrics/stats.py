"""The maths shared by every feature space: Frechet distance, KID, precision/recall, Inception Score.

Everything here is a pure function of feature (or logit) tensors, computed in float64 so that the
numbers do not depend on the extractor's precision, the evaluation batch size or the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch

from gankit.registry import ConfigError


@dataclass
class FeatureStats:
    """First and second moments of a feature set.

    Attributes:
        mu: float64 ``[F]`` mean.
        sigma: float64 ``[F, F]`` unbiased covariance (divides by ``n - 1``, as ``numpy.cov``).
        n: number of samples the moments come from.
    """

    mu: torch.Tensor
    sigma: torch.Tensor
    n: int


def samples_needed(dim: int) -> int:
    """Samples a ``dim``-dimensional covariance needs to be full rank (``dim + 1``)."""
    return dim + 1


def check_enough_samples(n: int, dim: int, what: str, fix: str) -> None:
    """Raise ConfigError when ``n`` samples cannot give a full-rank ``dim x dim`` covariance.

    Args:
        n: number of samples available.
        dim: feature dimension.
        what: which sample set, for the message (e.g. ``"generated samples"``).
        fix: the setting to raise, for the message (e.g. ``"--n / eval.n_samples"``).
    """
    need = samples_needed(dim)
    if n < need:
        raise ConfigError(
            f"the Frechet distance in a {dim}-dimensional feature space needs at least {need} {what} "
            f"(got {n}); a covariance from fewer samples is rank-deficient and the distance meaningless. "
            f"Raise {fix} to {need} or more."
        )


def feature_stats(features: torch.Tensor) -> FeatureStats:
    """Mean and unbiased covariance of ``features`` ``[N, F]`` in float64 (N >= 2)."""
    if features.dim() != 2:
        raise ValueError(f"features must be [N, F], got {tuple(features.shape)}")
    x = features.detach().to("cpu", torch.float64)
    n = x.shape[0]
    if n < 2:
        raise ConfigError(f"a covariance needs at least 2 samples, got {n}")
    mu = x.mean(dim=0)
    centred = x - mu
    sigma = centred.T @ centred / (n - 1)
    return FeatureStats(mu=mu, sigma=sigma, n=n)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigen-decomposition).

    Tiny negative eigenvalues are rounding noise of a PSD matrix and are clamped to 0.
    """
    w, v = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(a: FeatureStats, b: FeatureStats) -> float:
    """Frechet distance between the Gaussians fitted to two feature sets.

    ``d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr( (S_a^1/2 S_b S_a^1/2)^1/2 )``; the matrix in the
    last term is symmetric PSD, so its square root comes from a symmetric eigen-decomposition and is
    always real (no complex residue to drop, unlike ``sqrtm(S_a S_b)``).

    Args:
        a, b: moments of the two sets (float64, same dimension).

    Returns:
        The distance (>= 0; a negative rounding residue of identical sets is reported as 0).
    """
    if a.mu.shape != b.mu.shape:
        raise ValueError(f"feature dimensions differ: {tuple(a.mu.shape)} vs {tuple(b.mu.shape)}")
    mu_a, mu_b = a.mu.to(torch.float64), b.mu.to(torch.float64)
    s_a, s_b = a.sigma.to(torch.float64), b.sigma.to(torch.float64)
    root_a = _sqrt_psd(s_a)
    middle = root_a @ s_b @ root_a
    eig = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0)
    diff = mu_a - mu_b
    d = float(diff @ diff + torch.trace(s_a) + torch.trace(s_b) - 2 * eig.sqrt().sum())
    return max(d, 0.0)


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, gamma: Optional[float] = None,
                      coef0: float = 1.0) -> torch.Tensor:
    """``k(x, y) = (gamma <x, y> + coef0)^degree`` with ``gamma = 1 / F`` by default; ``[N, F], [M, F] -> [N, M]``."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0) ** degree


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, degree: int = 3, gamma: Optional[float] = None,
                  coef0: float = 1.0) -> float:
    """Unbiased estimate of MMD^2 between two equally sized sets ``[m, F]`` (Binkowski et al. 2018).

    Within-set kernel sums leave out the diagonal (``m (m - 1)`` pairs); the cross term keeps all
    ``m^2`` pairs, as in the KID reference code and torch-fidelity.
    """
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise ValueError(f"MMD needs two sets of the same size >= 2, got {x.shape[0]} and {y.shape[0]}")
    k_xx = polynomial_kernel(x, x, degree, gamma, coef0)
    k_yy = polynomial_kernel(y, y, degree, gamma, coef0)
    k_xy = polynomial_kernel(x, y, degree, gamma, coef0)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(fake: torch.Tensor, real: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
                              degree: int = 3, gamma: Optional[float] = None, coef0: float = 1.0,
                              seed: int = 0) -> Tuple[float, float, int]:
    """KID: mean and std of the unbiased MMD^2 (cubic polynomial kernel) over random subsets.

    Subsets are drawn as torch-fidelity draws them: ``numpy.random.RandomState(seed)``, for each
    subset first the generated then the real indices, without replacement within a subset.

    Args:
        fake: ``[N1, F]`` generated-sample features.
        real: ``[N2, F]`` reference features.
        subsets: number of subsets.
        subset_size: samples per subset; capped at ``min(N1, N2)`` (the cap is returned).
        degree, gamma, coef0: kernel parameters (``gamma=None`` means ``1 / F``).
        seed: subset sampling seed.

    Returns:
        ``(mean, std, subset_size_used)``.
    """
    size = min(subset_size, fake.shape[0], real.shape[0])
    if size < 2:
        raise ConfigError(f"KID needs at least 2 samples in each set, got {fake.shape[0]} generated and "
                          f"{real.shape[0]} real")
    f1 = fake.detach().to("cpu", torch.float64)
    f2 = real.detach().to("cpu", torch.float64)
    rng = np.random.RandomState(seed)
    values = np.zeros(subsets)
    for i in range(subsets):
        i1 = torch.from_numpy(rng.choice(f1.shape[0], size, replace=False))
        i2 = torch.from_numpy(rng.choice(f2.shape[0], size, replace=False))
        values[i] = mmd2_unbiased(f1[i1], f2[i2], degree, gamma, coef0)
    return float(values.mean()), float(values.std()), size


def _kth_neighbour_radii(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row (the row itself is at distance 0)."""
    radii = [torch.cdist(part, x).kthvalue(k + 1, dim=1).values for part in x.split(chunk)]
    return torch.cat(radii)


def _coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> float:
    """Fraction of ``points`` inside at least one ball ``(centres[j], radii[j])``."""
    inside = [(torch.cdist(part, centres) <= radii).any(dim=1) for part in points.split(chunk)]
    return float(torch.cat(inside).to(torch.float64).mean())


def precision_recall(fake: torch.Tensor, real: torch.Tensor, k: int = 3, chunk: int = 1024) -> Tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) on the k-NN manifolds of two sets.

    Each sample of a set gets a ball whose radius is the distance to its k-th nearest neighbour in
    that set. Precision is the fraction of generated samples inside some real ball; recall the
    fraction of real samples inside some generated ball.

    Args:
        fake: ``[N1, F]`` generated features (N1 > k).
        real: ``[N2, F]`` reference features (N2 > k).
        k: neighbourhood size (3 in the paper).
        chunk: rows per distance block (bounds memory to ``chunk x N`` distances).

    Returns:
        ``(precision, recall)`` in [0, 1].
    """
    if min(fake.shape[0], real.shape[0]) <= k:
        raise ConfigError(f"precision/recall with k={k} needs more than {k} samples per set, "
                          f"got {fake.shape[0]} generated and {real.shape[0]} real")
    f = fake.detach().to(torch.float64)
    r = real.detach().to(f.device, torch.float64)
    precision = _coverage(f, r, _kth_neighbour_radii(r, k, chunk), chunk)
    recall = _coverage(r, f, _kth_neighbour_radii(f, k, chunk), chunk)
    return precision, recall


def inception_score(logits: torch.Tensor, splits: int = 10, seed: Optional[int] = 0) -> Tuple[float, float]:
    """``exp(E_x KL(p(y|x) || p(y)))`` per split; mean and std over the splits.

    As torch-fidelity: the samples are shuffled with ``numpy.random.RandomState(seed)`` (no shuffle
    when ``seed`` is None), cut into ``splits`` consecutive chunks, and ``p(y)`` is each chunk's mean.

    Args:
        logits: ``[N, K]`` class logits (Inception: the 1008 unbiased logits).
        splits: number of chunks (1 = the whole set, as TF-GAN's classifier score).
        seed: shuffle seed.

    Returns:
        ``(mean, std)`` over the splits.
    """
    n = logits.shape[0]
    if n < splits:
        raise ConfigError(f"the score with {splits} splits needs at least {splits} samples, got {n}")
    x = logits.detach().to("cpu", torch.float64)
    if seed is not None:
        x = x[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    log_p = x.log_softmax(dim=1)
    p = log_p.exp()
    scores = []
    for i in range(splits):
        part_p = p[i * n // splits:(i + 1) * n // splits]
        part_log_p = log_p[i * n // splits:(i + 1) * n // splits]
        log_marginal = part_p.mean(dim=0, keepdim=True).log()
        kl = (part_p * (part_log_p - log_marginal)).sum(dim=1).mean()
        scores.append(float(kl.exp()))
    return float(np.mean(scores)), float(np.std(scores))
