"""Classification accuracy score (CAS; Ravuri & Vinyals 2019, StudioGAN's GAN-train): train a
classifier on generated samples only and test it on real data.

A conditional generator's samples, labelled with the classes they were asked for, train gankit's
data classifier (:func:`gankit.metrics.classifier.train_classifier`, same settings as the real-data
one, no held-out part); its accuracy on real test images is ``cas``. Beside it, ``cas_real`` is the
accuracy of the same classifier, trained the same way on the real training images: the ceiling a
perfect generator would reach (with as many samples as there are real ones). Equal inputs give
equal numbers: real images passed as "generated" score exactly ``cas_real``.

The real test images are the held-out part (``holdout``, a seeded split) of the run's data, which
then trains the real classifier on the rest; or another data source (``test_source``,
``test_path``, ``test_args``; e.g. the MNIST test set through ``mnist-idx`` with ``split: test``),
with the whole run data for the real classifier. ``cas_real`` is cached under
``<cache>/cas/<key>.json``, keyed by the data files' identities, the test data, the split and the
classifier settings.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

import torch

from gankit.io import atomic_write_json
from gankit.metrics.base import MetricResult, register_metric
from gankit.metrics.cache import cache_root, record_key
from gankit.metrics.classifier import _load_labelled, classifier_record, holdout_split, train_classifier
from gankit.registry import ConfigError

FORMAT = "gankit-cas-v1"
#: Classifier settings of CAS (those of the data classifier; each is a metric option).
SETTINGS = {"width": 16, "feature_dim": 128, "epochs": 8, "batch_size": 64, "lr": 2e-3, "max_shift": 2, "seed": 0}


def train_and_test(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                   num_classes: int, settings: Optional[Mapping[str, Any]] = None, device="cpu") -> float:
    """Accuracy on ``(x_test, y_test)`` of a classifier trained on ``(x_train, y_train)``.

    Args:
        x_train, x_test: uint8 ``[N, C, H, W]`` images.
        y_train, y_test: int64 ``[N]`` labels in ``0..num_classes-1``.
        num_classes: ``K``.
        settings: classifier settings (keys of :data:`SETTINGS`; missing ones take its values).
        device: training device.
    """
    s = {**SETTINGS, **dict(settings or {})}
    unknown = sorted(set(s) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"eval.args.cas: unknown classifier setting(s) {unknown}; valid: {', '.join(SETTINGS)}")
    # train_classifier seeds the initialisation and the batch order; dropout draws from the global
    # stream, seeded here too so that equal inputs give equal accuracies (the CAS contract).
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(s["seed"])
        model = train_classifier(x_train, y_train, num_classes, holdout=0.0, device=device, **s)
    return model.accuracy(x_test, y_test)


def classification_accuracy_score(x_gen: torch.Tensor, y_gen: torch.Tensor, x_real: torch.Tensor,
                                  y_real: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor, num_classes: int,
                                  settings: Optional[Mapping[str, Any]] = None, device="cpu") -> Dict[str, float]:
    """CAS of generated data next to the real-data accuracy, both on the same real test data.

    Args:
        x_gen, y_gen: generated uint8 images ``[M, C, H, W]`` and the classes asked for ``[M]``.
        x_real, y_real: real training images and labels.
        x_test, y_test: real test images and labels.
        num_classes, settings, device: see :func:`train_and_test`.

    Returns:
        ``{"cas": accuracy of the generated-data classifier, "cas_real": of the real-data one}``.
    """
    return {"cas": train_and_test(x_gen, y_gen, x_test, y_test, num_classes, settings, device),
            "cas_real": train_and_test(x_real, y_real, x_test, y_test, num_classes, settings, device)}


def _test_split(ref, test_source, test_path, test_args, holdout, seed):
    """``(x_real_train, y_real_train, x_test, y_test, num_classes, record)`` for a reference spec."""
    x, y, k, _ = _load_labelled(ref.source, ref.path, ref.resolution, ref.channels, ref.args)
    if test_source is None:
        if not 0 < holdout < 1:
            raise ConfigError(f"eval.args.cas.holdout must be in (0, 1) when no test_source is given, got {holdout}")
        train_idx, test_idx = holdout_split(len(y), holdout, seed)
        test = {"held_out_of_run_data": holdout, "split_seed": seed, "n": len(test_idx)}
        return x[train_idx], y[train_idx], x[test_idx], y[test_idx], k, test
    xt, yt, kt, _ = _load_labelled(test_source, test_path, ref.resolution, ref.channels, dict(test_args or {}))
    if kt != k:
        raise ConfigError(f"eval.args.cas.test_source={test_source} has {kt} classes but the run's data has {k}")
    return x, y, xt, yt, k, classifier_record(test_source, test_path, ref.resolution, ref.channels, test_args, {})


@register_metric("cas", extractor="raw", needs_reference=False, directions={"cas": "max", "cas_real": None})
def cas(ctx, test_source: Optional[str] = None, test_path: Optional[str] = None,
        test_args: Optional[Mapping[str, Any]] = None, holdout: float = 0.2, **settings) -> MetricResult:
    """Classification accuracy score of a conditional generator (see the module docstring).

    Options: ``test_source``/``test_path``/``test_args`` (real test data; default the held-out
    ``holdout`` of the run's data) and the classifier settings of :data:`SETTINGS`.
    """
    if ctx.fake_labels is None:
        raise ConfigError("the cas metric needs a conditional generator (model.conditional=true): it trains a "
                          "classifier on the classes the samples were asked for")
    if ctx.reference is None:
        raise ConfigError("the cas metric needs the run's data (evaluate(..., data_cfg=cfg.data))")
    s = {**SETTINGS, **settings}
    unknown = sorted(set(s) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"eval.args.cas: unknown option(s) {unknown}; valid: test_source, test_path, "
                          f"test_args, holdout, {', '.join(SETTINGS)}")
    ref = ctx.reference
    x_real, y_real, x_test, y_test, k, test_record = _test_split(ref, test_source, test_path, test_args, holdout,
                                                                  s["seed"])
    fake = ctx.fake("raw").features
    shape = tuple(x_real.shape[1:])
    if fake.shape[1] != x_real[0].numel():
        raise ConfigError(f"the generator's samples ({fake.shape[1]} values) do not match the run's images {shape}")
    # raw features are the quantised images scaled to [-1, 1]: back to the uint8 a saved PNG holds
    x_gen = ((fake.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).view(-1, *shape)
    y_gen = ctx.fake_labels.long()
    if int(y_gen.max()) >= k:
        raise ConfigError(f"the generator draws classes up to {int(y_gen.max())} but the run's data has {k}")
    import gankit

    real_record = {"format": FORMAT, "gankit": gankit.__version__, "settings": s,
                   "train": classifier_record(ref.source, ref.path, ref.resolution, ref.channels, ref.args, {}),
                   "test": test_record}
    key = record_key(real_record)
    cached = cache_root() / "cas" / f"{key}.json"
    if cached.is_file():
        real_acc = json.loads(cached.read_text())["cas_real"]
    else:
        real_acc = train_and_test(x_real, y_real, x_test, y_test, k, s)
        atomic_write_json(cached, {"cas_real": real_acc, "record": real_record, "n_train": len(y_real),
                                   "n_test": len(y_test)})
    value = train_and_test(x_gen, y_gen, x_test, y_test, k, s)
    return MetricResult({"cas": value, "cas_real": real_acc},
                        {"n_fake": len(y_gen), "n_real_train": len(y_real), "n_test": len(y_test),
                         "test": test_record, "classifier": s, "cas_real_cache_key": key,
                         "protocol": "classifier trained on generated samples with the classes asked for, "
                                     "tested on real images; cas_real: the same classifier trained on real images"})
