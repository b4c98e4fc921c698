"""Sample grids: images in [-1, 1] tiled into one picture, and fixed-noise sampling of a generator."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import torch
from PIL import Image

from gankit.priors import latents
from gankit.viz.io import save_image


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map images in [-1, 1] to uint8 0..255 (values outside are clipped).

    Args:
        images: float ``[..., C, H, W]`` in [-1, 1].

    Returns:
        uint8 tensor of the same shape, on the CPU.
    """
    x = images.detach().float().cpu()
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def make_grid(images: torch.Tensor, nrow: Optional[int] = None, padding: int = 2, pad_value: int = 255) -> torch.Tensor:
    """Tile images into one picture, row by row.

    Args:
        images: float ``[N, C, H, W]`` in [-1, 1] with C = 1 (grey) or 3 (RGB).
        nrow: images per row; default ``ceil(sqrt(N))`` (a square-ish grid).
        padding: pixels between images and around the border.
        pad_value: grey level (0..255) of the padding; white keeps dark-background digits apart.

    Returns:
        uint8 ``[C, rows*(H+padding)+padding, nrow*(W+padding)+padding]``.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"make_grid expects images [N, C, H, W] with C = 1 or 3, got shape {tuple(images.shape)}; "
            "2-D points are drawn by gankit.viz.toy2d.plot_samples_2d instead"
        )
    n, c, h, w = images.shape
    if n == 0:
        raise ValueError("make_grid got no images (N = 0)")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    ncol = int(nrow) if nrow else int(math.ceil(math.sqrt(n)))
    if ncol <= 0:
        raise ValueError(f"nrow must be > 0, got {nrow}")
    ncol = min(ncol, n)
    rows = int(math.ceil(n / ncol))
    grid = torch.full((c, rows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value, dtype=torch.uint8)
    tiles = to_uint8(images)
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top : top + h, left : left + w] = tiles[i]
    return grid


def grid_to_pil(grid: torch.Tensor) -> Image.Image:
    """uint8 ``[C, H, W]`` (C = 1 or 3) -> PIL image in mode "L" or "RGB"."""
    array = grid.permute(1, 2, 0).numpy()
    return Image.fromarray(array[:, :, 0], mode="L") if grid.shape[0] == 1 else Image.fromarray(array, mode="RGB")


def save_grid(images: torch.Tensor, path: str | Path, nrow: Optional[int] = None, padding: int = 2,
              pad_value: int = 255, min_cell: int = 0) -> Path:
    """Save images as one PNG grid (atomic write).

    Args:
        images: float ``[N, C, H, W]`` in [-1, 1], C = 1 (saved as greyscale) or 3 (RGB).
        path: destination PNG; parent folders are created.
        nrow: images per row; default ``ceil(sqrt(N))``. Class grids pass ``n_per_class``.
        padding: pixels between images.
        pad_value: grey level of the padding.
        min_cell: enlarge the whole grid by the smallest whole factor ``k`` (nearest neighbour, no
            blur) that makes each image at least this many pixels high; 0 keeps the native size.

    Returns:
        The written path. Its size is ``k * (ncol*(W+padding)+padding, rows*(H+padding)+padding)``.
    """
    grid = grid_to_pil(make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value))
    k = max(1, -(-min_cell // images.shape[-2])) if min_cell else 1
    if k > 1:
        from PIL import Image

        grid = grid.resize((grid.width * k, grid.height * k), Image.NEAREST)
    return save_image(grid, path)


@torch.no_grad()
def generate(G: torch.nn.Module, z: torch.Tensor, y: Optional[torch.Tensor] = None, batch_size: int = 256) -> torch.Tensor:
    """Run a generator on given noise in batches, on the generator's device.

    Args:
        G: generator obeying the gankit contract (``G(z, y)``).
        z: ``[N, G.z_dim]`` latents.
        y: ``[N]`` int64 labels for conditional generators, else None.
        batch_size: samples per forward pass (bounds memory).

    Returns:
        ``[N, *G.out_shape]`` float32 samples on the CPU.
    """
    device = next(G.parameters()).device
    out = []
    for i in range(0, z.shape[0], batch_size):
        zb = z[i : i + batch_size].to(device)
        yb = None if y is None else y[i : i + batch_size].to(device)
        out.append(G(zb, yb).float().cpu())
    return torch.cat(out)


def sample(G: torch.nn.Module, n: int, seed: int = 0, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Draw ``n`` samples from fixed noise (``gankit.priors.latents(G, n, seed)``: G's prior).

    Args:
        G: generator; for a conditional one (``G.num_classes > 0``) labels default to ``i % num_classes``.
        n: number of samples.
        seed: noise seed.
        labels: ``[n]`` int64 class labels, or None.

    Returns:
        ``(x, y)``: samples ``[n, *G.out_shape]`` and the labels used (None when unconditional).
    """
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    if labels is None and num_classes > 0:
        labels = torch.arange(n) % num_classes
    return generate(G, latents(G, n, seed), labels), labels


def class_grid(G: torch.nn.Module, n_per_class: int, seed: int = 0) -> torch.Tensor:
    """Samples of a conditional generator, one row per class.

    Column j of every row uses the same noise vector, so a column shows one latent across classes.

    Args:
        G: conditional generator (``G.num_classes > 0``).
        n_per_class: samples per class (the grid's width; pass it as ``nrow`` to :func:`save_grid`).
        seed: noise seed.

    Returns:
        ``[num_classes * n_per_class, *G.out_shape]`` ordered class by class.
    """
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    if num_classes <= 0:
        raise ValueError("class_grid needs a conditional generator (G.num_classes > 0); use sample() instead")
    if n_per_class <= 0:
        raise ValueError(f"n_per_class must be > 0, got {n_per_class}")
    z = latents(G, n_per_class, seed).repeat(num_classes, 1)
    y = torch.arange(num_classes).repeat_interleave(n_per_class)
    return generate(G, z, y)
