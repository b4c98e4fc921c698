"""One resolution policy and one channel policy, shared by every image source.

All helpers take and return uint8 image batches ``[N, C, H, W]`` (values 0..255); the batcher
converts to float ``[-1, 1]`` later, on the training device.

Resolution policy (:func:`to_resolution`, geometry in :func:`plan_resize`):

- ``None`` keeps the native size.
- 28 x 28 to 32: zero-pad 2 px on every side (a black border, the standard way to give MNIST-sized
  digits to 32 x 32 networks: the digit keeps its pixels and stays centred).
- any other size: resize so the short side equals the target (bilinear, antialiased), then crop
  the centre square.

Channel policy (:func:`convert_channels`):

- an alpha channel (2 = grey + alpha, 4 = RGBA) is composited onto a white background first,
  ``round((c * a + 255 * (255 - a)) / 255)``, exactly what PIL's ``alpha_composite`` gives;
- target ``None`` keeps the (alpha-free) channel count;
- grey to RGB replicates the grey value; RGB to grey is the ITU-R 601 luma in PIL's fixed-point
  form, ``(19595 R + 38470 G + 7471 B + 32768) >> 16``, identical to ``PIL.Image.convert("L")``.

The image-folder source applies the same policy with PIL inside its decoding workers (which stay
free of torch); PIL's antialiased bilinear resize and torch's agree to within 1 grey level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

# (native square side, target) pairs that are zero-padded instead of resized.
PAD_CASES = {(28, 32): 2}

# ITU-R 601 luma weights scaled by 2**16, as PIL's convert("L") uses them.
LUMA_WEIGHTS = (19595, 38470, 7471)


@dataclass(frozen=True)
class ResizePlan:
    """How one ``H x W`` image becomes ``resolution x resolution``.

    Attributes:
        pad: zero border added on every side before cropping (0 = none).
        resized: ``(H, W)`` after the resize step (the input size when nothing is resized).
        crop: ``(top, left)`` of the ``resolution x resolution`` crop, after padding/resizing.
        resolution: the target side.
    """

    pad: int
    resized: tuple
    crop: tuple
    resolution: int


def plan_resize(height: int, width: int, resolution: int) -> ResizePlan:
    """Geometry of the resolution policy for one ``height x width`` image.

    Args:
        height: native height in pixels.
        width: native width in pixels.
        resolution: target side; the output is square.

    Returns:
        The :class:`ResizePlan`.
    """
    if resolution <= 0:
        raise ValueError(f"data.resolution must be > 0 (or null for the native size), got {resolution}")
    pad = PAD_CASES.get((height, resolution)) if height == width else None
    if pad is not None:
        return ResizePlan(pad=pad, resized=(height, width), crop=(0, 0), resolution=resolution)
    short = min(height, width)
    if short == resolution:
        new_h, new_w = height, width
    else:
        # max() guards against rounding the short side below the target on extreme aspect ratios.
        new_h = max(resolution, round(height * resolution / short))
        new_w = max(resolution, round(width * resolution / short))
    return ResizePlan(pad=0, resized=(new_h, new_w), crop=((new_h - resolution) // 2, (new_w - resolution) // 2),
                      resolution=resolution)


def to_resolution(x: torch.Tensor, resolution: Optional[int]) -> torch.Tensor:
    """Apply the resolution policy to a batch.

    Args:
        x: uint8 ``[N, C, H, W]``.
        resolution: target side, or ``None`` to keep ``H x W``.

    Returns:
        uint8 ``[N, C, resolution, resolution]`` (``x`` itself when nothing changes).
    """
    _check_batch(x)
    if resolution is None:
        return x
    _, _, h, w = x.shape
    plan = plan_resize(h, w, resolution)
    if plan.pad:
        x = F.pad(x, (plan.pad,) * 4)
    elif plan.resized != (h, w):
        if x.device.type == "cpu":
            # torch's uint8 CPU kernel resizes without a float copy of the whole data set.
            x = F.interpolate(x, size=plan.resized, mode="bilinear", antialias=True, align_corners=False)
        else:
            x = F.interpolate(x.float(), size=plan.resized, mode="bilinear", antialias=True, align_corners=False)
            x = x.round_().clamp_(0, 255).to(torch.uint8)
    top, left = plan.crop
    r = plan.resolution
    if tuple(x.shape[2:]) == (r, r):
        return x
    return x[:, :, top:top + r, left:left + r].contiguous()


def composite_on_white(x: torch.Tensor) -> torch.Tensor:
    """Composite images with a trailing alpha channel onto a white background.

    Args:
        x: uint8 ``[N, C + 1, H, W]`` with alpha last (C = 1 grey, 3 RGB).

    Returns:
        uint8 ``[N, C, H, W]``: ``round((c * a + 255 * (255 - a)) / 255)``.
    """
    _check_batch(x)
    colour = x[:, :-1].to(torch.int32)
    alpha = x[:, -1:].to(torch.int32)
    return torch.div(colour * alpha + 255 * (255 - alpha) + 127, 255, rounding_mode="floor").to(torch.uint8)


def rgb_to_luma(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma, bit-identical to ``PIL.Image.convert("L")``.

    Args:
        x: uint8 ``[N, 3, H, W]``.

    Returns:
        uint8 ``[N, 1, H, W]``.
    """
    _check_batch(x)
    if x.shape[1] != 3:
        raise ValueError(f"rgb_to_luma needs 3 channels, got {x.shape[1]}")
    wr, wg, wb = LUMA_WEIGHTS
    v = x.to(torch.int32)
    luma = (v[:, 0:1] * wr + v[:, 1:2] * wg + v[:, 2:3] * wb + 0x8000) >> 16
    return luma.to(torch.uint8)


def convert_channels(x: torch.Tensor, channels: Optional[int]) -> torch.Tensor:
    """Apply the channel policy to a batch.

    Args:
        x: uint8 ``[N, C, H, W]`` with C in 1 (grey), 2 (grey + alpha), 3 (RGB), 4 (RGBA).
        channels: 1, 3, or ``None`` to keep the channel count (alpha is composited away regardless).

    Returns:
        uint8 ``[N, channels, H, W]`` (``[N, 1 or 3, H, W]`` when ``channels`` is None).
    """
    _check_batch(x)
    if x.shape[1] not in (1, 2, 3, 4):
        raise ValueError(f"images must have 1 to 4 channels (grey, grey+alpha, RGB, RGBA), got {x.shape[1]}")
    if channels not in (None, 1, 3):
        raise ValueError(f"data.channels must be 1, 3 or null (keep the source's), got {channels}")
    if x.shape[1] in (2, 4):
        x = composite_on_white(x)
    if channels is None or channels == x.shape[1]:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    return rgb_to_luma(x)


def _check_batch(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.dtype != torch.uint8:
        raise ValueError(f"expected a uint8 [N, C, H, W] batch, got {x.dtype} {tuple(x.shape)}")
