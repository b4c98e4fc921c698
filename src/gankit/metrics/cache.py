"""The metrics cache folder, content keys and safetensors files.

Cached items (Inception weights, trained classifiers, reference statistics) live under
``$GANKIT_CACHE`` (default ``~/.cache/gankit``). Each is keyed by a hash of the JSON record that
says how it was made, so a change of any input (data file, resolution, settings) is a new key.
Files are written atomically with :mod:`gankit.io`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from gankit.io import atomic_write_bytes

CACHE_ENV = "GANKIT_CACHE"


def cache_root() -> Path:
    """The cache folder: ``$GANKIT_CACHE`` when set, else ``~/.cache/gankit``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "gankit"


def canonical_json(record: Any) -> str:
    """JSON with sorted keys and no whitespace: equal records give equal text (and equal keys)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def record_key(record: Mapping[str, Any], length: int = 16) -> str:
    """Short hex key of a record (sha256 of its canonical JSON)."""
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()[:length]


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def file_identity(path: Optional[str]) -> Optional[dict]:
    """Cheap identity of a data file or folder, for cache keys.

    A file is identified by its resolved path, size and modification time; a folder by the
    modification times of the folder and every sub-folder (adding, removing or renaming a file
    changes its folder's time), without reading the files.

    Returns:
        A JSON-able dict, or None when ``path`` is None (embedded or synthetic data).
    """
    if path is None:
        return None
    p = Path(path).expanduser().resolve()
    if p.is_file():
        st = p.stat()
        return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if p.is_dir():
        h = hashlib.sha256()
        count = 0
        for folder, dirs, _ in os.walk(p):
            dirs.sort()
            h.update(f"{os.path.relpath(folder, p)}:{os.stat(folder).st_mtime_ns};".encode())
            count += 1
        return {"path": str(p), "folders": count, "tree": h.hexdigest()[:16]}
    return {"path": str(p), "missing": True}


def atomic_save_tensors(path: Path, tensors: Mapping[str, Any], metadata: Optional[Mapping[str, str]] = None) -> None:
    """Save tensors as safetensors (no pickle), atomically."""
    from safetensors.torch import save

    blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata=dict(metadata or {}))
    atomic_write_bytes(path, blob)
