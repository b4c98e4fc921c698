"""Metrics in the evaluation's main feature space (Inception by default): ``is``, ``fid``, ``kid``, ``pr``.

The Frechet distance helper :func:`frechet_metric` is shared with the classifier-space
``classifier_fid``: every Frechet distance is reported with its real-vs-real floor.
"""

from __future__ import annotations

import warnings
from typing import Optional

import torch

from gankit.metrics.base import DEFAULT_EXTRACTOR, MetricResult, register_metric
from gankit.metrics.stats import (check_enough_samples, feature_stats, frechet_distance, inception_score,
                                  kernel_inception_distance, precision_recall)
from gankit.registry import ConfigError


def frechet_metric(ctx, key: str, extractor: str) -> MetricResult:
    """Frechet distance generated-vs-reference and its floor (two disjoint real halves).

    Args:
        ctx: the :class:`~gankit.metrics.evaluate.MetricContext`.
        key: output name; the floor is ``<key>_real_floor``.
        extractor: feature space (an extractor name or :data:`DEFAULT_EXTRACTOR`).

    Returns:
        ``{key, key_real_floor}`` (the floor is left out, with a warning, when a reference half has
        fewer samples than the feature dimension needs).
    """
    fake, real = ctx.fake(extractor), ctx.real(extractor)
    dim = real.dim
    check_enough_samples(fake.n, dim, "generated samples", "--n / eval.n_samples")
    check_enough_samples(real.n, dim, "reference samples", "the reference size (data set, eval.args.n_real)")
    values = {key: frechet_distance(feature_stats(fake.features), real.stats)}
    record = {"extractor": ctx.resolve(extractor), "n_fake": fake.n, "n_real": real.n, "feature_dim": dim}
    if real.halves is None:
        warnings.warn(f"{key}_real_floor left out: each half of the {real.n} reference samples needs at least "
                      f"{dim + 1} samples")
        record["real_floor"] = f"left out: reference halves smaller than {dim + 1}"
    else:
        values[f"{key}_real_floor"] = frechet_distance(*real.halves)
        record["real_floor"] = f"two disjoint random halves of {real.halves[0].n} reference samples each"
    return MetricResult(values, record)


@register_metric("fid", directions={"fid": "min", "fid_real_floor": None})
def fid(ctx) -> MetricResult:
    """Frechet Inception Distance (Heusel et al. 2017) and its real-vs-real floor."""
    return frechet_metric(ctx, "fid", DEFAULT_EXTRACTOR)


@register_metric("kid", needs_real_features=True, directions={"kid": "min", "kid_std": None})
def kid(ctx, subsets: int = 100, subset_size: int = 1000, degree: int = 3, gamma: Optional[float] = None,
        coef0: float = 1.0) -> MetricResult:
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2, cubic kernel, random subsets."""
    if subsets <= 0 or subset_size < 2:
        raise ConfigError(f"eval.args.kid: subsets must be > 0 and subset_size >= 2, got {subsets} and {subset_size}")
    fake, real = ctx.fake(), ctx.real()
    mean, std, used = kernel_inception_distance(fake.features, real.features, subsets, subset_size, degree, gamma,
                                                coef0, seed=ctx.seed)
    return MetricResult({"kid": mean, "kid_std": std},
                        {"extractor": ctx.resolve(DEFAULT_EXTRACTOR), "subsets": subsets, "subset_size": used,
                         "kernel": f"(gamma <x,y> + {coef0})^{degree}, gamma={gamma or '1/F'}", "seed": ctx.seed,
                         "estimator": "unbiased MMD^2", "n_fake": fake.n, "n_real": real.n})


@register_metric("pr", needs_real_features=True, directions={"precision": "max", "recall": "max"})
def pr(ctx, k: int = 3, n_real: Optional[int] = None) -> MetricResult:
    """Improved precision and recall (Kynkaanniemi et al. 2019) on k-NN manifolds.

    ``n_real`` reference samples (a seeded random subset; default as many as generated samples,
    since the k-NN radii shrink with the set size) are compared with all generated samples.
    """
    fake, real = ctx.fake(), ctx.real()
    count = min(n_real or fake.n, real.n)
    g = torch.Generator().manual_seed(ctx.seed)
    real_features = real.features[torch.randperm(real.n, generator=g)[:count]] if count < real.n else real.features
    precision, recall = precision_recall(fake.features, real_features, k=k)
    return MetricResult({"precision": precision, "recall": recall},
                        {"extractor": ctx.resolve(DEFAULT_EXTRACTOR), "k": k, "n_fake": fake.n, "n_real": count,
                         "seed": ctx.seed})


@register_metric("is", needs_reference=False, directions={"is": "max", "is_std": None})
def inception_score_metric(ctx, splits: int = 10) -> MetricResult:
    """Inception Score (Salimans et al. 2016): mean and std over ``splits`` chunks, as torch-fidelity."""
    fake = ctx.fake()
    if fake.logits is None:
        raise ConfigError(f"the Inception Score needs class logits, and extractor '{ctx.resolve(DEFAULT_EXTRACTOR)}' "
                          f"has none; use eval.args.extractor=inception")
    mean, std = inception_score(fake.logits, splits=splits, seed=ctx.seed)
    return MetricResult({"is": mean, "is_std": std},
                        {"extractor": ctx.resolve(DEFAULT_EXTRACTOR), "splits": splits, "shuffle_seed": ctx.seed,
                         "n_fake": fake.n})
