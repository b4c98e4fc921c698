"""Synthetic data sets from a trained generator (``gankit generate``).

Two formats, both readable by gankit's own data sources:

* ``folder``: PNG files; a conditional generator's images go into one sub-folder per class (the
  class name when the names sort in class order, else the zero-padded class index followed by the
  name), which the ``image-folder`` source reads back as labels (in sorted folder order); an
  unconditional one's lie at the top level.
* ``npz``: ``data.npz`` with ``x`` uint8 ``[N, C, H, W]`` (vectors: float32 ``[N, D]``), and for a
  conditional generator ``y`` int64 ``[N]`` and ``class_names`` (the ``npz`` source).

Classes are balanced: ``count // K`` images per class, the first ``count mod K`` classes one more,
in an order shuffled by the seeded stream. The data set is written into a temporary sibling folder
and renamed into place at the end, so an interrupted run leaves no half data set under the name;
``manifest.json`` beside the data records the run, the checkpoint file and its sha256, the seed,
count, format, truncation and class counts.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Optional, Sequence

import torch

from gankit.io import atomic_write_json
from gankit.priors import prior_of
from gankit.registry import ConfigError

FORMATS = ("folder", "npz")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "gankit-synthetic-v1"


def balanced_labels(count: int, classes: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    """``count`` labels drawn from ``classes`` as evenly as possible, in a shuffled order: ``[count]`` int64."""
    classes = torch.as_tensor(list(classes), dtype=torch.long)
    y = classes[torch.arange(count) % len(classes)]
    return y[torch.randperm(count, generator=generator)]


def class_folders(class_names: Sequence[str], num_classes: int) -> list:
    """Folder name of every class: its name when the names are unique, file-safe and sort in class
    order (so that ``image-folder`` reads the same labels back), else ``<index>-<name>`` zero-padded."""
    names = [str(n) for n in class_names] if len(class_names) == num_classes else [str(i) for i in range(num_classes)]
    safe = all(n and "/" not in n and not n.startswith(".") for n in names)
    if safe and len(set(names)) == num_classes and sorted(names) == names:
        return names
    width = len(str(num_classes - 1))
    return [f"{i:0{width}d}-{n.replace('/', '_')}" if safe else f"{i:0{width}d}" for i, n in enumerate(names)]


def refuse_existing(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the data set")
    if out.is_dir() and any(out.iterdir()) and not force:
        what = "a gankit data set" if (out / MANIFEST).is_file() else "files"
        raise ConfigError(f"--out {out} already holds {what}; pass --force to replace it, or choose another --out")


def generate_dataset(G: torch.nn.Module, count: int, out, *, fmt: str = "folder", seed: int = 0,
                     truncation: Optional[float] = None, classes: Optional[Sequence[int]] = None,
                     batch_size: int = 256, force: bool = False, provenance: Optional[dict] = None,
                     progress: bool = False) -> dict:
    """Write ``count`` generated samples as a data set folder (see the module docstring).

    Args:
        G: generator (its prior draws the latents; ``G.class_names`` names the classes).
        count: number of samples.
        out: the data set folder (created; replaced only with ``force``).
        fmt: ``folder`` or ``npz``.
        seed: seed of the latents and the label order (a CPU generator).
        truncation: draw from the prior truncated at this threshold (gaussian priors).
        classes: conditional G: the classes to generate (balanced), default all.
        batch_size: samples per forward pass.
        force: replace an existing non-empty ``out``.
        provenance: extra manifest fields (run, checkpoint, checkpoint_sha256, weights...).
        progress: progress bar.

    Returns:
        The manifest (also written to ``out/manifest.json``).
    """
    from tqdm import tqdm

    from gankit.viz.grid import generate, grid_to_pil, to_uint8
    from gankit.viz.io import image_bytes

    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if count < 1:
        raise ConfigError(f"--n must be >= 1 (samples to generate), got {count}")
    out = Path(out).expanduser()
    refuse_existing(out, force)
    prior = prior_of(G)
    if truncation is not None:
        try:
            prior = prior.truncated(float(truncation))
        except ValueError as e:
            raise ConfigError(f"--truncation {truncation}: {e}") from None
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    if classes is not None and not num_classes:
        raise ConfigError("--classes needs a conditional generator; this one is unconditional")
    chosen = list(range(num_classes)) if classes is None else sorted(set(int(c) for c in classes))
    bad = [c for c in chosen if not 0 <= c < num_classes]
    if bad:
        raise ConfigError(f"--classes: {bad} not in 0..{num_classes - 1}")
    image = len(tuple(getattr(G, "out_shape", ()))) == 3
    if fmt == "folder" and not image:
        raise ConfigError("--format folder writes images; this generator makes vectors: use --format npz")
    names = [str(n) for n in getattr(G, "class_names", [])] or [str(i) for i in range(num_classes)]
    folders = class_folders(names, num_classes) if num_classes else []

    g = torch.Generator().manual_seed(int(seed))
    y_all = balanced_labels(count, chosen, g) if num_classes else None
    digits = len(str(count - 1))
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    try:
        xs, written = [], 0
        for c in (chosen if fmt == "folder" else []):
            (tmp / folders[c]).mkdir()
        with tqdm(total=count, unit="img", desc=f"generating {out.name}", disable=not progress, delay=1.0) as bar:
            for start in range(0, count, batch_size):
                m = min(batch_size, count - start)
                z = prior.sample(m, g)
                yb = None if y_all is None else y_all[start:start + m]
                x = generate(G, z, yb, batch_size)
                if fmt == "npz":
                    xs.append(to_uint8(x) if image else x.float())
                else:
                    for j, tile in enumerate(to_uint8(x)):
                        i = start + j
                        folder = tmp / folders[int(yb[j])] if yb is not None else tmp
                        (folder / f"{i:0{digits}d}.png").write_bytes(image_bytes(grid_to_pil(tile)))
                written += m
                bar.update(m)
        if fmt == "npz":
            import numpy as np

            arrays = {"x": torch.cat(xs).numpy()}
            if y_all is not None:
                arrays["y"] = y_all.numpy()
                arrays["class_names"] = np.array(names)
            np.savez(tmp / "data.npz", **arrays)
        counts = {names[c]: int((y_all == c).sum()) for c in chosen} if y_all is not None else {}
        import gankit

        manifest = {"manifest": MANIFEST_FORMAT, **(provenance or {}), "seed": int(seed), "count": written,
                    "format": fmt, "truncation": truncation, "prior": prior.describe(),
                    "class_counts": counts,
                    "class_folders": {names[c]: folders[c] for c in chosen} if fmt == "folder" else {},
                    "shape": list(G.out_shape), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "gankit_version": gankit.__version__,
                    "read_with": (f"data.source=image-folder data.path={out}" if fmt == "folder"
                                  else f"data.source=npz data.path={out / 'data.npz'}")}
        atomic_write_json(tmp / MANIFEST, manifest)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` folder to ``out``; an existing ``out`` (``--force``) is moved aside
    first and deleted only after the new data set is in place."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.old")
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def checkpoint_provenance(path) -> dict:
    """``run``, ``checkpoint`` (the file the generator is loaded from) and its ``checkpoint_sha256``."""
    from gankit.metrics.cache import sha256_file
    from gankit.training.checkpoint import newest_valid_checkpoint

    path = Path(path).expanduser()
    if path.is_dir() and (path / "generator.json").is_file():
        file = path / "generator.safetensors"
    elif path.is_dir():
        file = newest_valid_checkpoint(path)[0]
    else:
        file = path
    return {"run": str(path.resolve()), "checkpoint": str(file.resolve()), "checkpoint_sha256": sha256_file(file)}
