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

Registered here: the feature extractor ``mode_distances`` (each sample's distance to every true
mode centre, in standard deviations; centres from :func:`gankit.data.sources.toy2d.modes_of`) and
the metric ``modes`` (keys ``modes``, ``hq_percent``, ``rkl``) for runs on ``ring`` / ``grid``:
``gankit eval RUN --metrics modes --n 2500`` follows the papers.

The histogram statistics (modes captured, KL to uniform) also serve Stacked MNIST
(:mod:`gankit.metrics.stacked`), where every sample gets a mode from the digit classifier.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch

from gankit.metrics.base import FEATURE_EXTRACTORS, FeatureExtractor, MetricResult, ReferenceSpec, register_metric
from gankit.registry import ConfigError

# The papers' sample count and high-quality radius (in standard deviations).
PAPER_SAMPLES = 2500
HQ_SIGMAS = 3.0
RKL_FORMULA = "KL(p_hq || uniform) = sum_k p_k log(K p_k), p_k = share of the high-quality samples nearest mode k"


def mode_distances(samples: torch.Tensor, centres: torch.Tensor, sigma: float) -> torch.Tensor:
    """Euclidean distance of every sample to every mode centre, in standard deviations.

    Args:
        samples: ``[N, D]`` points.
        centres: ``[K, D]`` mode centres.
        sigma: the standard deviation of each (isotropic) mixture component.

    Returns:
        float64 ``[N, K]`` distances divided by ``sigma`` (on the samples' device).
    """
    if samples.dim() != 2 or centres.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples must be [N, D] and centres [K, D] with the same D; got "
                         f"{tuple(samples.shape)} and {tuple(centres.shape)}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    # float64: the ring's 3-sigma radius is 0.03, so keep distances exact well below that.
    x = samples.detach().to(torch.float64)
    return torch.cdist(x, centres.detach().to(x.device, torch.float64)) / sigma


def hq_histogram(distances: torch.Tensor, hq_sigmas: float = HQ_SIGMAS) -> torch.Tensor:
    """Histogram of the high-quality samples over their nearest modes.

    Args:
        distances: ``[N, K]`` distances to the mode centres in standard deviations.
        hq_sigmas: a sample is high quality within ``hq_sigmas`` of its nearest centre.

    Returns:
        ``[K]`` long counts on the CPU.
    """
    nearest, index = distances.detach().cpu().min(dim=1)
    return torch.bincount(index[nearest <= hq_sigmas], minlength=distances.shape[1])


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


def mode_statistics(distances: torch.Tensor, hq_sigmas: float = HQ_SIGMAS) -> Tuple[Dict[str, float], torch.Tensor]:
    """VEEGAN / PacGAN statistics from the samples' distances to the modes.

    Args:
        distances: ``[N, K]`` distances to the mode centres in standard deviations (N > 0).
        hq_sigmas: high-quality radius in standard deviations (3 in the papers).

    Returns:
        ``({"modes", "hq_percent", "rkl"}, counts [K])``: see :func:`mode_metrics`.
    """
    if distances.shape[0] == 0:
        raise ValueError("mode statistics need at least one sample")
    counts = hq_histogram(distances, hq_sigmas)
    stats = histogram_metrics(counts)
    values = {"modes": stats["modes"], "hq_percent": 100.0 * float(counts.sum()) / distances.shape[0],
              "rkl": stats["kl"]}
    return values, counts


def mode_metrics(samples: torch.Tensor, centres: torch.Tensor, sigma: float,
                 hq_sigmas: float = HQ_SIGMAS) -> Dict[str, float]:
    """VEEGAN / PacGAN mode statistics of samples from an equal-weight Gaussian mixture.

    Args:
        samples: ``[N, 2]`` generated points (2,500 in the papers).
        centres: ``[K, 2]`` mode centres.
        sigma: the standard deviation of each (isotropic) mixture component.
        hq_sigmas: high-quality radius in standard deviations (3 in the papers).

    Returns:
        ``{"modes": modes captured (0..K), "hq_percent": 100 * high-quality samples / N,
        "rkl": KL(p_hq || uniform)}`` (rkl is NaN when no sample is high quality).
    """
    return mode_statistics(mode_distances(samples, centres, sigma), hq_sigmas)[0]


class ModeDistanceExtractor(FeatureExtractor):
    """Features = distance of each 2-D sample to each true mode centre, in standard deviations."""

    name = "mode_distances"

    def __init__(self, source: str, centres: torch.Tensor, sigma: float):
        self.source, self.centres, self.sigma = source, centres, float(sigma)

    def extract(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if x.dim() != 2 or x.shape[1] != self.centres.shape[1]:
            raise ConfigError(f"the modes metric takes {self.centres.shape[1]}-D points from a '{self.source}' "
                              f"generator; got samples of shape {tuple(x.shape)}")
        return mode_distances(x, self.centres, self.sigma), None

    def record(self) -> dict:
        return {"name": self.name, "weights": None, "source": self.source, "centres": self.centres.tolist(),
                "sigma": self.sigma, "features": "Euclidean distance to each mode centre / sigma, [N, K]"}


@FEATURE_EXTRACTORS.register("mode_distances")
def build_mode_distances(device, reference: ReferenceSpec, std: Optional[float] = None) -> ModeDistanceExtractor:
    """Distances to the true modes of the run's ``ring`` / ``grid`` data (std: data.args.std, else the benchmark's)."""
    from gankit.data.sources.toy2d import MIXTURES, modes_of

    centres, default_std = modes_of(reference.source)
    if centres is None:
        raise ConfigError(f"the modes metric needs a run on a mixture with known modes (data.source: "
                          f"{', '.join(MIXTURES)}), not '{reference.source}'; for Stacked MNIST use the "
                          f"stacked_mnist metric")
    sigma = std if std is not None else reference.args.get("std") or default_std
    if not sigma > 0:
        raise ConfigError(f"eval.args.extractors.mode_distances.std must be > 0, got {sigma}")
    return ModeDistanceExtractor(reference.source, centres.to(device), sigma)


@register_metric("modes", extractor="mode_distances", needs_reference=False,
                 directions={"modes": "max", "hq_percent": "max", "rkl": "min"})
def modes(ctx, hq_sigmas: float = HQ_SIGMAS) -> MetricResult:
    """Ring/grid modes captured, high-quality percentage and reverse KL (VEEGAN / PacGAN, 2,500 samples)."""
    if not hq_sigmas > 0:
        raise ConfigError(f"eval.args.modes.hq_sigmas must be > 0 (the papers use 3), got {hq_sigmas}")
    fake = ctx.fake("mode_distances")
    values, counts = mode_statistics(fake.features, hq_sigmas)
    record = {"protocol": "VEEGAN (Srivastava et al. 2017) / PacGAN (Lin et al. 2018) Table 1",
              "n_fake": fake.n, "paper_n_fake": PAPER_SAMPLES, "hq_sigmas": hq_sigmas,
              "assignment": "nearest mode centre (Euclidean)", "rkl": RKL_FORMULA, "hq_counts": counts.tolist()}
    return MetricResult(values, record)
