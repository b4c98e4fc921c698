"""``evaluate``: sample a generator, extract features once, run the requested metrics, record how.

Reference statistics (mean and covariance per extractor and reference data set, plus those of two
disjoint halves for the real-vs-real floor) are cached in memory for the process and on disk under
``<cache>/reference/<key>.safetensors``, keyed by the record of how they were computed, so periodic
evaluation during training pays for the reference once.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import torch

from gankit.io import atomic_write_json
from gankit.metrics.base import (DEFAULT_EXTRACTOR, FEATURE_EXTRACTORS, METRICS, FeatureExtractor, MetricResult,
                                 ReferenceSpec, metric_spec)
from gankit.metrics.cache import atomic_save_tensors, cache_root, canonical_json, record_key
from gankit.metrics.stats import FeatureStats, feature_stats, samples_needed
from gankit.priors import prior_of
from gankit.registry import ConfigError, closest

# Bump when the way reference statistics are computed changes (invalidates the disk cache).
STATS_VERSION = 1
# Reference subsets (n_real cap, real-vs-real halves) use this seed, not the evaluation seed, so
# that every evaluation of a run compares against the same real samples and cached statistics.
REFERENCE_SEED = 0
GLOBAL_ARGS = ("extractor", "extractors", "n_real")
LABELS_POLICY = "balanced over classes, shuffled by the same generator"

_EXTRACTORS: Dict[str, FeatureExtractor] = {}
_REFERENCES: Dict[str, "ReferenceEntry"] = {}


@dataclass
class FeatureSet:
    """Generated samples seen through one extractor: features ``[N, F]`` and logits ``[N, K]`` or None (CPU)."""

    features: torch.Tensor
    logits: Optional[torch.Tensor]

    @property
    def n(self) -> int:
        return int(self.features.shape[0])


@dataclass
class ReferenceEntry:
    """The reference seen through one extractor.

    Attributes:
        stats: moments of all reference samples.
        halves: moments of two disjoint random halves (the real-vs-real floor), or None when a half
            has fewer than ``F + 1`` samples.
        features: ``[N, F]`` features, kept only when a metric needs them (KID, precision/recall).
        shape: per-sample shape of the reference data.
        key: cache key.
    """

    stats: FeatureStats
    halves: Optional[Tuple[FeatureStats, FeatureStats]]
    features: Optional[torch.Tensor]
    shape: Tuple[int, ...]
    key: str

    @property
    def n(self) -> int:
        return self.stats.n

    @property
    def dim(self) -> int:
        return int(self.stats.mu.shape[0])


class MetricContext:
    """What a metric function sees: generated and reference features per extractor, seed, labels.

    Attributes:
        seed: the evaluation seed (also for a metric's own random subsets).
        fake_labels: ``[N]`` class labels given to a conditional generator, or None.
        main_extractor: the extractor that :data:`DEFAULT_EXTRACTOR` stands for.
        reference: the run's real data (:class:`ReferenceSpec`), for metrics that train on it (``cas``).
    """

    def __init__(self, seed: int, main_extractor: str, fake: Dict[str, FeatureSet], real: Dict[str, ReferenceEntry],
                 fake_labels: Optional[torch.Tensor], reference: Optional[ReferenceSpec] = None):
        self.seed = seed
        self.reference = reference
        self.main_extractor = main_extractor
        self._fake = fake
        self._real = real
        self.fake_labels = fake_labels

    def resolve(self, extractor: str) -> str:
        """Name of the extractor behind ``extractor`` (:data:`DEFAULT_EXTRACTOR` -> the main one)."""
        return self.main_extractor if extractor == DEFAULT_EXTRACTOR else extractor

    def fake(self, extractor: str = DEFAULT_EXTRACTOR) -> FeatureSet:
        """Generated-sample features through ``extractor``."""
        return self._fake[self.resolve(extractor)]

    def real(self, extractor: str = DEFAULT_EXTRACTOR) -> ReferenceEntry:
        """Reference statistics (and features when requested) through ``extractor``."""
        return self._real[self.resolve(extractor)]


def _versions() -> dict:
    import gankit

    out = {"gankit": gankit.__version__, "torch": torch.__version__, "python": platform.python_version()}
    try:  # the installed version, without importing torch-fidelity (which pulls in torchvision: seconds)
        out["torch_fidelity"] = importlib.metadata.version("torch-fidelity")
    except importlib.metadata.PackageNotFoundError:
        out["torch_fidelity"] = "not installed"
    return out


def reference_spec(data_cfg: Any, n_real: Optional[int] = None) -> ReferenceSpec:
    """Build a :class:`ReferenceSpec` from a run's ``cfg.data`` (DictConfig or mapping)."""
    from omegaconf import DictConfig, OmegaConf

    data = OmegaConf.to_container(data_cfg, resolve=True) if isinstance(data_cfg, DictConfig) else dict(data_cfg)
    if "source" not in data:
        raise ConfigError("data_cfg must hold data.source (pass the run's cfg.data)")
    if n_real is not None and n_real < 2:
        raise ConfigError(f"eval.args.n_real must be >= 2 (or null for the whole reference), got {n_real}")
    return ReferenceSpec(source=data["source"], path=data.get("path"), resolution=data.get("resolution", 32),
                         channels=data.get("channels"), args_json=canonical_json(data.get("args") or {}),
                         strict=bool(data.get("strict", False)), in_memory=data.get("in_memory"),
                         max_memory_mb=int(data.get("max_memory_mb", 4096)),
                         num_workers=int(data.get("num_workers", 2)), n_real=n_real)


def get_extractor(name: str, options: Optional[Mapping[str, Any]], device,
                  reference: ReferenceSpec) -> FeatureExtractor:
    """Build (or reuse, per process) a registered feature extractor.

    The reuse key is everything the builder receives: name, options, device and the reference data
    (mode centres, a trained classifier... depend on the run's data), unless the builder declares
    with :func:`~gankit.metrics.base.reference_free` that it ignores the reference (Inception).
    """
    builder = FEATURE_EXTRACTORS.get(name)
    ref = None if getattr(builder, "reference_free", False) else reference
    key = canonical_json([name, dict(options or {}), str(device), ref])
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = FEATURE_EXTRACTORS.build(name, options, where=f"eval.args.extractors.{name}",
                                                    device=device, reference=reference)
    return _EXTRACTORS[key]


def _reference_batches(spec: ReferenceSpec, batch_size: int) -> Tuple[Iterator[torch.Tensor], int, Tuple[int, ...]]:
    """Iterate the reference in batches.

    Returns:
        ``(batches, count, sample shape)``; a batch is uint8 ``[B, C, H, W]`` for images, float
        ``[B, D]`` for vectors.
    """
    from gankit.data import DataRequest, build_dataset

    req = DataRequest(path=spec.path, resolution=spec.resolution, channels=spec.channels, strict=spec.strict,
                      in_memory=spec.in_memory, max_memory_mb=spec.max_memory_mb, num_workers=spec.num_workers)
    ds = build_dataset(spec.source, req, spec.args)
    n = len(ds)
    index = torch.arange(n)
    if spec.n_real is not None and spec.n_real < n:
        g = torch.Generator().manual_seed(REFERENCE_SEED)
        index = torch.randperm(n, generator=g)[: spec.n_real].sort().values
    if ds.x is not None:
        batches = (ds.x[part] for part in index.split(batch_size))
    else:
        from torch.utils.data import DataLoader, Subset

        loader = DataLoader(Subset(ds.stream, index.tolist()), batch_size=batch_size, shuffle=False,
                            num_workers=spec.num_workers)
        batches = (x for x, _ in loader)
    return batches, len(index), tuple(ds.shape)


def _halves(features: torch.Tensor) -> Optional[Tuple[FeatureStats, FeatureStats]]:
    n, dim = features.shape
    half = n // 2
    if half < samples_needed(dim):
        return None
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(REFERENCE_SEED))
    return feature_stats(features[perm[:half]]), feature_stats(features[perm[half:2 * half]])


def _stats_tensors(entry: ReferenceEntry) -> Dict[str, torch.Tensor]:
    out = {"mu": entry.stats.mu, "sigma": entry.stats.sigma}
    if entry.halves is not None:
        a, b = entry.halves
        out.update(mu_a=a.mu, sigma_a=a.sigma, mu_b=b.mu, sigma_b=b.sigma)
    return out


def _cache_paths(key: str) -> Tuple[Path, Path]:
    folder = cache_root() / "reference"
    return folder / f"{key}.safetensors", folder / f"{key}.features.safetensors"


def _load_cached(key: str, need_features: bool) -> Optional[ReferenceEntry]:
    """Reference entry from memory or disk; None when absent (or when features are needed but not stored)."""
    entry = _REFERENCES.get(key)
    if entry is None:
        from safetensors import safe_open
        from safetensors.torch import load_file

        stats_file, _ = _cache_paths(key)
        if not stats_file.is_file():
            return None
        t = load_file(str(stats_file))
        with safe_open(str(stats_file), framework="pt") as fh:
            meta = fh.metadata()
        n = int(meta["n"])
        halves = None
        if "mu_a" in t:
            half = n // 2
            halves = (FeatureStats(t["mu_a"], t["sigma_a"], half), FeatureStats(t["mu_b"], t["sigma_b"], half))
        entry = ReferenceEntry(stats=FeatureStats(t["mu"], t["sigma"], n), halves=halves, features=None,
                               shape=tuple(json.loads(meta["shape"])), key=key)
        _REFERENCES[key] = entry
    if need_features and entry.features is None:
        from safetensors.torch import load_file

        _, features_file = _cache_paths(key)
        if not features_file.is_file():
            return None
        entry.features = load_file(str(features_file))["features"]
    return entry


def _compute_references(spec: ReferenceSpec, extractors: Dict[str, FeatureExtractor], keys: Dict[str, str],
                        records: Dict[str, dict], need_features: Dict[str, bool], batch_size: int,
                        device, progress: bool) -> Dict[str, ReferenceEntry]:
    """One pass over the reference computing every missing extractor's entry; writes them to the cache."""
    from tqdm import tqdm

    batches, n, shape = _reference_batches(spec, batch_size)
    feats: Dict[str, List[torch.Tensor]] = {name: [] for name in extractors}
    with torch.no_grad(), tqdm(total=n, unit="img", desc=f"reference features ({', '.join(extractors)})",
                               disable=not progress, delay=1.0) as bar:
        for x in batches:
            x = x.to(device)
            for name, ex in extractors.items():
                feats[name].append(ex.extract(x)[0].detach().cpu())
            bar.update(x.shape[0])
    out = {}
    for name in extractors:
        features = torch.cat(feats[name])
        entry = ReferenceEntry(stats=feature_stats(features), halves=_halves(features),
                               features=features if need_features[name] else None, shape=shape, key=keys[name])
        stats_file, features_file = _cache_paths(keys[name])
        meta = {"record": canonical_json(records[name]), "n": str(n), "shape": json.dumps(list(shape))}
        atomic_save_tensors(stats_file, _stats_tensors(entry), meta)
        if need_features[name]:
            atomic_save_tensors(features_file, {"features": features}, meta)
        _REFERENCES[keys[name]] = entry
        out[name] = entry
    return out


def _quantise(x: torch.Tensor) -> torch.Tensor:
    """Generator images in [-1, 1] -> uint8 0..255, what a saved PNG would hold."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def sample_inputs(n: int, z_dim: int, num_classes: int, seed: int, prior=None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The evaluation's noise and labels, independent of the batch size and device.

    Returns:
        ``z [n, z_dim]`` drawn from ``prior`` (default a standard gaussian of ``z_dim``) with
        ``torch.Generator().manual_seed(seed)`` on the CPU, then for a
        conditional generator balanced labels ``[n]`` (each class ``n // K`` or ``n // K + 1`` times)
        in an order shuffled by the same generator; None when unconditional.
    """
    g = torch.Generator().manual_seed(seed)
    z = prior.sample(n, g) if prior is not None else torch.randn(n, z_dim, generator=g)
    if not num_classes:
        return z, None
    y = (torch.arange(n) % num_classes)[torch.randperm(n, generator=g)]
    return z, y


def _module_device(module: torch.nn.Module, fallback) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device(fallback)


def _fake_features(G: torch.nn.Module, n: int, seed: int, batch_size: int, extractors: Dict[str, FeatureExtractor],
                   shape: Optional[Tuple[int, ...]], device,
                   progress: bool) -> Tuple[Dict[str, FeatureSet], Optional[torch.Tensor]]:
    """Generate ``n`` samples in batches and run every extractor on them.

    Returns:
        ``({extractor: FeatureSet}, labels [n] or None)``.
    """
    from tqdm import tqdm

    num_classes = int(getattr(G, "num_classes", 0) or 0)
    z, y = sample_inputs(n, int(G.z_dim), num_classes, seed, prior=prior_of(G))
    g_device = _module_device(G, device)
    feats: Dict[str, List[torch.Tensor]] = {name: [] for name in extractors}
    logits: Dict[str, List[torch.Tensor]] = {name: [] for name in extractors}
    was_training = G.training
    G.eval()  # per-sample outputs (BatchNorm running statistics): results cannot depend on the batch size
    try:
        with torch.no_grad(), tqdm(total=n, unit="img", desc=f"generated samples ({', '.join(extractors)})",
                                   disable=not progress, delay=1.0) as bar:
            for start in range(0, n, batch_size):
                zb = z[start:start + batch_size].to(g_device)
                yb = None if y is None else y[start:start + batch_size].to(g_device)
                x = G(zb, yb)
                if shape is not None and tuple(x.shape[1:]) != tuple(shape):
                    raise ConfigError(f"the generator makes samples of shape {tuple(x.shape[1:])} but the reference "
                                      f"data (data.source / data.resolution / data.channels) has {tuple(shape)}")
                x = (_quantise(x) if x.dim() == 4 else x.float()).to(device)
                for name, ex in extractors.items():
                    f, lg = ex.extract(x)
                    feats[name].append(f.detach().cpu())
                    if lg is not None:
                        logits[name].append(lg.detach().cpu())
                bar.update(x.shape[0])
    finally:
        G.train(was_training)
    out = {name: FeatureSet(torch.cat(feats[name]), torch.cat(logits[name]) if logits[name] else None)
           for name in extractors}
    return out, y


def _plain(args: Optional[Mapping[str, Any]]) -> dict:
    """``eval.args`` as plain dicts and lists (callers may pass a DictConfig, or a dict holding some)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(args, DictConfig):
        return OmegaConf.to_container(args, resolve=True)
    return {k: OmegaConf.to_container(v, resolve=True) if isinstance(v, (DictConfig, ListConfig)) else v
            for k, v in (args or {}).items()}


def _check_args(args: Mapping[str, Any]) -> None:
    valid = list(GLOBAL_ARGS) + METRICS.names()
    for key, value in args.items():
        if key not in valid:
            raise ConfigError(f"unknown setting eval.args.{key}.{closest(key, valid)} Valid: {', '.join(valid)}")
        if key in METRICS and value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"eval.args.{key} must be a mapping of {key}'s options, got {value!r}")
    for name in (args.get("extractors") or {}):
        FEATURE_EXTRACTORS.get(name)


def evaluate(G: torch.nn.Module, metrics: Sequence[str], *, data_cfg: Any, n_samples: int, seed: int = 0,
             device="cpu", args: Optional[Mapping[str, Any]] = None, out_dir: Optional[Path] = None,
             batch_size: int = 250, name: Optional[str] = None, progress: bool = False) -> Dict[str, float]:
    """Evaluate a generator against the real data of its run.

    Args:
        G: generator (contract of :mod:`gankit.models`); put in eval mode for the call, then restored.
        metrics: registered metric names, e.g. ``["fid", "kid", "classifier_fid"]``.
        data_cfg: the run's ``cfg.data`` (DictConfig or mapping): the reference data set.
        n_samples: number of generated samples.
        seed: seed of the noise, labels and metric subsets.
        device: where the feature extractors run (G stays on its own device).
        args: ``eval.args``: ``extractor`` (main feature space for is/fid/kid/pr, default
            ``"inception"``), ``extractors`` (``{name: options}``, e.g. ``{"inception": {"weights":
            PATH}}``), ``n_real`` (cap on reference samples) and ``{metric: options}``.
        out_dir: when given, ``<out_dir>/<name>.json`` receives the values and protocol record.
        batch_size: samples per generator / extractor call (results do not depend on it).
        name: output file stem; default the local time ``YYYYmmdd-HHMMSS``.
        progress: show progress bars (after one second) for sampling and feature extraction.

    Returns:
        ``{key: value}`` over all metrics' outputs (see :func:`gankit.metrics.metric_direction`).
    """
    import gankit
    from gankit.metrics import load_builtin_metrics

    load_builtin_metrics()
    args = _plain(args)
    metrics = list(dict.fromkeys(metrics))
    if not metrics:
        raise ConfigError("no metrics requested; choose from: " + ", ".join(METRICS.names()))
    if n_samples <= 0 or batch_size <= 0:
        raise ConfigError(f"n_samples and batch_size must be > 0, got {n_samples} and {batch_size}")
    _check_args(args)
    specs = {m: metric_spec(m) for m in metrics}
    main = args.get("extractor") or "inception"
    ref_spec = reference_spec(data_cfg, args.get("n_real"))
    ext_options = dict(args.get("extractors") or {})
    # extractor name -> does any metric compare with the reference / need its individual features
    needs_ref: Dict[str, bool] = {}
    needs_features: Dict[str, bool] = {}
    for spec in specs.values():
        ext = main if spec.extractor == DEFAULT_EXTRACTOR else spec.extractor
        needs_ref[ext] = needs_ref.get(ext, False) or spec.needs_reference
        needs_features[ext] = needs_features.get(ext, False) or spec.needs_real_features
    device = torch.device(device)
    extractors = {n: get_extractor(n, ext_options.get(n), device, ref_spec) for n in needs_ref}
    # gankit's version is part of the key: a release may change how a source prepares its images
    records = {n: {"reference": ref_spec.describe(), "extractor": ex.record(), "version": STATS_VERSION,
                   "gankit": gankit.__version__, "subset_seed": REFERENCE_SEED}
               for n, ex in extractors.items() if needs_ref[n]}
    keys = {n: record_key(r) for n, r in records.items()}

    real: Dict[str, ReferenceEntry] = {}
    missing: Dict[str, FeatureExtractor] = {}
    for n in keys:
        entry = _load_cached(keys[n], needs_features[n])
        if entry is None:
            missing[n] = extractors[n]
        else:
            real[n] = entry
    if missing:
        real.update(_compute_references(ref_spec, missing, keys, records, needs_features, batch_size, device,
                                        progress))
    # Scores of the generated samples alone (IS...) never load the reference, so there is no shape to check.
    shape = next(iter(real.values())).shape if real else None

    fake, labels = _fake_features(G, n_samples, seed, batch_size, extractors, shape, device, progress)
    ctx = MetricContext(seed, main, fake, real, labels, reference=ref_spec)
    values: Dict[str, float] = {}
    metric_records: Dict[str, dict] = {}
    for m in metrics:
        result: MetricResult = METRICS.build(m, args.get(m), where=f"eval.args.{m}", ctx=ctx)
        values.update(result.values)
        metric_records[m] = result.record
    if out_dir is not None:
        record = {
            "values": values,
            "protocol": {
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "metrics": metric_records,
                "samples": {"n_fake": n_samples, "seed": seed, "batch_size": batch_size,
                            "noise": f"{prior_of(G).describe()} drawn from torch.Generator().manual_seed(seed), CPU",
                            "labels": None if labels is None else LABELS_POLICY,
                            "quantisation": "images: round((clamp(x, -1, 1) + 1) * 127.5) to uint8"},
                "reference": None if not real else {
                    **ref_spec.describe(), "n_real": next(iter(real.values())).n, "subset_seed": REFERENCE_SEED,
                    "real_floor": "distance between two disjoint random halves of the reference"},
                "extractors": {n: ex.record() for n, ex in extractors.items()},
                "reference_cache_keys": keys,
                "device": str(device),
                "versions": _versions(),
            },
        }
        stem = name or time.strftime("%Y%m%d-%H%M%S")
        atomic_write_json(Path(out_dir) / f"{stem}.json", _json_safe(record))
    return values


def _json_safe(obj: Any) -> Any:
    """NaN/inf are not JSON: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def clear_memory_cache() -> None:
    """Forget the per-process extractors, classifiers and reference statistics (the disk cache stays)."""
    from gankit.metrics import classifier

    _EXTRACTORS.clear()
    _REFERENCES.clear()
    classifier.clear_loaded()
