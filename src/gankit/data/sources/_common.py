"""Helpers shared by the built-in data sources (not a source itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from gankit.data.dataset import DataRequest, Dataset
from gankit.data.transforms import convert_channels, to_resolution
from gankit.registry import ConfigError

SPLITS = ("train", "test", "all")


def require_path(req: DataRequest, source: str, kind: str, what: str) -> Path:
    """Return ``req.path`` as a Path after checking it exists and is a ``kind``.

    Args:
        req: the request whose ``path`` to check.
        source: registry name of the calling source, for the message.
        kind: ``"dir"`` or ``"file"``.
        what: what the path should hold, e.g. ``"a folder of MNIST IDX files"``.

    Returns:
        The expanded path.
    """
    if not req.path:
        raise ConfigError(f"data source '{source}' reads {what}: set data.path to it")
    path = Path(req.path).expanduser()
    if not path.exists():
        raise ConfigError(f"data.path={req.path} does not exist; data source '{source}' needs {what}")
    if kind == "dir" and not path.is_dir():
        raise ConfigError(f"data.path={req.path} is a file; data source '{source}' needs {what}")
    if kind == "file" and not path.is_file():
        raise ConfigError(f"data.path={req.path} is a folder; data source '{source}' needs {what}")
    return path


def check_split(split: str) -> str:
    """Validate the ``split`` option shared by the file-set sources."""
    if split not in SPLITS:
        raise ConfigError(f"data.args.split must be one of {', '.join(SPLITS)}, got '{split}'")
    return split


def labels_tensor(labels: np.ndarray, where: str) -> torch.Tensor:
    """Integer labels as int64 ``[N]``, checked to be non-negative.

    Args:
        labels: any integer array ``[N]``.
        where: file or setting the labels came from, for the message.
    """
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(f"labels in {where} must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and int(labels.min()) < 0:
        raise ConfigError(f"labels in {where} must be >= 0, found {int(labels.min())}")
    return torch.from_numpy(labels.astype(np.int64, copy=False))


def image_dataset(x: torch.Tensor, y: Optional[torch.Tensor], class_names: Sequence[str], req: DataRequest,
                  info: dict) -> Dataset:
    """Apply the channel then the resolution policy and wrap the result.

    Args:
        x: uint8 ``[N, C, H, W]`` native images (C may include alpha).
        y: int64 ``[N]`` labels or None.
        class_names: one name per class (empty when unlabelled).
        req: supplies ``channels`` and ``resolution``.
        info: facts for the run log.

    Returns:
        A Dataset with ``x`` uint8 ``[N, C', R, R]``.
    """
    # Alpha compositing and luma before resizing, grey replication after: each step then touches
    # the fewest values, and the result equals converting first (replication commutes with resizing).
    x = convert_channels(x, 1 if req.channels == 1 else None)
    x = convert_channels(to_resolution(x, req.resolution), req.channels)
    num_classes = len(class_names) if y is not None else 0
    return Dataset(x=x, y=y, num_classes=num_classes, class_names=list(class_names) if y is not None else [],
                   shape=tuple(x.shape[1:]), info=info)
