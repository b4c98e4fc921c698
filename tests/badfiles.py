"""Small damaged or hostile inputs shared by the data-source tests and the bad-input corpus."""

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(array: np.ndarray, mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, "PNG")
    return buf.getvalue()


def png_with_library_warning(array: np.ndarray) -> bytes:
    """A valid PNG that Pillow decodes with a UserWarning ("Invalid APNG..."): an acTL chunk
    announcing zero frames, inserted after IHDR."""
    png = png_bytes(array)
    body = struct.pack(">II", 0, 0)
    chunk = struct.pack(">I", len(body)) + b"acTL" + body + struct.pack(">I", zlib.crc32(b"acTL" + body))
    end_of_ihdr = 8 + 8 + 13 + 4  # signature, length + type, IHDR data, CRC
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def make_unreadable(folder: Path, monkeypatch) -> None:
    """Make ``folder`` impossible to list, as ``chmod 000`` does for an ordinary user.

    chmod is used when it takes effect; root ignores permission bits, so there ``os.scandir`` of
    that folder fails the same way instead (PermissionError, errno 13).
    """
    folder.chmod(0)  # pytest's tmp_path clean-up restores permissions before deleting
    try:
        os.listdir(folder)
    except PermissionError:
        return
    real_scandir = os.scandir
    target = os.path.realpath(folder)

    def scandir(path="."):
        if os.path.realpath(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
