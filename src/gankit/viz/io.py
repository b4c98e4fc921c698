"""Atomic writes for the pictures gankit produces (users keep them, a crash must not leave half a file)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFont

from gankit import io as gankit_io


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` atomically (see :mod:`gankit.io`)."""
    return gankit_io.atomic_write_bytes(path, data)


def image_bytes(image: Image.Image, fmt: str = "PNG", **save_options) -> bytes:
    """Encode a PIL image (``fmt`` as PIL names it, e.g. "PNG", "GIF") into bytes."""
    buf = io.BytesIO()
    image.save(buf, format=fmt, **save_options)
    return buf.getvalue()


def save_image(image: Image.Image, path: str | Path, fmt: str = "PNG", **save_options) -> Path:
    """Save a PIL image atomically; ``save_options`` go to ``Image.save`` (e.g. GIF frames)."""
    return atomic_write_bytes(image_bytes(image, fmt, **save_options), path)


def figure_bytes(fig, dpi: int = 100) -> bytes:
    """Render a matplotlib ``Figure`` (built without pyplot) to PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # attaches an Agg canvas; no global pyplot state, safe in any thread
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """Save a matplotlib ``Figure`` as a PNG atomically."""
    return atomic_write_bytes(figure_bytes(fig, dpi=dpi), path)


def font(size: int):
    """Pillow's bundled font at ``size`` pixels (no font files needed on the system)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed-size bitmap font
        return ImageFont.load_default()
