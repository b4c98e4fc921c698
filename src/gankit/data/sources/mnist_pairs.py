"""``mnist-pairs``: synthetic two-domain translation tasks with a known true mapping.

Built from the 5,000 embedded MNIST digits of :mod:`gankit.data.sources.mnist5k` (no download).
The digits are first brought to ``data.resolution`` (28 x 28 to 32 is zero-padded, as mnist5k
does), then each domain is computed from them at that size, so the mappings below hold exactly,
pixel for pixel, at any resolution. All operations act on each channel on its own; ``dilate`` and
``erode`` are 3 x 3 grey-level max / min filters whose window is clipped at the image border.

Tasks (domain A -> domain B):

- ``thicken_invert``: A = the digit, B = ``255 - dilate(digit)`` (strokes one pixel thicker on
  each side, black on white). :func:`true_mapping` is exact; there is no inverse (dilation loses
  thin gaps and stroke profiles).
- ``edges``: A = ``dilate(digit) - erode(digit)`` (the morphological gradient: the outline of the
  strokes), B = the digit. :func:`inverse_mapping` (B -> A) is exact; A -> B (filling an outline)
  has no closed form, so measure it against the holdout targets.

Splits: the digits are shuffled once by a fixed permutation (seed :data:`SPLIT_SEED`, independent
of ``data.seed``); the last ``holdout`` of that order are the holdout digits, never used in
training, and the rest are the training digits. Training data is either unpaired (CycleGAN:
domain a from the first half of the training digits, domain b from the second half, so no true
pair exists in training) or paired (pix2pix: ``x = A(digit)``, ``target = B(digit)``). The holdout
split is always paired, for measurement. Digit labels stay attached (10 classes) so a benchmark
can check that a translation keeps the digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset
from gankit.data.sources.mnist5k import CLASS_NAMES, ROWS, load_mnist5k, mnist5k_file
from gankit.data.transforms import convert_channels, to_resolution
from gankit.registry import ConfigError

SPLITS = ("train", "holdout")
SPLIT_SEED = 0  # fixed: the holdout digits must not move with data.seed
MIN_TRAIN = 2  # unpaired training needs at least one digit per domain


def _check(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.dtype != torch.uint8:
        raise ValueError(f"expected a uint8 [N, C, H, W] batch, got {x.dtype} {tuple(x.shape)}")


def dilate(x: torch.Tensor) -> torch.Tensor:
    """3 x 3 grey-level dilation (max filter), per channel.

    Args:
        x: uint8 ``[N, C, H, W]``.

    Returns:
        uint8 ``[N, C, H, W]``: each pixel is the maximum of its 3 x 3 neighbourhood (clipped at the border).
    """
    _check(x)
    # max_pool2d pads with the lowest value, so outside pixels never win: the window is clipped.
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


def erode(x: torch.Tensor) -> torch.Tensor:
    """3 x 3 grey-level erosion (min filter), per channel; ``255 - dilate(255 - x)``.

    Args:
        x: uint8 ``[N, C, H, W]``.

    Returns:
        uint8 ``[N, C, H, W]``.
    """
    return 255 - dilate(255 - x)


def thicken_invert(x: torch.Tensor) -> torch.Tensor:
    """``255 - dilate(x)``: thicker strokes, colours inverted. uint8 ``[N, C, H, W]`` in and out."""
    return 255 - dilate(x)


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """``dilate(x) - erode(x)``, the morphological gradient (never negative). uint8 ``[N, C, H, W]`` in and out."""
    return dilate(x) - erode(x)


def _identity(x: torch.Tensor) -> torch.Tensor:
    _check(x)
    return x


@dataclass(frozen=True)
class Task:
    """How one task makes its two domains from digits, and which exact mappings exist.

    Attributes:
        to_a: digit -> domain A image.
        to_b: digit -> domain B image.
        forward: A -> B where a closed form exists, else None.
        inverse: B -> A where a closed form exists, else None.
    """

    to_a: Callable
    to_b: Callable
    forward: Optional[Callable]
    inverse: Optional[Callable]


TASKS = {
    "thicken_invert": Task(to_a=_identity, to_b=thicken_invert, forward=thicken_invert, inverse=None),
    "edges": Task(to_a=edge_map, to_b=_identity, forward=None, inverse=edge_map),
}


def get_task(task: str) -> Task:
    if task not in TASKS:
        raise ConfigError(f"data.args.task must be one of {', '.join(TASKS)}, got '{task}'")
    return TASKS[task]


def _closed_form(task: str, direction: str, x: torch.Tensor) -> torch.Tensor:
    fn = getattr(get_task(task), direction)
    if fn is None:
        arrow, side, other = (("A -> B", "targets", "inverse_mapping for B -> A") if direction == "forward"
                              else ("B -> A", "inputs", "true_mapping for A -> B"))
        raise ValueError(f"mnist-pairs task '{task}' has no closed-form {arrow} mapping; compare translations with "
                         f"the holdout split's {side}, or use {other}")
    return fn(x)


def true_mapping(task: str, a: torch.Tensor) -> torch.Tensor:
    """The exact A -> B mapping of ``task``.

    Args:
        task: a task name (see the module docstring).
        a: uint8 ``[N, C, H, W]`` domain-A images.

    Returns:
        uint8 ``[N, C, H, W]`` domain-B images.

    Raises:
        ValueError: the task has no closed-form A -> B (``edges``).
    """
    return _closed_form(task, "forward", a)


def inverse_mapping(task: str, b: torch.Tensor) -> torch.Tensor:
    """The exact B -> A mapping of ``task``.

    Args:
        task: a task name (see the module docstring).
        b: uint8 ``[N, C, H, W]`` domain-B images.

    Returns:
        uint8 ``[N, C, H, W]`` domain-A images.

    Raises:
        ValueError: the task has no closed-form B -> A (``thicken_invert``).
    """
    return _closed_form(task, "inverse", b)


def split_indices(split: str, holdout: int) -> torch.Tensor:
    """Rows of the mnist5k file in ``split``, in the fixed shuffled order.

    Args:
        split: ``"train"`` (all but the last ``holdout``) or ``"holdout"`` (the last ``holdout``).
        holdout: number of holdout digits.

    Returns:
        int64 ``[n]`` row indices.
    """
    order = torch.randperm(ROWS, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[ROWS - holdout:] if split == "holdout" else order[:ROWS - holdout]


@DATA_SOURCES.register("mnist-pairs")
def mnist_pairs(req: DataRequest, task: str = "thicken_invert", paired: bool = False, split: str = "train",
                holdout: int = 500) -> Dataset:
    """MNIST digits in two domains with a known mapping (``thicken_invert`` or ``edges``).

    Args:
        req: common settings; ``resolution`` sizes the digits before the domains are computed,
            ``channels`` 3 replicates the grey channel afterwards.
        task: ``"thicken_invert"`` or ``"edges"`` (see the module docstring).
        paired: training data as pairs (pix2pix) instead of two disjoint unpaired domains (CycleGAN).
        split: ``"train"`` or ``"holdout"`` (always paired).
        holdout: number of digits held out of training (1..4998).

    Returns:
        Paired (``paired`` or ``split: holdout``): ``x`` uint8 ``[n, C, R, R]`` (domain A),
        ``fields["target"]`` uint8 ``[n, C, R, R]`` (domain B of the same digits), ``y`` the digits
        (10 classes). Unpaired: ``domains = {"a": Dataset, "b": Dataset}``, domain a from the first
        ``n // 2`` training digits, b from the other ``n - n // 2``, each labelled with its digits.
    """
    spec = get_task(task)
    if split not in SPLITS:
        raise ConfigError(f"data.args.split must be one of {', '.join(SPLITS)}, got '{split}'")
    if isinstance(holdout, bool) or not isinstance(holdout, int) or not 1 <= holdout <= ROWS - MIN_TRAIN:
        raise ConfigError(f"data.args.holdout must be a whole number of digits in 1..{ROWS - MIN_TRAIN} (the "
                          f"{ROWS} digits are shared between training and holdout), got {holdout!r}")
    if req.channels not in (None, 1, 3):
        raise ConfigError(f"data.channels must be 1, 3 or null, got {req.channels}")
    path = mnist5k_file()
    images, labels = load_mnist5k(path)
    idx = split_indices(split, holdout)
    digits = to_resolution(torch.from_numpy(images).unsqueeze(1)[idx], req.resolution)
    a, b = (convert_channels(fn(digits), req.channels) for fn in (spec.to_a, spec.to_b))
    y = torch.from_numpy(labels)[idx]
    info = {"file": str(path), "task": task, "split": split, "holdout": holdout, "split_seed": SPLIT_SEED,
            "paired": paired or split == "holdout", "digits": len(idx)}
    shape = tuple(a.shape[1:])
    if paired or split == "holdout":
        return Dataset(x=a, y=y, num_classes=10, class_names=CLASS_NAMES, shape=shape, fields={"target": b},
                       info={**info, "target_shape": tuple(b.shape[1:])})
    half = len(idx) // 2
    domains = {"a": Dataset(x=a[:half].clone(), y=y[:half], num_classes=10, class_names=CLASS_NAMES, shape=shape,
                            info={"rows": idx[:half]}),
               "b": Dataset(x=b[half:].clone(), y=y[half:], num_classes=10, class_names=CLASS_NAMES, shape=shape,
                            info={"rows": idx[half:]})}
    return Dataset(x=None, y=None, num_classes=0, class_names=[], shape=shape, domains=domains,
                   info={**info, "samples": {"a": half, "b": len(idx) - half}})
