"""Atomic writes for the pictures gankit produces (users keep them, a crash must not leave half a file)."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

from PIL import Image, ImageFont


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Args:
        data: the file's complete contents.
        path: destination; missing parent folders are created.

    Returns:
        The destination as a Path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the destination so that os.replace is a rename on one file system; a unique
    # name (not mkstemp, whose 0600 mode would survive the rename) keeps the user's umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


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
