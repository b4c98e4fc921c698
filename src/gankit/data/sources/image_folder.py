"""``image-folder``: any folder of images, optionally one sub-folder per class.

Layout
    Files ending in .png, .jpg, .jpeg, .bmp, .webp or .gif (any case) are found recursively; names
    starting with a dot are ignored. Two or more top-level sub-folders: each is a class (labels in
    sorted-name order; deeper folders belong to their top-level class). Images only at the top
    level, or a single sub-folder: unlabelled. Images both at the top level and in sub-folders is
    an error. Files are read in sorted relative-path order.

Pixels (the policy of :mod:`gankit.data.transforms`, applied with PIL)
    EXIF orientation is applied (in PNGs only from an eXIf chunk before the pixels). Alpha
    (RGBA, LA, palettes or grey/RGB with a transparent colour) is composited onto white; 16-bit
    grey is scaled to 8 bits, ``round(v * 255 / 65535)``;
    palette, CMYK and other colour modes become RGB. Target channels: ``data.channels``, or when
    it is null, 3 if any image is colour (grey images are then replicated) else 1; colour to grey
    is PIL's ITU-R 601 luma. Size: short side resized to ``data.resolution`` (bilinear,
    antialiased; JPEGs are decoded at a reduced DCT scale first when they are at least twice as
    large), then centre-cropped; 28 x 28 to 32 is zero-padded. ``data.resolution: null`` keeps
    the native size, which all images must then share.

Unreadable files
    Skipped and listed in ``info["skipped"]`` as ``(path, reason)`` (a warning says how many),
    unless ``data.strict`` is true, which raises naming the file. No readable file is an error.

Memory
    In memory when ``data.in_memory`` is true, or it is null and ``N * C * H * W`` bytes fit in
    ``data.max_memory_mb``: decoded by ``data.num_workers`` processes (a progress bar on stderr
    above 2,000 files) and cached as ``<GANKIT_CACHE or ~/.cache/gankit>/image-folder/<hash>.pt``
    (hash of the sorted relative paths, sizes, modification times, resolution and channels), so the
    next run loads one file (option ``cache: false`` turns this off; delete the folder to reclaim
    the space). Otherwise ``Dataset.stream`` is an :class:`ImageFolderStream` that
    decodes lazily (the header of every file is read once up front to find unreadable files, the
    channel count and, without a resolution, the common size).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm import tqdm

from gankit.io import atomic_torch_save
from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset
from gankit.data.sources._common import require_path
from gankit.data.transforms import plan_resize
from gankit.registry import ConfigError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"})
CACHE_VERSION = 1  # bump when decoding changes, so old caches are not reused
POOL_MIN_FILES = 512  # below this, starting worker processes costs more than it saves
PROGRESS_MIN_FILES = 2000
# What PIL raises for damaged, truncated or unsupported files.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError)
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N"})
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
EXIF_ORIENTATION = 0x0112
WHITE = (255, 255, 255, 255)
CHANNEL_MODES = {1: "L", 3: "RGB"}
CHANNELS_OF_MODE = {"L": 1, "RGB": 3}


# ---------------------------------------------------------------- layout


def list_images(root: Path) -> list:
    """Every image file under ``root`` with the facts the cache key needs.

    Args:
        root: the folder; symlinked folders are followed, each real folder once.

    Returns:
        Sorted ``[(relative POSIX path, size in bytes, mtime in ns), ...]``.
    """
    entries, seen, stack = [], set(), [("", str(root))]
    while stack:
        rel_dir, path = stack.pop()
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        try:
            with os.scandir(path) as it:
                for e in it:
                    if e.name.startswith("."):
                        continue
                    if e.is_dir():
                        stack.append((rel_dir + e.name + "/", e.path))
                    elif os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS and e.is_file():
                        st = e.stat()
                        entries.append((rel_dir + e.name, st.st_size, st.st_mtime_ns))
        except OSError as e:
            # Skipping it would silently drop a class (or part of one): stop and name the folder.
            where = f"the folder {path} inside data.path={root}" if rel_dir else f"data.path={root}"
            raise ConfigError(f"cannot read {where} ({e.strerror or e}); make it readable (e.g. chmod -R u+rX "
                              f"'{path}') or move it out of data.path") from None
    entries.sort()
    return entries


def class_layout(files: Sequence[str], root: Path) -> tuple:
    """Labels from the top-level sub-folders.

    Args:
        files: sorted relative POSIX paths.
        root: the folder, for messages.

    Returns:
        ``(labels, class_names)``: one label per file and the sorted class names, or
        ``(None, [])`` when unlabelled (images at the top level only, or a single sub-folder).
    """
    top = [f for f in files if "/" not in f]
    classes = sorted({f.split("/", 1)[0] for f in files if "/" in f})
    if top and classes:
        raise ConfigError(f"data.path={root} has images both at the top level (e.g. {top[0]}) and in sub-folders "
                          f"({', '.join(classes[:3])}...); put every image in a class sub-folder for labels, or all "
                          f"of them at the top level (or in one sub-folder) for an unlabelled data set")
    if len(classes) < 2:
        return None, []
    index = {name: k for k, name in enumerate(classes)}
    return [index[f.split("/", 1)[0]] for f in files], classes


def cache_dir() -> Path:
    """``$GANKIT_CACHE/image-folder``, by default ``~/.cache/gankit/image-folder``."""
    base = os.environ.get("GANKIT_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "gankit") / "image-folder"


def cache_key(entries: Sequence[tuple], resolution: Optional[int], channels: Optional[int]) -> str:
    """Hash of what determines the decoded tensor: relative paths, sizes, mtimes, resolution, channels.

    Args:
        entries: :func:`list_images` output.
        resolution: ``data.resolution``.
        channels: ``data.channels``.
    """
    text = f"image-folder v{CACHE_VERSION} resolution={resolution} channels={channels}\n"
    text += "".join(f"{rel}\t{size}\t{mtime}\n" for rel, size, mtime in entries)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def caches_collide(listings: Sequence[Sequence[tuple]], resolution: Optional[int], channels: Optional[int]) -> bool:
    """Whether two of several folders would share one cache file.

    The key leaves out the folder's location (a moved folder keeps its cache), so two folders with
    the same relative paths, sizes and mtimes (e.g. paired ``A/`` and ``B/`` BMPs unpacked from one
    archive) collide; callers that read several folders then turn the cache off for them.

    Args:
        listings: one :func:`list_images` output per folder.
        resolution: ``data.resolution``.
        channels: ``data.channels``.
    """
    keys = [cache_key(entries, resolution, channels) for entries in listings]
    return len(set(keys)) < len(keys)


# ---------------------------------------------------------------- decoding (runs in worker processes)


def natural_mode(mode: str) -> str:
    """``"L"`` for grey PIL modes (with or without alpha, 1/8/16 bits), else ``"RGB"``."""
    return "L" if mode in GREY_MODES else "RGB"


def orientation(img: Image.Image) -> int:
    """EXIF orientation (1 = upright) read from the header only.

    PIL's ``getexif`` decodes a whole PNG to look for an eXIf chunk after the pixels; such late
    chunks are ignored here, so the header pass and the decoder always agree.
    """
    if img.format == "PNG" and "exif" not in img.info:
        return 1
    return img.getexif().get(EXIF_ORIENTATION, 1)


def to_8bit(img: Image.Image) -> Image.Image:
    """An ``"L"`` or ``"RGB"`` image: alpha composited onto white, 16 bits scaled, other modes converted."""
    if img.mode in SIXTEEN_BIT_MODES:
        v = np.clip(np.asarray(img, dtype=np.int64), 0, 65535)
        return Image.fromarray(((v * 255 + 32767) // 65535).astype(np.uint8), "L")
    grey = natural_mode(img.mode) == "L"
    if img.mode in ("LA", "La", "RGBA", "RGBa", "PA") or "transparency" in img.info:
        # L -> RGB -> L is exact (the luma weights sum to 1), so grey goes through the RGBA composite too.
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE), rgba)
    target = "L" if grey else "RGB"
    return img if img.mode == target else img.convert(target)


def fit_resolution(img: Image.Image, resolution: int) -> Image.Image:
    """PIL version of :func:`gankit.data.transforms.to_resolution` for one image."""
    plan = plan_resize(img.height, img.width, resolution)
    if plan.pad:
        padded = Image.new(img.mode, (img.width + 2 * plan.pad, img.height + 2 * plan.pad), 0)
        padded.paste(img, (plan.pad, plan.pad))
        img = padded
    elif plan.resized != (img.height, img.width):
        img = img.resize((plan.resized[1], plan.resized[0]), Image.Resampling.BILINEAR)
    top, left = plan.crop
    if img.size != (resolution, resolution):
        img = img.crop((left, top, left + resolution, top + resolution))
    return img


def _first_warning(caught: list) -> Optional[str]:
    """The first warning the image library raised while reading a file, as one line (or None)."""
    return str(caught[0].message).splitlines()[0] if caught else None


def decode_image(path: str, resolution: Optional[int], mode: Optional[str]) -> tuple:
    """Decode one file following the module's pixel policy.

    Pillow's warnings (odd palettes, damaged EXIF...) are caught here, in the worker that decodes,
    and returned: the caller reports them as one line instead of raw warnings with source lines.

    Args:
        path: the image file.
        resolution: target side, or None for the native size.
        mode: ``"L"``, ``"RGB"``, or None for the image's natural mode (grey stays 1 channel).

    Returns:
        ``(uint8 [H, W, C] array, None, warning or None)``, or ``(None, reason, warning or None)``
        when the file cannot be read.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arr, reason = _decode(path, resolution, mode)
    return arr, reason, _first_warning(caught)


def _decode(path: str, resolution: Optional[int], mode: Optional[str]) -> tuple:
    try:
        with Image.open(path) as img:
            if resolution is not None:
                # JPEG only: decode at 1/2, 1/4 or 1/8 scale while both sides stay >= resolution.
                img.draft(img.mode, (resolution, resolution))
            rotated = orientation(img) != 1
            img.load()
            if rotated:
                img = ImageOps.exif_transpose(img)
            img = to_8bit(img)
        if mode == "L" and img.mode == "RGB":  # luma before resizing, replication after (as transforms do)
            img = img.convert("L")
        if resolution is not None:
            img = fit_resolution(img, resolution)
        if mode == "RGB" and img.mode == "L":
            img = img.convert("RGB")
        arr = np.asarray(img)
    except DECODE_ERRORS as e:
        return None, f"{type(e).__name__}: {e}"
    return (arr[:, :, None] if arr.ndim == 2 else arr), None


def probe_image(path: str) -> tuple:
    """Read only the header of one file.

    Returns:
        ``((natural mode "L"/"RGB", (height, width) after EXIF rotation), None)`` or ``(None, reason)``;
        the image library's warnings are dropped here (the decoder reports them).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as img:
                h, w = img.height, img.width
                if orientation(img) in (5, 6, 7, 8):  # 90-degree rotations swap the sides
                    h, w = w, h
                return (natural_mode(img.mode), (h, w)), None
        except DECODE_ERRORS as e:
            return None, f"{type(e).__name__}: {e}"


def map_files(fn: Callable, paths: Sequence[str], workers: int, desc: str) -> Iterator:
    """Ordered ``fn(path)`` results, in ``workers`` processes for large jobs, with a progress bar.

    Args:
        fn: picklable function of one path.
        paths: the files.
        workers: number of worker processes (0 or 1: this process).
        desc: progress-bar label.
    """
    bar = tqdm(total=len(paths), desc=desc, unit="img", file=sys.stderr, disable=len(paths) <= PROGRESS_MIN_FILES)
    if workers <= 1 or len(paths) < POOL_MIN_FILES:
        pool, results = None, map(fn, paths)
    else:
        pool = ProcessPoolExecutor(workers)
        results = pool.map(fn, paths, chunksize=max(1, min(256, len(paths) // (8 * workers))))
    try:
        for result in results:
            bar.update()
            yield result
    finally:
        bar.close()
        if pool is not None:
            # An early stop (strict mode) must not wait for the remaining files to be decoded.
            pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------- the source


def unreadable_error(path: str, reason: str) -> ConfigError:
    return ConfigError(f"cannot read image {path} ({reason}); data.strict is true: fix or remove the file, or set "
                       f"data.strict=false to skip unreadable files")


def nothing_readable(skipped: list, root: Path) -> ConfigError:
    return ConfigError(f"none of the image files in data.path={root} could be read "
                       f"(first: {skipped[0][0]}: {skipped[0][1]}); check that they are real images that open in a "
                       f"viewer (not renamed or partly downloaded files), or point data.path at another folder")


def report_skipped(skipped: list, total: int, root: Path) -> None:
    """Warn (never drop silently) when some files were skipped."""
    if skipped:
        warnings.warn(f"image-folder: skipped {len(skipped)} unreadable file(s) of {total} in {root} "
                      f"(first: {skipped[0][0]}: {skipped[0][1]}); the run's log.txt lists them all; fix or remove "
                      f"them, or set data.strict=true to stop at the first", stacklevel=2)


def report_decoder_warnings(warned: list, total: int, root: Path) -> None:
    """One line for the files the image library warned about (they were decoded and are used)."""
    if warned:
        warnings.warn(f"image-folder: the image library warned about {len(warned)} of {total} file(s) in {root} "
                      f"(first: {warned[0][0]}: {warned[0][1]}); they were decoded and are used; re-saving them "
                      f"(e.g. PIL: Image.open(f).save(f)) silences this", stacklevel=2)


def decode_all(root: Path, files: Sequence[str], req: DataRequest) -> tuple:
    """Decode every file into one tensor.

    Returns:
        ``(x uint8 [N, C, H, W], kept file indices, skipped [(path, reason)])``.
    """
    paths = [str(root / f) for f in files]
    fn = partial(decode_image, resolution=req.resolution, mode=CHANNEL_MODES.get(req.channels))
    kept, skipped, arrays, warned = [], [], [], []
    x = None
    if req.resolution is not None:
        # Fill one preallocated buffer as results arrive: peak memory stays ~1x the data set.
        r = req.resolution
        x = np.empty((len(files), req.channels or 3, r, r), dtype=np.uint8)
    colour = False
    with closing(map_files(fn, paths, req.num_workers, "decoding images")) as results:
        for i, (arr, reason, warning) in enumerate(results):
            if warning is not None and arr is not None:
                warned.append((paths[i], warning))
            if arr is None:
                if req.strict:
                    raise unreadable_error(paths[i], reason)
                skipped.append((paths[i], reason))
                continue
            colour |= arr.shape[2] == 3
            if x is not None:
                x[len(kept)] = arr.transpose(2, 0, 1)  # a grey [1, H, W] broadcasts over 3 channels
            else:
                arrays.append(arr)
            kept.append(i)
    if not kept:
        raise nothing_readable(skipped, root)
    report_decoder_warnings(warned, len(files), root)
    if x is None:
        sizes = {a.shape[:2] for a in arrays}
        if len(sizes) > 1:
            examples = ", ".join(f"{files[i]} is {a.shape[0]}x{a.shape[1]}" for i, a in list(zip(kept, arrays))[:3])
            raise ConfigError(f"data.resolution is null (native size) but the images in {root} differ in size "
                              f"({examples}...); set data.resolution to resize them")
        channels = req.channels or (3 if colour else 1)
        x = np.empty((len(arrays), channels) + arrays[0].shape[:2], dtype=np.uint8)
        for j, a in enumerate(arrays):
            x[j] = a.transpose(2, 0, 1)
    else:
        x = x[:len(kept)]
        if req.channels is None and not colour:
            x = np.ascontiguousarray(x[:, :1])
    return torch.from_numpy(x), kept, skipped


class ImageFolderStream(torch.utils.data.Dataset):
    """Lazily decoded images for data sets too large for memory.

    Args:
        root: the folder.
        files: relative paths of the readable files.
        labels: one label per file, or None when unlabelled.
        resolution: target side, or None (all images share the native size).
        mode: ``"L"`` or ``"RGB"``.
        strict: raise on a file that fails to decode; otherwise warn and return the next file.

    Items are ``(uint8 [C, H, W] tensor, int label)``, label -1 when unlabelled.
    """

    def __init__(self, root: Path, files: Sequence[str], labels: Optional[Sequence[int]],
                 resolution: Optional[int], mode: str, strict: bool):
        self.root, self.files, self.labels = str(root), list(files), None if labels is None else list(labels)
        self.resolution, self.mode, self.strict = resolution, mode, strict

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple:
        # A file can pass the header check and still fail to decode (truncated data): substitute the
        # next one so one bad file does not end a long run, unless strict.
        for step in range(len(self.files)):
            i = (index + step) % len(self.files)
            path = os.path.join(self.root, self.files[i])
            arr, reason, warning = decode_image(path, self.resolution, self.mode)
            if warning is not None and arr is not None:
                warnings.warn(f"image-folder: {path}: {warning} (decoded and used)")
            if arr is not None:
                label = -1 if self.labels is None else self.labels[i]
                return torch.from_numpy(arr.transpose(2, 0, 1).copy()), label
            if self.strict:
                raise unreadable_error(path, reason)
            warnings.warn(f"image-folder: cannot decode {path} ({reason}); using the next file instead")
        raise ConfigError(f"none of the {len(self.files)} images in {self.root} can be decoded")


def load_cache(path: Path) -> Optional[dict]:
    """The cached payload, or None when absent or unusable (a damaged cache warns and is rebuilt)."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:
        warnings.warn(f"image-folder: ignoring damaged cache {path} ({e}); decoding again")
        return None
    if not _valid_payload(payload):
        warnings.warn(f"image-folder: ignoring cache {path} written by another gankit version; decoding again")
        return None
    return payload


def _valid_payload(payload) -> bool:
    if not isinstance(payload, dict) or payload.get("version") != CACHE_VERSION:
        return False
    x, y = payload.get("x"), payload.get("y")
    if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.dim() != 4:
        return False
    if y is not None and (not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.shape != x.shape[:1]):
        return False
    return isinstance(payload.get("skipped"), list)


def save_cache(path: Path, payload: dict) -> None:
    """Write atomically (temporary file, then rename); a failure to write only warns."""
    try:
        atomic_torch_save(payload, path)
    except OSError as e:
        warnings.warn(f"image-folder: could not write the cache {path} ({e}); the next run decodes again")


def probe_all(root: Path, files: Sequence[str], req: DataRequest) -> tuple:
    """Header pass over every file.

    Returns:
        ``(kept indices, modes, sizes, skipped [(path, reason)])``.
    """
    paths = [str(root / f) for f in files]
    kept, modes, sizes, skipped = [], [], [], []
    with closing(map_files(probe_image, paths, req.num_workers, "reading headers")) as results:
        for i, (probe, reason) in enumerate(results):
            if probe is None:
                if req.strict:
                    raise unreadable_error(paths[i], reason)
                skipped.append((paths[i], reason))
                continue
            kept.append(i)
            modes.append(probe[0])
            sizes.append(probe[1])
    if not kept:
        raise nothing_readable(skipped, root)
    return kept, modes, sizes, skipped


@DATA_SOURCES.register("image-folder")
def image_folder(req: DataRequest, cache: bool = True) -> Dataset:
    """A folder of images; class sub-folders become labels (see the module docstring for the policy).

    Args:
        req: common settings: ``path`` (the folder), ``resolution``, ``channels``, ``strict``,
            ``in_memory``, ``max_memory_mb``, ``num_workers``.
        cache: keep decoded in-memory data sets in ``~/.cache/gankit/image-folder`` (or
            ``$GANKIT_CACHE/image-folder``) for the next run.

    Returns:
        A Dataset with ``x`` uint8 ``[N, C, R, R]``, or ``stream`` when the data do not fit in memory;
        ``info`` has ``files`` (found), ``skipped``, ``cached``, ``cache_file``.
    """
    if req.channels not in (None, 1, 3):
        raise ConfigError(f"data.channels must be 1, 3 or null, got {req.channels}")
    root = require_path(req, "image-folder", "dir", "a folder of images (class sub-folders become labels)")
    entries = list_images(root)
    files = [rel for rel, _, _ in entries]
    labels, class_names = class_layout(files, root)
    if not files:
        raise ConfigError(f"data.path={req.path} holds no images (searched recursively for "
                          f"{', '.join(sorted(IMAGE_EXTENSIONS))}); put the images there (one sub-folder per class "
                          f"for labels) or point data.path at the folder that holds them")
    info = {"root": str(root), "files": len(files), "skipped": [], "cached": False, "cache_file": None,
            "labelled": labels is not None}
    limit = req.max_memory_mb * 2**20

    cache_file = None
    if cache and req.in_memory is not False:
        cache_file = cache_dir() / f"{cache_key(entries, req.resolution, req.channels)}.pt"
        info["cache_file"] = str(cache_file)
        payload = load_cache(cache_file)
        if payload is not None and (req.in_memory or payload["x"].nbytes <= limit):
            skipped = [(str(root / rel), reason) for rel, reason in payload["skipped"]]
            # The key holds names, sizes and times; a skipped file repaired without changing them
            # (permissions fixed, a copy that keeps the time) must not stay skipped: retry those few.
            if not any(decode_image(path, req.resolution, CHANNEL_MODES.get(req.channels))[0] is not None
                       for path, _ in skipped):
                if skipped and req.strict:
                    raise unreadable_error(*skipped[0])
                report_skipped(skipped, len(files), root)
                info.update(skipped=skipped, cached=True)
                return _in_memory(payload["x"], payload["y"], class_names, info)

    in_memory, probed = req.in_memory, None
    if in_memory is None:
        if req.resolution is None:
            probed = probe_all(root, files, req)
            need = len(probed[0]) * (req.channels or 3) * max(h * w for h, w in probed[2])
        else:
            need = len(files) * (req.channels or 3) * req.resolution ** 2
        in_memory = need <= limit

    if in_memory:
        # Files whose header already failed are not decoded again.
        candidates = list(range(len(files))) if probed is None else probed[0]
        x, kept, skipped = decode_all(root, [files[i] for i in candidates], req)
        kept = [candidates[i] for i in kept]
        skipped = sorted(skipped + (probed[3] if probed else []))
        report_skipped(skipped, len(files), root)
        y = None if labels is None else torch.tensor([labels[i] for i in kept], dtype=torch.int64)
        info["skipped"] = skipped
        if cache_file is not None:
            rel_skipped = [(os.path.relpath(p, root), reason) for p, reason in skipped]
            save_cache(cache_file, {"version": CACHE_VERSION, "x": x, "y": y, "skipped": rel_skipped})
        return _in_memory(x, y, class_names, info)

    kept, modes, sizes, skipped = probed or probe_all(root, files, req)
    report_skipped(skipped, len(files), root)
    if req.resolution is None and len(set(sizes)) > 1:
        raise ConfigError(f"data.resolution is null (native size) but the images in {root} differ in size "
                          f"({', '.join(f'{h}x{w}' for h, w in sorted(set(sizes))[:3])}...); set data.resolution")
    mode = CHANNEL_MODES.get(req.channels) or ("RGB" if "RGB" in modes else "L")
    h, w = (req.resolution, req.resolution) if req.resolution is not None else sizes[0]
    stream = ImageFolderStream(root, [files[i] for i in kept], None if labels is None else [labels[i] for i in kept],
                               req.resolution, mode, req.strict)
    info["skipped"] = skipped
    return Dataset(x=None, y=None, num_classes=len(class_names), class_names=class_names,
                   shape=(CHANNELS_OF_MODE[mode], h, w), stream=stream, info=info)


def _in_memory(x: torch.Tensor, y: Optional[torch.Tensor], class_names: list, info: dict) -> Dataset:
    return Dataset(x=x, y=y, num_classes=len(class_names) if y is not None else 0,
                   class_names=class_names if y is not None else [], shape=tuple(x.shape[1:]), info=info)
