"""Evaluation metrics: a registry of metrics over a registry of feature extractors.

Built-in metrics (``gankit eval --metrics ...``; "min" = lower is better):

====================  =============================================  =========================
metric                keys                                            better
====================  =============================================  =========================
``fid``               ``fid``, ``fid_real_floor``                     fid: min
``kid``               ``kid``, ``kid_std``                            kid: min
``pr``                ``precision``, ``recall``                       both: max
``is``                ``is``, ``is_std``                              is: max
``classifier_fid``    ``classifier_fid``, ``classifier_fid_real_floor``  classifier_fid: min
``classifier_score``  ``classifier_score``                            max
``class_histogram``   ``class_hist/<k>`` (fraction per class)         (informational)
``class_accuracy``    ``class_accuracy`` (conditional generators)     max
``cas``               ``cas``, ``cas_real`` (conditional generators)  cas: max
====================  =============================================  =========================

Feature extractors: ``inception`` (torch-fidelity's TF-compatible InceptionV3), ``classifier``
(a small CNN trained on the run's labelled data), ``tiny`` (fixed random conv net, for tests) and
``raw`` (the samples themselves).
"""

from gankit.metrics.base import (DEFAULT_EXTRACTOR, FEATURE_EXTRACTORS, METRICS, FeatureExtractor,  # noqa: F401
                                 MetricResult, MetricSpec, ReferenceSpec, metric_direction, metric_spec,
                                 reference_free, register_metric)
from gankit.metrics.evaluate import MetricContext, clear_memory_cache, evaluate  # noqa: F401


def load_builtin_metrics() -> None:
    """Import the metric and extractor modules so that they register themselves."""
    import importlib
    import pkgutil

    import gankit.metrics as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gankit.metrics.{mod.name}")
