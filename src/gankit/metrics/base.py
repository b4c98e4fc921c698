"""Metric and feature-extractor contracts and their registries.

A *metric* is a function registered with :func:`register_metric`; it receives a
:class:`~gankit.metrics.evaluate.MetricContext` (generated samples and the reference, each seen
through feature extractors, computed once and shared by all metrics) plus its own typed options,
and returns :class:`MetricResult`: named floats and a record of how they were computed.

A *feature extractor* is a builder registered in ``FEATURE_EXTRACTORS`` with the signature
``fn(device, reference: ReferenceSpec, **options) -> FeatureExtractor``. Built extractors are
reused within a process for the same name, options, device and reference; a builder whose result
does not depend on the reference says so with :func:`reference_free`, and is then shared by all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from gankit.registry import Registry

METRICS = Registry("metric")
FEATURE_EXTRACTORS = Registry("feature extractor")

def reference_free(builder: Callable) -> Callable:
    """Mark a feature-extractor builder whose extractor ignores ``reference`` (fixed weights such as
    Inception): evaluations of different data sets then share one instance instead of one each."""
    builder.reference_free = True
    return builder


# The role a metric gives as its extractor to mean "the evaluation's main extractor"
# (eval.args.extractor, Inception by default).
DEFAULT_EXTRACTOR = "default"


@dataclass(frozen=True)
class MetricSpec:
    """What a registered metric needs and how to read its outputs.

    Attributes:
        extractor: feature extractor name, or :data:`DEFAULT_EXTRACTOR` for the evaluation's main one.
        needs_reference: the metric compares with the reference data (False for IS-like scores of the
            generated samples alone, which then never load the reference).
        needs_real_features: the metric uses the reference's individual features (KID, precision/recall),
            not only their mean and covariance.
        directions: output key -> ``"min"`` (lower is better), ``"max"`` or None (informational).
    """

    extractor: str
    needs_reference: bool
    needs_real_features: bool
    directions: Dict[str, Optional[str]]


_SPECS: Dict[str, MetricSpec] = {}


def register_metric(name: str, *, extractor: str = DEFAULT_EXTRACTOR, needs_reference: bool = True,
                    needs_real_features: bool = False,
                    directions: Dict[str, Optional[str]]) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn(ctx, **options) -> MetricResult`` as metric ``name``.

    Args:
        name: registry name used in ``--metrics`` / ``eval.metrics``.
        extractor: feature space the metric works in (see :class:`MetricSpec`).
        needs_reference, needs_real_features: see :class:`MetricSpec`.
        directions: for every key the metric returns (``"prefix/"`` for a family such as
            ``class_hist/0..K-1``): ``"min"``, ``"max"`` or None.
    """

    def wrap(fn: Callable) -> Callable:
        METRICS.register(name)(fn)
        _SPECS[name] = MetricSpec(extractor=extractor, needs_reference=needs_reference or needs_real_features,
                                  needs_real_features=needs_real_features, directions=dict(directions))
        return fn

    return wrap


def metric_spec(name: str) -> MetricSpec:
    """The :class:`MetricSpec` of a registered metric (ConfigError naming the valid ones if unknown)."""
    METRICS.get(name)
    return _SPECS[name]


def metric_direction(key: str) -> Optional[str]:
    """Whether a result key is better low (``"min"``), high (``"max"``) or neither (None).

    Args:
        key: a key of :func:`gankit.metrics.evaluate`'s result, e.g. ``"fid"``, ``"precision"``,
            ``"class_hist/3"``.

    Returns:
        ``"min"``, ``"max"`` or None. Raises KeyError for a key no registered metric produces.
    """
    from gankit.metrics import load_builtin_metrics

    load_builtin_metrics()
    for spec in _SPECS.values():
        for k, direction in spec.directions.items():
            if key == k or (k.endswith("/") and key.startswith(k)):
                return direction
    raise KeyError(f"no registered metric reports '{key}'")


@dataclass
class MetricResult:
    """Named floats plus the record of how they were computed (options, sample counts...)."""

    values: Dict[str, float]
    record: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReferenceSpec:
    """Which real data a metric compares against (from the run's ``cfg.data``).

    Attributes mirror :class:`gankit.config.DataConfig`; ``args`` is stored as canonical JSON text
    so that the spec is hashable. ``n_real`` caps the number of reference samples (a seeded subset,
    independent of the evaluation seed); None uses them all.
    """

    source: str
    path: Optional[str]
    resolution: Optional[int]
    channels: Optional[int]
    args_json: str
    strict: bool = False
    in_memory: Optional[bool] = None
    max_memory_mb: int = 4096
    num_workers: int = 2
    n_real: Optional[int] = None

    @property
    def args(self) -> dict:
        import json

        return json.loads(self.args_json)

    def describe(self) -> dict:
        """The reference's part of the protocol record."""
        from gankit.metrics.cache import file_identity

        return {"source": self.source, "path": self.path, "args": self.args, "resolution": self.resolution,
                "channels": self.channels, "n_real_cap": self.n_real, "identity": file_identity(self.path)}


class FeatureExtractor:
    """Maps a batch of samples to features and (optionally) class logits.

    Subclasses set ``name`` and implement :meth:`extract` and :meth:`record`.
    """

    name: str = ""

    def extract(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Features of one batch.

        Args:
            x: uint8 ``[N, C, H, W]`` images (0..255, what a saved PNG holds) or float ``[N, D]``
                vectors in the data's natural units, on the extractor's device.

        Returns:
            ``(features float [N, F], logits float [N, K] or None when there is no class head)``.
        """
        raise NotImplementedError

    def record(self) -> dict:
        """Protocol facts: name, weights file and hash, input/resize policy."""
        raise NotImplementedError
