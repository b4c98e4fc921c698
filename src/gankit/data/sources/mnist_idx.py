"""``mnist-idx``: MNIST-format IDX files (MNIST, Fashion-MNIST, KMNIST...) from a folder.

Expected names (gzipped or not; ``train-images.idx3-ubyte`` with a dot is accepted too)::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]   (split "train")
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]    (split "test")

IDX format: two zero bytes, a type code (0x08 = uint8), the number of dimensions, one big-endian
uint32 per dimension, then the values in row-major order.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np
import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset
from gankit.data.sources._common import check_split, image_dataset, labels_tensor, require_path
from gankit.registry import ConfigError

# IDX type code -> numpy dtype (multi-byte types are big-endian).
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
PREFIXES = {"train": "train", "test": "t10k"}
_NAME = re.compile(r"^(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$", re.IGNORECASE)


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzip detected from its first bytes, not its name).

    Args:
        path: the file.

    Returns:
        The array with the header's shape and type.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read {path} ({e.strerror or e}); check its permissions (data.path must hold "
                          f"readable MNIST-format IDX files)") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut-off stream is an EOFError
            raise ConfigError(f"{path} is a damaged gzip file ({e}); download it again, or replace it with the "
                              f"uncompressed IDX file (gunzip it where it came from)") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise ConfigError(f"{path} is not an IDX file (bad magic number {data[:4].hex()}); data.path must hold "
                          f"MNIST-format IDX files")
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ConfigError(f"{path}: IDX header truncated")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ConfigError(f"{path}: header says shape {dims} ({expected} bytes) but the file has {len(data)} bytes; "
                          f"the file is truncated or damaged")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def find_idx_files(folder: Path) -> dict:
    """Map ``(prefix, kind)`` (e.g. ``("t10k", "images")``) to a file, preferring uncompressed ones."""
    found = {}
    for path in sorted(folder.iterdir()):
        m = _NAME.match(path.name)
        if m is None:
            continue
        key = (m.group(1).lower(), m.group(2).lower())
        if key not in found or found[key].name.endswith(".gz"):
            found[key] = path
    return found


def load_split(folder: Path, prefix: str, found: dict) -> tuple:
    """Images and labels of one split, validated against each other.

    Returns:
        ``(images uint8 [N, H, W], labels int64 [N])``.
    """
    images_file, labels_file = found[(prefix, "images")], found[(prefix, "labels")]
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ConfigError(f"{images_file}: expected uint8 images [N, H, W], got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ConfigError(f"{labels_file}: expected uint8 labels [N], got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ConfigError(f"{images_file.name} has {len(images)} images but {labels_file.name} has {len(labels)} "
                          f"labels; the pair does not match")
    return images, labels_tensor(labels, str(labels_file))


@DATA_SOURCES.register("mnist-idx")
def mnist_idx(req: DataRequest, split: str = "train") -> Dataset:
    """MNIST / Fashion-MNIST IDX files in the folder ``data.path``.

    Args:
        req: common settings; ``path`` is the folder.
        split: ``"train"`` (train-*), ``"test"`` (t10k-*) or ``"all"`` (train then test).

    Returns:
        A Dataset with ``x`` uint8 ``[N, C, R, R]`` and ``y`` the labels (``max label + 1`` classes).
    """
    split = check_split(split)
    folder = require_path(req, "mnist-idx", "dir", "a folder of MNIST IDX files (train-images-idx3-ubyte.gz ...)")
    found = find_idx_files(folder)
    prefixes = ["train", "t10k"] if split == "all" else [PREFIXES[split]]
    missing = [f"{p}-{k}" for p in prefixes for k in ("images", "labels") if (p, k) not in found]
    if missing:
        listing = ", ".join(sorted(p.name for p in folder.iterdir())) or "(empty folder)"
        raise ConfigError(f"data.args.split={split} needs {' and '.join(missing)} IDX files in data.path={req.path}; "
                          f"found: {listing}. Set data.args.split to a split that is present (train, test, all)")
    parts = [load_split(folder, p, found) for p in prefixes]
    if len({tuple(images.shape[1:]) for images, _ in parts}) != 1:
        raise ConfigError(f"the train and t10k images in {folder} have different sizes; use one split")
    x = torch.from_numpy(np.concatenate([images for images, _ in parts])).unsqueeze(1)
    y = torch.cat([labels for _, labels in parts])
    num_classes = int(y.max()) + 1
    files = [str(found[(p, k)]) for p in prefixes for k in ("images", "labels")]
    return image_dataset(x, y, [str(k) for k in range(num_classes)], req,
                         info={"paths": files, "split": split, "native": tuple(x.shape[1:])})
