"""Image sizes the convolutional families support, and how many resolution steps they take.

Families are parametrised by resolution (never one class per size): a network for ``R x R`` images
has ``log2(R / 4)`` up (G) or down (D) steps between a 4x4 base and the image.
"""

from __future__ import annotations

from typing import Sequence

from gankit.registry import ConfigError

#: Square sizes supported by the convolutional families (powers of two from 16).
SUPPORTED_RESOLUTIONS = (16, 32, 64, 128, 256)

#: Spatial size of the lowest-resolution feature map in G and D.
BASE_RESOLUTION = 4


def image_resolution(shape: Sequence[int], family: str, setting: str,
                     supported: Sequence[int] = SUPPORTED_RESOLUTIONS) -> int:
    """Check that ``shape`` is a square image of a supported size and return that size.

    Args:
        shape: per-sample shape ``(C, H, W)`` (or ``(D,)`` for vector data, which is refused).
        family: family name for the message, e.g. ``"dcgan"``.
        setting: the config key that chose the family, ``"model.g.name"`` or ``"model.d.name"``.
        supported: allowed sizes.

    Returns:
        The side length ``R`` (``H == W == R``).
    """
    shape = tuple(shape)
    if len(shape) != 3:
        raise ConfigError(
            f"{setting}={family} needs image data of shape (C, H, W), but the data have shape {shape}; "
            f"use the mlp family for vector data"
        )
    _, height, width = shape
    if height != width or height not in supported:
        raise ConfigError(
            f"{family} does not support {height}x{width} images: data.resolution must be one of "
            f"{', '.join(map(str, supported))} (square); set e.g. data.resolution={_nearest(height, supported)}"
        )
    return int(height)


def num_doublings(resolution: int) -> int:
    """Number of 2x resolution steps between the 4x4 base and ``resolution`` (16 -> 2, 64 -> 4)."""
    return (resolution // BASE_RESOLUTION).bit_length() - 1


def _nearest(size: int, supported: Sequence[int]) -> int:
    return min(supported, key=lambda s: abs(s - size))
