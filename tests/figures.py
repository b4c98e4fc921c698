"""Helpers for plot tests that check what a figure shows, not only its pixel size.

``capture_figures`` keeps every matplotlib Figure a plotting module saves, so a test can read the
plotted data back from its axes; ``axes_pixels`` crops the saved PNG to one axes' plotting area
(from the same figure's layout), so a test can check that the data actually reached the pixels.
"""

from pathlib import Path
from typing import List

import numpy as np
from PIL import Image


def capture_figures(monkeypatch, module) -> List:
    """Record the figures ``module.save_figure`` writes (the files are still written)."""
    figures = []
    real = module.save_figure

    def save(fig, path, *args, **kwargs):
        figures.append(fig)
        return real(fig, path, *args, **kwargs)

    monkeypatch.setattr(module, "save_figure", save)
    return figures


def png_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.int64)


def axes_pixels(pixels: np.ndarray, ax, inset: int = 3) -> np.ndarray:
    """The PNG region inside ``ax``'s frame ([rows, cols, 3]), ``inset`` pixels in from the spines.

    The figure must have been saved at its own dpi (gankit's ``save_figure`` uses 100, matplotlib's
    default), so display coordinates are PNG pixels with the origin at the bottom left.
    """
    box = ax.get_window_extent()
    height = pixels.shape[0]
    top, bottom = int(height - box.y1) + inset, int(height - box.y0) - inset
    return pixels[top:bottom, int(box.x0) + inset:int(box.x1) - inset]


def data_pixel(pixels: np.ndarray, ax, x: float, y: float) -> np.ndarray:
    """The RGB value at data coordinates ``(x, y)`` of ``ax``."""
    px, py = ax.transData.transform((x, y))
    return pixels[int(round(pixels.shape[0] - py)), int(round(px))]


def colour_fraction(region: np.ndarray, rgb, tol: int = 40) -> float:
    """Fraction of pixels within ``tol`` (per channel) of ``rgb``."""
    close = (np.abs(region - np.asarray(rgb)) <= tol).all(axis=-1)
    return float(close.mean())


def blend(rgb, alpha: float, background=(255, 255, 255)):
    """A colour drawn with ``alpha`` over ``background``."""
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(rgb, background))
