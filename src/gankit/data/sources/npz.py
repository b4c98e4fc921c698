"""``npz``: a numpy ``.npz`` archive holding ``x`` (and optionally ``y`` and ``class_names``).

``x`` layouts:

- ``[N, C, H, W]`` or ``[N, H, W, C]`` images; channels-last is detected when the last dimension is
  1, 3 or 4 and the second is not. ``[N, H, W]`` is a batch of grey images.
- ``[N, D]`` float: a vector data set (returned as float32, natural units, no rescaling).

Image values: integers in 0..255, or floats in [0, 1] (scaled by 255) or [-1, 1] (mapped by
``(v + 1) * 127.5``), rounded to uint8. ``float_range: auto`` picks [0, 1] when no value is
negative, else [-1, 1]; an all-non-negative [-1, 1] array is therefore read as [0, 1] unless
``float_range`` says otherwise. Values outside the range (beyond a 1e-3 rounding tolerance) are an
error that reports the range found. ``y``: integer labels ``[N]``; ``class_names``: a string array.
The archive is opened with ``allow_pickle=False``: object arrays are refused.
"""

from __future__ import annotations

import zipfile
import zlib

import numpy as np
import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset
from gankit.data.sources._common import image_dataset, labels_tensor, require_path
from gankit.registry import ConfigError

FLOAT_RANGES = ("auto", "0,1", "-1,1")
TOLERANCE = 1e-3  # float images slightly outside [0, 1] from rounding are clipped, not rejected


def float_images_to_uint8(x: np.ndarray, float_range: str, where: str) -> np.ndarray:
    """Map float images in [0, 1] or [-1, 1] to uint8 0..255 (rounded).

    Args:
        x: float array of any shape.
        float_range: ``"auto"``, ``"0,1"`` or ``"-1,1"``.
        where: file name for messages.

    Returns:
        uint8 array of the same shape.
    """
    lo, hi = float(x.min()), float(x.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ConfigError(f"{where}: x holds NaN or infinite values")
    if float_range == "auto":
        float_range = "0,1" if lo >= 0.0 else "-1,1"
    low = 0.0 if float_range == "0,1" else -1.0
    if lo < low - TOLERANCE or hi > 1.0 + TOLERANCE:
        raise ConfigError(f"{where}: float images must lie in [0, 1] or [-1, 1]; found [{lo:.4g}, {hi:.4g}] "
                          f"(data.args.float_range={float_range}). Rescale x, or store it as uint8 0..255")
    scaled = x * 255.0 if low == 0.0 else (x + 1.0) * 127.5
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def channels_first(x: np.ndarray, where: str) -> np.ndarray:
    """Bring a 3-D or 4-D image array to ``[N, C, H, W]`` (see the module docstring for the rule)."""
    if x.ndim == 3:
        return x[:, None]
    if x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        return x.transpose(0, 3, 1, 2)
    if x.shape[1] not in (1, 3, 4):
        raise ConfigError(f"{where}: cannot find the channel axis of x with shape {x.shape}; store images as "
                          f"[N, C, H, W] or [N, H, W, C] with C = 1, 3 or 4")
    return x


@DATA_SOURCES.register("npz")
def npz(req: DataRequest, float_range: str = "auto") -> Dataset:
    """Images or vectors from a ``.npz`` file (``x``, optional ``y`` and ``class_names``).

    Args:
        req: common settings; ``path`` is the .npz file. ``resolution``/``channels`` apply to images only.
        float_range: value range of float images: ``"auto"`` (detect), ``"0,1"`` or ``"-1,1"``.

    Returns:
        A Dataset with ``x`` uint8 ``[N, C, R, R]`` (images) or float32 ``[N, D]`` (vectors).
    """
    if float_range not in FLOAT_RANGES:
        raise ConfigError(f"data.args.float_range must be one of {', '.join(FLOAT_RANGES)}, got '{float_range}'")
    path = require_path(req, "npz", "file", "an .npz file with an array 'x'")
    save_hint = "save the data with np.savez(path, x=samples, y=labels)"
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as e:
        raise ConfigError(f"cannot read data.path={req.path} ({e.strerror or e}); check its permissions") from None
    # numpy would try any other file as a pickle and suggest loading it unsafely: refuse it first.
    if not head.startswith(b"PK"):
        kind = "it is a single .npy array" if head.startswith(b"\x93NUMPY") else "it is not a zip archive"
        raise ConfigError(f"data.path={req.path} is not an .npz archive ({kind}); {save_hint}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ConfigError(f"data.path={req.path} is a damaged .npz archive ({type(e).__name__}); {save_hint}") from None
    with archive:
        if "x" not in archive.files:
            raise ConfigError(f"{path} has no array 'x' (found: {', '.join(archive.files) or 'none'}); save the "
                              f"samples as x, e.g. np.savez(path, x=images, y=labels)")
        try:
            x = archive["x"]
            y = archive["y"] if "y" in archive.files else None
            names = archive["class_names"] if "class_names" in archive.files else None
        except ValueError:  # object arrays need pickle, which stays disabled
            raise ConfigError(f"{path} holds object arrays (pickled Python objects), which gankit never loads; store "
                              f"plain numeric arrays (and class_names as a string array)") from None
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise ConfigError(f"{path}: a member of the archive is damaged ({type(e).__name__}: {e}); "
                              f"{save_hint}") from None
    n = len(x)
    if n == 0 or x.ndim not in (2, 3, 4):
        raise ConfigError(f"{path}: x must be [N, D] vectors or [N, C, H, W] / [N, H, W, C] / [N, H, W] images "
                          f"with N > 0, got shape {x.shape}")
    labels = None
    if y is not None:
        if len(y) != n:
            raise ConfigError(f"{path}: y has {len(y)} labels for {n} samples in x")
        labels = labels_tensor(y, f"{path}:y")
    if labels is None:
        class_names = []
    elif names is not None:
        class_names = [s.decode() if isinstance(s, bytes) else str(s) for s in names.tolist()]
        if len(class_names) <= int(labels.max()):
            raise ConfigError(f"{path}: class_names has {len(class_names)} names but y goes up to {int(labels.max())}")
    else:
        class_names = [str(k) for k in range(int(labels.max()) + 1)]
    info = {"file": str(path), "native": tuple(x.shape[1:]), "dtype": str(x.dtype)}

    if x.ndim == 2:
        if not np.issubdtype(x.dtype, np.floating):
            raise ConfigError(f"{path}: a 2-D x is a vector data set and must be float, got {x.dtype}; for images "
                              f"reshape x to [N, C, H, W], for integer vectors cast x to float32")
        data = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return Dataset(x=data, y=labels, num_classes=len(class_names), class_names=class_names,
                       shape=tuple(data.shape[1:]), info=info)

    x = channels_first(x, str(path))
    if np.issubdtype(x.dtype, np.floating):
        x = float_images_to_uint8(x, float_range, str(path))
    elif np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ConfigError(f"{path}: integer images must be 0..255, found {lo}..{hi}; store uint8 images")
        x = x.astype(np.uint8, copy=False)
    else:
        raise ConfigError(f"{path}: x has dtype {x.dtype}; images must be integer 0..255 or float")
    images = torch.from_numpy(np.ascontiguousarray(x))
    return image_dataset(images, labels, class_names, req, info=info)
