"""Differentiable augmentation of D's inputs (DiffAugment, Zhao et al. 2020).

The same random transformations are applied to real and generated images before D sees them, and
they are differentiable, so G's gradient passes through them. This keeps D from memorising a small
training set. A policy is a comma-separated list of transformation families, applied in order:

* ``color``: random brightness, saturation and contrast per sample;
* ``translation``: a random shift of up to 1/8 of the image size per axis, zero padded;
* ``cutout``: one random square (half the image size) per sample set to zero.

Random numbers come from the global torch RNG on the input's device, which the trainer saves in
checkpoints, so a resumed run draws the same augmentations.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch

from gankit.registry import ConfigError, closest

TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def _per_sample_uniform(x: torch.Tensor) -> torch.Tensor:
    """U(0, 1) draws of shape ``[N, 1, 1, 1]``: one value per sample of ``x`` ``[N, C, H, W]``."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+U(-0.5, 0.5)), saturation (x U(0, 2)) and contrast (x U(0.5, 1.5)).

    Args:
        x: images ``[N, C, H, W]`` in [-1, 1].

    Returns:
        ``[N, C, H, W]``; values may leave [-1, 1], which D sees identically for real and fake.
    """
    x = x + (_per_sample_uniform(x) - 0.5)
    gray = x.mean(dim=1, keepdim=True)  # saturation scales the deviation from the per-pixel channel mean
    x = (x - gray) * (2 * _per_sample_uniform(x)) + gray
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # contrast scales the deviation from the image mean
    return (x - mean) * (_per_sample_uniform(x) + 0.5) + mean


def _random_shifts(n: int, size: int, device: torch.device) -> torch.Tensor:
    """Integer shifts ``[n]`` uniform in ``[-s, s]`` with ``s = round(size * TRANSLATION_RATIO)``."""
    s = int(size * TRANSLATION_RATIO + 0.5)
    return torch.randint(-s, s + 1, (n,), device=device)


def translation(x: torch.Tensor) -> torch.Tensor:
    """Shift each image by a random integer offset per axis; pixels shifted in are zero.

    Args:
        x: images ``[N, C, H, W]``.

    Returns:
        ``[N, C, H, W]`` with ``out[n, :, i, j] = x[n, :, i - dy[n], j - dx[n]]`` (0 outside).
    """
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device) - _random_shifts(n, h, x.device)[:, None]  # [N, H] source rows
    cols = torch.arange(w, device=x.device) - _random_shifts(n, w, x.device)[:, None]  # [N, W] source cols
    inside = (((rows >= 0) & (rows < h))[:, None, :, None]
              & ((cols >= 0) & (cols < w))[:, None, None, :])  # [N, 1, H, W]
    # gather along H, then W; clamped indices read some pixel, which the mask then zeroes
    out = x.gather(2, rows.clamp(0, h - 1)[:, None, :, None].expand(n, c, h, w))
    out = out.gather(3, cols.clamp(0, w - 1)[:, None, None, :].expand(n, c, h, w))
    return out * inside.to(x.dtype)


def cutout(x: torch.Tensor) -> torch.Tensor:
    """Zero one random rectangle of half the image size per sample (clipped at the borders).

    The rectangle's centre is uniform over the pixels, so near the borders less than the full
    rectangle is erased.

    Args:
        x: images ``[N, C, H, W]``.

    Returns:
        ``[N, C, H, W]``.
    """
    n, _, h, w = x.shape
    size_h, size_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = torch.randint(0, h, (n, 1), device=x.device) - size_h // 2  # [N, 1]
    left = torch.randint(0, w, (n, 1), device=x.device) - size_w // 2
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    in_rows = (rows >= top) & (rows < top + size_h)  # [N, H]
    in_cols = (cols >= left) & (cols < left + size_w)  # [N, W]
    erased = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # [N, 1, H, W]
    return x * (~erased).to(x.dtype)


AUGMENTATIONS: Dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str) -> list[str]:
    """Split and validate a DiffAugment policy (the ``train.augment`` setting).

    Args:
        policy: comma-separated names, e.g. ``"color,translation,cutout"``; "" means no augmentation.

    Returns:
        The names in order, e.g. ``["color", "translation", "cutout"]``; ``[]`` for an empty policy.
    """
    if not policy or not policy.strip():
        return []
    names = [name.strip() for name in policy.split(",")]
    valid = ", ".join(AUGMENTATIONS)
    for name in names:
        if name not in AUGMENTATIONS:
            raise ConfigError(f"train.augment: unknown DiffAugment transformation '{name}' in '{policy}'."
                              f"{closest(name, AUGMENTATIONS)} Valid ones (comma-separated, any order): {valid}")
    return names


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Apply the DiffAugment ``policy`` to a batch of images, differentiably in ``x``.

    Args:
        x: images ``[N, C, H, W]``.
        policy: comma-separated transformation names (see :func:`parse_policy`); "" is the identity.

    Returns:
        ``[N, C, H, W]``; ``x`` itself for an empty policy.
    """
    names = parse_policy(policy)
    if names and x.dim() != 4:
        raise ValueError(f"train.augment applies to images [N, C, H, W], got a tensor of shape {tuple(x.shape)}; "
                         "set train.augment: '' for vector data")
    for name in names:
        x = AUGMENTATIONS[name](x)
    return x
