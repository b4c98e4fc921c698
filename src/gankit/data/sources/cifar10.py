"""``cifar10``: the CIFAR-10 "python version" batches (``cifar-10-batches-py``).

The batches are pickles, and unpickling an untrusted file can run arbitrary code. They are read
with :class:`SafeUnpickler`, which resolves only the few globals a pickled dict of numpy uint8
arrays needs (numpy's array reconstruction, ``numpy.ndarray``, ``numpy.dtype`` and the latin-1
``_codecs.encode`` that Python 3 uses for bytes in protocol 2); anything else is refused. The
loaded values are then checked for type and shape before use.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import numpy as np
import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset
from gankit.data.sources._common import check_split, image_dataset, labels_tensor, require_path
from gankit.registry import ConfigError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

FOLDER = "cifar-10-batches-py"
SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
SPLIT_FILES["all"] = SPLIT_FILES["train"] + SPLIT_FILES["test"]
META = "batches.meta"


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` limited to latin-1 (how protocol-2 pickles from Python 3 store bytes)."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that builds only builtin containers and numpy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR batch holds only dicts, "
                                         f"lists, strings and numpy arrays") from None


def load_pickle(path: Path) -> dict:
    """Load one batch or meta file with :class:`SafeUnpickler`; ``bytes`` keys become ``str``.

    Args:
        path: the pickle file.

    Returns:
        The top-level dict.
    """
    try:
        with open(path, "rb") as f:
            # encoding="bytes": the official files are Python 2 pickles whose str values are raw bytes.
            obj = SafeUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise ConfigError(f"{path} is not a readable CIFAR-10 batch ({e}); re-extract cifar-10-python.tar.gz") from e
    if not isinstance(obj, dict):
        raise ConfigError(f"{path} should hold a dict, got {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def find_folder(path: Path) -> Path:
    """``path`` itself when it holds the batches, else its ``cifar-10-batches-py`` child."""
    for folder in (path, path / FOLDER):
        if (folder / META).is_file():
            return folder
    listing = ", ".join(sorted(p.name for p in path.iterdir())) or "(empty folder)"
    raise ConfigError(f"data.path={path} holds no {META}: point it at the '{FOLDER}' folder of the CIFAR-10 python "
                      f"version (data_batch_1..5, test_batch, batches.meta) or its parent; found: {listing}")


def load_batch(path: Path) -> tuple:
    """Images and labels of one batch.

    Returns:
        ``(images uint8 [N, 3, 32, 32], labels int64 [N])``.
    """
    batch = load_pickle(path)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ConfigError(f"{path}: 'data' must be a uint8 array [N, 3072], got "
                          f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    if not isinstance(labels, list) or len(labels) != len(data) or not all(isinstance(v, int) for v in labels):
        raise ConfigError(f"{path}: 'labels' must be a list of {len(data)} ints")
    return data.reshape(-1, 3, 32, 32), labels_tensor(np.asarray(labels, dtype=np.int64), str(path))


@DATA_SOURCES.register("cifar10")
def cifar10(req: DataRequest, split: str = "train") -> Dataset:
    """CIFAR-10 python batches in ``data.path`` (the ``cifar-10-batches-py`` folder or its parent).

    Args:
        req: common settings; ``path`` is the folder.
        split: ``"train"`` (data_batch_1..5, 50,000 images), ``"test"`` (test_batch, 10,000) or ``"all"``.

    Returns:
        A Dataset with ``x`` uint8 ``[N, C, R, R]`` (RGB natively) and ``y`` in 0..9.
    """
    split = check_split(split)
    folder = find_folder(require_path(req, "cifar10", "dir", f"the CIFAR-10 '{FOLDER}' folder"))
    missing = [name for name in SPLIT_FILES[split] if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"data.args.split={split} needs {', '.join(missing)} in {folder}; found: "
                          f"{', '.join(sorted(p.name for p in folder.iterdir()))}")
    names = load_pickle(folder / META).get("label_names")
    if not isinstance(names, list) or not all(isinstance(n, (bytes, str)) for n in names):
        raise ConfigError(f"{folder / META}: 'label_names' must be a list of strings")
    class_names = [n.decode() if isinstance(n, bytes) else n for n in names]
    parts = [load_batch(folder / name) for name in SPLIT_FILES[split]]
    x = torch.from_numpy(np.concatenate([images for images, _ in parts]))
    y = torch.cat([labels for _, labels in parts])
    if int(y.max()) >= len(class_names):
        raise ConfigError(f"{folder}: label {int(y.max())} has no name in {META} ({len(class_names)} names)")
    return image_dataset(x, y, class_names, req, info={"folder": str(folder), "split": split})
