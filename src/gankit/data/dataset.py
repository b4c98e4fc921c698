"""The data-source contract: what a source receives (DataRequest) and returns (Dataset)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from gankit.registry import ConfigError, Registry

DATA_SOURCES = Registry("data source")


@dataclass(frozen=True)
class DataRequest:
    """Settings common to all sources (from ``cfg.data``)."""

    path: Optional[str] = None
    resolution: Optional[int] = 32  # None keeps the native size
    channels: Optional[int] = None  # None keeps the source's channels
    strict: bool = False
    in_memory: Optional[bool] = None  # None: decide by max_memory_mb
    max_memory_mb: int = 4096
    num_workers: int = 2
    seed: int = 0  # for sources that synthesise data (ring, grid, stacked MNIST)


@dataclass
class Dataset:
    """A loaded data set.

    Exactly one of ``x``, ``stream`` and ``domains`` is set. Batches are mappings (see
    :class:`gankit.data.batches.Batches`): ``{"x", "y"}`` for one domain, ``{"x", "target", ...}``
    when ``fields`` holds paired tensors, ``{"a", "b"}`` for unpaired two-domain data.

    Attributes:
        x: in-memory samples: uint8 ``[N, C, H, W]`` for images (0..255), float32 ``[N, D]`` for
            vectors (natural units, e.g. the ring's coordinates).
        y: int64 ``[N]`` labels in ``0..num_classes-1``, or None when unlabelled.
        num_classes: number of classes (0 when unlabelled).
        class_names: one name per class.
        shape: per-sample shape, ``(C, H, W)`` or ``(D,)``.
        stream: for data too large to hold: a torch Dataset whose items are
            ``(uint8 [C, H, W] tensor, int label)``; batched by a DataLoader.
        info: facts for the run log, e.g. ``{"skipped": [(path, reason), ...], "files": 123}``.
        fields: extra in-memory per-sample tensors batched with the same indices as ``x`` and
            returned under their own key, e.g. ``{"target": uint8 [N, C, H, W]}`` for paired
            image-to-image data (pix2pix).
        domains: unpaired data: ``{"a": Dataset, "b": Dataset}``, each batched in its own seeded
            order; a batch is ``{"a": [B, ...], "b": [B, ...]}`` (CycleGAN). ``shape`` is the
            domains' common sample shape.
    """

    x: Optional[torch.Tensor]
    y: Optional[torch.Tensor]
    num_classes: int
    class_names: list
    shape: tuple
    stream: Any = None
    info: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    domains: dict = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    def __len__(self) -> int:
        if self.domains:  # an epoch of unpaired data is one pass over its larger domain
            return max(len(d) for d in self.domains.values())
        return len(self.stream) if self.stream is not None else int(self.x.shape[0])


def build_dataset(source: str, req: DataRequest, args: Optional[dict] = None, limit: Optional[int] = None) -> Dataset:
    """Build a registered source and check that it honours the contract above.

    Args:
        source: registered name (``data.source``).
        req: common settings.
        args: the source's own options (``data.args``).
        limit: keep a random subset of this many samples (seeded by ``req.seed``); None keeps all.
    """
    import gankit.data.sources  # noqa: F401  (registers the built-in sources)

    ds = DATA_SOURCES.build(source, args, where="data.args", req=req)
    if len(ds) == 0:
        raise ConfigError(f"data source '{source}' (data.path={req.path}) produced no samples")
    if ds.x is not None:
        want = torch.uint8 if ds.is_image else torch.float32
        assert ds.x.dtype == want, f"source {source} returned {ds.x.dtype}, contract says {want}"
        assert tuple(ds.x.shape[1:]) == tuple(ds.shape), (ds.x.shape, ds.shape)
    if ds.y is not None:
        assert ds.y.dtype == torch.int64 and len(ds.y) == len(ds)
    for key, t in ds.fields.items():
        assert ds.x is not None and len(t) == len(ds), f"source {source}: field {key} must match x ({len(ds)})"
    if ds.domains and limit is not None:
        ds.domains = {k: _subset(d, limit, req.seed) if limit < len(d) else d for k, d in ds.domains.items()}
        return ds
    if limit is not None and limit < len(ds):
        ds = _subset(ds, limit, req.seed)
    return ds


def _subset(ds: Dataset, limit: int, seed: int) -> Dataset:
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:limit].sort().values
    info = {**ds.info, "limit": limit, "full_size": len(ds)}
    if ds.stream is not None:
        return Dataset(None, None, ds.num_classes, ds.class_names, ds.shape,
                       stream=torch.utils.data.Subset(ds.stream, idx.tolist()), info=info)
    y = ds.y[idx] if ds.y is not None else None
    fields = {k: t[idx] for k, t in ds.fields.items()}
    return Dataset(ds.x[idx], y, ds.num_classes, ds.class_names, ds.shape, info=info, fields=fields)
