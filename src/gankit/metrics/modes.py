"""Mode-collapse metrics for the 2-D ring and grid mixtures (VEEGAN / PacGAN protocol).

Protocol (Srivastava et al. 2017, VEEGAN, Sec. 5.1; Lin et al. 2018, PacGAN, Table 1): draw
2,500 samples from the generator; assign each sample to its nearest mode centre; a sample is
*high quality* when it lies within three standard deviations of that centre; a mode is *captured*
when at least one high-quality sample is assigned to it. PacGAN adds the *reverse KL*

    rKL = KL(p_hq || u) = sum_k p_k * log(p_k / (1/K)) = sum_k p_k * log(K * p_k)

where ``p_k`` is the fraction of the high-quality samples assigned to mode ``k``, ``u`` the uniform
distribution over the ``K`` modes (the true mixture's weights) and ``0 log 0 = 0``. It is "reverse"
because the generated distribution comes first: KL(generated || true), the direction that punishes
mass the generator puts where the data has little, and that stays finite under mode dropping
(a generator stuck on one mode scores exactly ``log K``).

The same histogram statistics (modes captured, KL to uniform) serve Stacked MNIST
(:mod:`gankit.metrics.stacked`), where every sample has a mode from the digit classifier.
"""

from __future__ import annotations

import math
from typing import Dict, Tuple

import torch

# The papers' sample count and high-quality radius (in standard deviations).
PAPER_SAMPLES = 2500
HQ_SIGMAS = 3.0


def nearest_modes(samples: torch.Tensor, centres: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Assign each sample to its nearest centre (Euclidean).

    Args:
        samples: ``[N, D]`` points.
        centres: ``[K, D]`` mode centres.

    Returns:
        ``(index [N] long in 0..K-1, distance [N] float64)``.
    """
    if samples.dim() != 2 or centres.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples must be [N, D] and centres [K, D] with the same D; got "
                         f"{tuple(samples.shape)} and {tuple(centres.shape)}")
    # float64: the ring's 3-sigma radius is 0.03, so keep distances exact well below that.
    dist = torch.cdist(samples.detach().to("cpu", torch.float64), centres.detach().to("cpu", torch.float64))
    distance, index = dist.min(dim=1)
    return index, distance


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(p || uniform) of a histogram, ``p = counts / counts.sum()``, with ``0 log 0 = 0``.

    Args:
        counts: ``[K]`` non-negative counts over the ``K`` modes.

    Returns:
        ``sum_k p_k log(K p_k)`` in nats: 0 for a uniform histogram, ``log K`` when all mass sits on one
        mode; NaN when the histogram is empty (the divergence of no samples is undefined).
    """
    counts = counts.detach().to("cpu", torch.float64)
    total = float(counts.sum())
    if total == 0.0:
        return math.nan
    p = counts[counts > 0] / total
    return float((p * torch.log(p * counts.numel())).sum())


def histogram_metrics(counts: torch.Tensor) -> Dict[str, float]:
    """Modes captured and KL to uniform of a mode histogram.

    Args:
        counts: ``[K]`` counts of samples per mode.

    Returns:
        ``{"modes": number of modes with a count > 0, "kl": KL(p || uniform)}`` (see :func:`kl_to_uniform`).
    """
    return {"modes": float((counts > 0).sum()), "kl": kl_to_uniform(counts)}


def mode_counts(samples: torch.Tensor, centres: torch.Tensor, sigma: float,
                hq_sigmas: float = HQ_SIGMAS) -> torch.Tensor:
    """Histogram of the high-quality samples over the modes.

    Args:
        samples: ``[N, 2]`` generated points.
        centres: ``[K, 2]`` mode centres.
        sigma: the standard deviation of each (isotropic) mixture component.
        hq_sigmas: a sample is high quality within ``hq_sigmas * sigma`` of its nearest centre.

    Returns:
        ``[K]`` long counts of high-quality samples per mode.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    index, distance = nearest_modes(samples, centres)
    high_quality = distance <= hq_sigmas * sigma
    return torch.bincount(index[high_quality], minlength=centres.shape[0])


def mode_metrics(samples: torch.Tensor, centres: torch.Tensor, sigma: float,
                 hq_sigmas: float = HQ_SIGMAS) -> Dict[str, float]:
    """VEEGAN / PacGAN mode statistics of samples from a Gaussian mixture with equal weights.

    Args:
        samples: ``[N, 2]`` generated points (2,500 in the papers).
        centres: ``[K, 2]`` mode centres.
        sigma: the standard deviation of each (isotropic) mixture component.
        hq_sigmas: high-quality radius in standard deviations (3 in the papers).

    Returns:
        ``{"modes": modes captured (0..K), "hq_percent": 100 * high-quality samples / N,
        "rkl": KL(p_hq || uniform)}`` (NaN when no sample is high quality).
    """
    if samples.shape[0] == 0:
        raise ValueError("mode_metrics needs at least one sample")
    counts = mode_counts(samples, centres, sigma, hq_sigmas)
    stats = histogram_metrics(counts)
    return {"modes": stats["modes"], "hq_percent": 100.0 * float(counts.sum()) / samples.shape[0],
            "rkl": stats["kl"]}
