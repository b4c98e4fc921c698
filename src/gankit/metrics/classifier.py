"""Domain classifiers for offline metrics (the TF-GAN MNIST-score idea, for any labelled data set).

:func:`get_classifier` trains a small CNN on a labelled ``build_dataset`` source, keeps a seeded
held-out part of the data to measure its accuracy, and caches it under
``<cache>/classifiers/<key>.safetensors`` + ``<key>.json``, where the key hashes the data source,
path, file identity, resolution, channels, source options and training settings.

With it come the ``classifier`` feature extractor (penultimate-layer features and class logits)
and three metrics: ``classifier_fid`` (Frechet distance in the classifier's feature space, with its
real-vs-real floor), ``classifier_score`` (``exp(E KL(p(y|x) || p(y)))``, the Inception-Score
analogue) and ``class_histogram`` (fraction of generated samples per predicted class).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from gankit.io import atomic_write_json
from gankit.metrics.base import FEATURE_EXTRACTORS, FeatureExtractor, MetricResult, ReferenceSpec, register_metric
from gankit.metrics.cache import atomic_save_tensors, cache_root, file_identity, record_key, sha256_file
from gankit.metrics.extractors import images_to_unit
from gankit.metrics.fidelity import frechet_metric
from gankit.metrics.stats import inception_score
from gankit.registry import ConfigError

FORMAT = "gankit-classifier-v1"
_LOADED: Dict[str, "Classifier"] = {}


class Classifier(nn.Module):
    """A small CNN: a stride-2 ``conv3x3 - BN - ReLU``, then ``[conv3x3 - BN - ReLU - maxpool2]`` stages
    until the map is at most 4x4, then two linear layers.

    Args:
        in_shape: ``(C, H, W)`` of the images.
        num_classes: number of classes ``K``.
        width: channels of the first stage (doubled per stage, at most ``8 * width``).
        feature_dim: size ``F`` of the penultimate layer (the feature space of ``classifier_fid``).
    """

    def __init__(self, in_shape: Tuple[int, int, int], num_classes: int, width: int = 16, feature_dim: int = 128):
        super().__init__()
        c, h, w = in_shape
        # A strided first convolution: a full-resolution stage would cost most of the CPU time
        # for no measurable accuracy (MNIST, 8,000 training digits).
        layers = [nn.Conv2d(c, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        c, h, w = width, (h + 1) // 2, (w + 1) // 2
        ch = 2 * width
        while min(h, w) > 4:
            layers += [nn.Conv2d(c, ch, 3, padding=1), nn.BatchNorm2d(ch), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c, h, w = ch, h // 2, w // 2
            ch = min(2 * ch, 8 * width)
        self.in_shape = tuple(in_shape)
        self.num_classes = num_classes
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c * h * w, feature_dim)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)
        self.meta: Dict[str, Any] = {}

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ConfigError(f"this classifier takes images of shape {self.in_shape}, got {tuple(x.shape[1:])}; "
                              f"train one for this data (gankit classifier train)")
        return images_to_unit(x) if x.dtype == torch.uint8 else x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations.

        Args:
            x: ``[N, C, H, W]`` images in [-1, 1] (or uint8 0..255).

        Returns:
            ``[N, F]`` features (after ReLU).
        """
        return F.relu(self.fc(self.body(self._check(x)).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[N, K]`` of images ``[N, C, H, W]`` in [-1, 1] (or uint8 0..255)."""
        return self.head(self.dropout(self.features(x)))

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
        """Fraction of ``x`` (``[N, C, H, W]``, [-1, 1] or uint8) whose predicted class equals ``y`` ``[N]``."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        try:
            correct = sum(int((self(xb.to(device)).argmax(1).cpu() == yb.cpu()).sum())
                          for xb, yb in zip(x.split(batch_size), y.split(batch_size)))
        finally:
            self.train(was_training)
        return correct / len(y)


def holdout_split(n: int, holdout: float, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Seeded split of ``range(n)`` into (train indices, held-out indices); ``round(holdout * n)`` held out."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_hold = int(round(holdout * n))
    return perm[n_hold:].sort().values, perm[:n_hold].sort().values


def _random_shift(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Translate each image by its own random whole-pixel offset in [-max_shift, max_shift]; background -1."""
    n, _, h, w = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=g).to(x.device, x.dtype)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    theta[:, 0, 2] = -2 * shifts[:, 0] / w
    theta[:, 1, 2] = -2 * shifts[:, 1] / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, mode="nearest", padding_mode="zeros", align_corners=False) - 1


def train_classifier(x: torch.Tensor, y: torch.Tensor, num_classes: int, *, width: int = 16, feature_dim: int = 128,
                     epochs: int = 8, batch_size: int = 64, lr: float = 2e-3, max_shift: int = 2,
                     holdout: float = 0.2, seed: int = 0, device="cpu", progress: bool = False) -> Classifier:
    """Train a :class:`Classifier` on in-memory images, holding out a seeded part to measure accuracy.

    Args:
        x: uint8 ``[N, C, H, W]`` images.
        y: int64 ``[N]`` labels in ``0..num_classes-1``.
        num_classes: ``K``.
        width, feature_dim: see :class:`Classifier`.
        epochs: passes over the training part.
        batch_size: images per step (drawn by index from the in-memory tensor).
        lr: Adam learning rate, decayed to 0 on a cosine schedule.
        max_shift: random translation augmentation in pixels (0 = off).
        holdout: fraction of the data kept out of training for the accuracy figure (0 = none).
        seed: seed of the split, the initialisation and the batch order.
        device: training device.
        progress: show a progress bar.

    Returns:
        The classifier in eval mode on ``device``; ``meta`` holds ``holdout_accuracy`` (None without
        a held-out part), ``n_train``, ``n_holdout`` and ``train_seconds``.
    """
    from tqdm import tqdm

    if not 0 <= holdout < 1:
        raise ConfigError(f"classifier holdout must be in [0, 1), got {holdout}")
    train_idx, hold_idx = holdout_split(len(y), holdout, seed)
    device = torch.device(device)
    start = time.time()
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # seeded init without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = Classifier(tuple(x.shape[1:]), num_classes, width, feature_dim).to(device)
    # channels_last: about 3x faster convolutions and pooling for these small maps on the CPU
    model = model.to(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(seed)
    xs = images_to_unit(x[train_idx].to(device)).contiguous(memory_format=torch.channels_last)
    ys = y[train_idx].to(device)
    steps_per_epoch = max(1, len(train_idx) // batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    model.train()
    with tqdm(total=epochs * steps_per_epoch, desc="training classifier", disable=not progress, delay=1.0) as bar:
        for _ in range(epochs):
            order = torch.randperm(len(train_idx), generator=g).to(device)
            for i in range(steps_per_epoch):
                idx = order[i * batch_size:(i + 1) * batch_size]
                xb = xs[idx]
                if max_shift:
                    xb = _random_shift(xb, max_shift, g)
                loss = F.cross_entropy(model(xb), ys[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                bar.update(1)
    # Back to the default layout: a classifier loaded from the cache must give bit-identical outputs.
    model = model.to(memory_format=torch.contiguous_format).eval()
    acc = model.accuracy(x[hold_idx], y[hold_idx]) if len(hold_idx) else None
    model.meta = {"holdout_accuracy": acc, "n_train": len(train_idx), "n_holdout": len(hold_idx),
                  "train_seconds": round(time.time() - start, 2)}
    return model


def _load_labelled(source: str, path: Optional[str], resolution: Optional[int], channels: Optional[int],
                   args: Mapping[str, Any]) -> Tuple[torch.Tensor, torch.Tensor, int, list]:
    """A labelled data set in memory: ``(x uint8 [N, C, H, W], y [N], num_classes, class_names)``."""
    from gankit.data import DataRequest, build_dataset

    ds = build_dataset(source, DataRequest(path=path, resolution=resolution, channels=channels), dict(args))
    if not ds.is_image:
        raise ConfigError(f"a classifier needs image data; data source '{source}' gives vectors of shape {ds.shape}")
    if ds.num_classes < 2:
        raise ConfigError(f"a classifier needs labelled data with at least 2 classes; data source '{source}' "
                          f"(path {path}) has {ds.num_classes}. For an image folder, use one sub-folder per class")
    if ds.x is not None:
        return ds.x, ds.y, ds.num_classes, list(ds.class_names)
    from torch.utils.data import DataLoader

    xs, ys = [], []
    for xb, yb in DataLoader(ds.stream, batch_size=500, shuffle=False, num_workers=2):
        xs.append(xb)
        ys.append(torch.as_tensor(yb))
    return torch.cat(xs), torch.cat(ys).long(), ds.num_classes, list(ds.class_names)


def classifier_record(source: str, path: Optional[str], resolution: Optional[int], channels: Optional[int],
                      args: Optional[Mapping[str, Any]], settings: Mapping[str, Any]) -> dict:
    """What a cached classifier is keyed by: the data (with the file's identity) and the training settings.

    gankit's version is included: a release may change how a source prepares its images.
    """
    import gankit

    return {"format": FORMAT, "gankit": gankit.__version__, "source": source, "path": str(Path(path).expanduser().resolve()) if path else None,
            "identity": file_identity(path), "resolution": resolution, "channels": channels,
            "args": dict(args or {}), "settings": dict(settings)}


def classifier_files(key: str) -> Tuple[Path, Path]:
    """``(weights .safetensors, meta .json)`` of a cached classifier."""
    folder = cache_root() / "classifiers"
    return folder / f"{key}.safetensors", folder / f"{key}.json"


def _load(key: str, device) -> Optional[Classifier]:
    from safetensors.torch import load_file

    weights, meta_file = classifier_files(key)
    if not (weights.is_file() and meta_file.is_file()):
        return None
    meta = json.loads(meta_file.read_text())
    s = meta["record"]["settings"]
    model = Classifier(tuple(meta["in_shape"]), meta["num_classes"], s["width"], s["feature_dim"])
    model.load_state_dict(load_file(str(weights)))
    model.meta = meta
    return model.to(device).eval()


def get_classifier(source: str, path: Optional[str] = None, resolution: Optional[int] = 32,
                   channels: Optional[int] = 1, args: Optional[Mapping[str, Any]] = None, train_if_missing: bool = True,
                   *, width: int = 16, feature_dim: int = 128, epochs: int = 8, batch_size: int = 64,
                   lr: float = 2e-3, max_shift: int = 2, holdout: float = 0.2, seed: int = 0, device="cpu",
                   retrain: bool = False, progress: bool = False) -> Classifier:
    """The cached classifier for a labelled data set, training (and caching) it when missing.

    Args:
        source, path, resolution, channels, args: the data set, as ``data.*`` of a run config
            (``channels=None`` keeps the source's).
        train_if_missing: train when no cached classifier matches; else raise ConfigError.
        width, feature_dim, epochs, batch_size, lr, max_shift, holdout, seed: training settings
            (see :func:`train_classifier`); they are part of the cache key.
        device: where the classifier is trained and returned.
        retrain: train again even when a cached one exists (and replace it).
        progress: progress bar while training.

    Returns:
        A :class:`Classifier` in eval mode; ``meta`` holds the record, cache key, weights file and
        its sha256, class names and held-out accuracy.
    """
    settings = {"width": width, "feature_dim": feature_dim, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                "max_shift": max_shift, "holdout": holdout, "seed": seed}
    record = classifier_record(source, path, resolution, channels, args, settings)
    key = record_key(record)
    device = torch.device(device)
    memo = f"{key}:{device}"
    if not retrain:
        if memo in _LOADED:
            return _LOADED[memo]
        model = _load(key, device)
        if model is not None:
            _LOADED[memo] = model
            return model
        if not train_if_missing:
            raise ConfigError(f"no cached classifier for data source '{source}' (path {path}, resolution {resolution}, "
                              f"channels {channels}) in {classifier_files(key)[0].parent}; train one with "
                              f"`gankit classifier train --data {source}" + (f" --path {path}`" if path else "`"))
    x, y, num_classes, class_names = _load_labelled(source, path, resolution, channels, args or {})
    model = train_classifier(x, y, num_classes, width=width, feature_dim=feature_dim, epochs=epochs,
                             batch_size=batch_size, lr=lr, max_shift=max_shift, holdout=holdout, seed=seed,
                             device=device, progress=progress)
    weights, meta_file = classifier_files(key)
    atomic_save_tensors(weights, model.state_dict())
    meta = {"format": FORMAT, "key": key, "record": record, "in_shape": list(x.shape[1:]), "num_classes": num_classes,
            "class_names": class_names, **model.meta, "weights": str(weights), "weights_sha256": sha256_file(weights),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "torch": torch.__version__}
    atomic_write_json(meta_file, meta)
    model.meta = meta
    _LOADED[memo] = model
    return model


def clear_loaded() -> None:
    """Forget the classifiers loaded in this process (the cache files stay)."""
    _LOADED.clear()


class ClassifierExtractor(FeatureExtractor):
    """Penultimate-layer features and logits of the run's data classifier."""

    name = "classifier"

    def __init__(self, model: Classifier):
        self.model = model

    def extract(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if x.dtype != torch.uint8:
            raise ConfigError("the classifier extractor takes images; vector data have no classifier metrics")
        with torch.no_grad():
            features = self.model.features(x)
            return features, self.model.head(features)

    def record(self) -> dict:
        m = self.model.meta
        return {"name": self.name, "weights": m["weights"], "weights_sha256": m["weights_sha256"],
                "classifier_key": m["key"], "trained_on": {k: m["record"][k] for k in ("source", "path", "args")},
                "holdout_accuracy": m["holdout_accuracy"], "n_holdout": m["n_holdout"],
                "input": "uint8 images scaled to [-1, 1] at the data resolution (no resize)",
                "features": f"penultimate layer, {m['record']['settings']['feature_dim']}-d",
                "settings": m["record"]["settings"]}


@FEATURE_EXTRACTORS.register("classifier")
def build_classifier_extractor(device, reference: ReferenceSpec, train_if_missing: bool = True, width: int = 16,
                               feature_dim: int = 128, epochs: int = 8, batch_size: int = 64, lr: float = 2e-3,
                               max_shift: int = 2, holdout: float = 0.2, seed: int = 0) -> ClassifierExtractor:
    """The run's data classifier (trained and cached on first use unless ``train_if_missing=False``)."""
    model = get_classifier(reference.source, reference.path, reference.resolution, reference.channels, reference.args,
                           train_if_missing, width=width, feature_dim=feature_dim, epochs=epochs, batch_size=batch_size,
                           lr=lr, max_shift=max_shift, holdout=holdout, seed=seed, device=device, progress=True)
    return ClassifierExtractor(model)


@register_metric("classifier_fid", extractor="classifier",
                 directions={"classifier_fid": "min", "classifier_fid_real_floor": None})
def classifier_fid(ctx) -> MetricResult:
    """Frechet distance in the data classifier's feature space (TF-GAN's MNIST Frechet distance) and its floor."""
    return frechet_metric(ctx, "classifier_fid", "classifier")


@register_metric("classifier_score", extractor="classifier", needs_reference=False,
                 directions={"classifier_score": "max"})
def classifier_score(ctx, splits: int = 1) -> MetricResult:
    """``exp(E_x KL(p(y|x) || p(y)))`` under the data classifier (TF-GAN's MNIST score); at most K."""
    fake = ctx.fake("classifier")
    mean, _ = inception_score(fake.logits, splits=splits, seed=ctx.seed)
    return MetricResult({"classifier_score": mean}, {"splits": splits, "n_fake": fake.n, "max": fake.logits.shape[1]})


@register_metric("class_histogram", extractor="classifier", needs_reference=False,
                 directions={"class_hist/": None})
def class_histogram(ctx) -> MetricResult:
    """Fraction of generated samples per class predicted by the data classifier: ``class_hist/<k>``."""
    fake = ctx.fake("classifier")
    k = fake.logits.shape[1]
    counts = torch.bincount(fake.logits.argmax(dim=1), minlength=k).to(torch.float64)
    values = {f"class_hist/{i}": float(c) / fake.n for i, c in enumerate(counts)}
    return MetricResult(values, {"n_fake": fake.n, "classes": k})


@register_metric("class_accuracy", extractor="classifier", needs_reference=False,
                 directions={"class_accuracy": "max"})
def class_accuracy(ctx) -> MetricResult:
    """Conditional generators: fraction of samples the data classifier assigns to the class asked for."""
    if ctx.fake_labels is None:
        raise ConfigError("class_accuracy needs a conditional generator (model.conditional=true); "
                          "this one takes no labels")
    fake = ctx.fake("classifier")
    hits = (fake.logits.argmax(dim=1) == ctx.fake_labels.to(fake.logits.device)).to(torch.float64)
    return MetricResult({"class_accuracy": float(hits.mean())}, {"n_fake": fake.n})
