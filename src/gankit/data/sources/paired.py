"""``paired``: aligned input/target images for image-to-image translation (pix2pix).

Layouts of ``data.path``:

- Two folders (default): ``A/`` (inputs) and ``B/`` (targets) under ``data.path``
  (``data.args.a_dir`` / ``b_dir`` name others, e.g. ``A/train``), paired by file name without the
  extension (``A/0001.png`` with ``B/0001.jpg``; sub-folders are part of the name). Every file
  needs its partner; an unreadable file (skipped unless ``data.strict``) drops its pair. Pairs
  come in the sorted order of their names. Each side is read by the ``image-folder`` source (pixel
  policy, cache), so each side is resized and centre-cropped on its own: pairs must share an
  aspect ratio.
- One folder of side-by-side images (``data.args.side_by_side: true``, the layout of the pix2pix
  data sets such as facades and edges2shoes): the left half of each image is A, the right half B.
  All images must share one size with an even width.
- An ``.npz`` file with arrays ``x`` (inputs) and ``target``, each ``[N, C, H, W]``,
  ``[N, H, W, C]`` or ``[N, H, W]`` in the value ranges of the ``npz`` source (uint8 0..255,
  float [0, 1] or [-1, 1]), and optionally ``y`` (integer labels ``[N]``).

The input and the target may have different channel counts (grey edges to a colour photo) when
``data.channels`` is null; ``data.resolution`` applies to both. ``data.args.direction: BtoA``
swaps the roles (the pix2pix option of that name). Paired data are held in memory: input and
target rows are batched with the same indices.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset, build_dataset
from gankit.data.sources._common import image_dataset, labels_tensor, require_path
from gankit.data.sources.image_folder import IMAGE_EXTENSIONS, caches_collide, list_images, probe_all
from gankit.data.sources.npz import FLOAT_RANGES, channels_first, float_images_to_uint8
from gankit.data.transforms import to_resolution
from gankit.registry import ConfigError

DIRECTIONS = ("AtoB", "BtoA")
EXAMPLES = 3  # file names quoted in an error message


@DATA_SOURCES.register("paired")
def paired(req: DataRequest, a_dir: str = "A", b_dir: str = "B", side_by_side: bool = False,
           direction: str = "AtoB", float_range: str = "auto", cache: bool = True) -> Dataset:
    """Aligned (input, target) image pairs from two folders, side-by-side images or an .npz file.

    Args:
        req: common settings; ``path`` is the folder holding ``a_dir`` and ``b_dir``, the folder of
            side-by-side images, or the ``.npz`` file. ``resolution`` and ``channels`` apply to both
            sides; ``max_memory_mb`` bounds both together (``in_memory: false`` is refused).
        a_dir: the input folder, relative to ``data.path`` (two-folder layout).
        b_dir: the target folder, relative to ``data.path`` (two-folder layout).
        side_by_side: ``data.path`` holds single images, A on the left half and B on the right.
        direction: ``"AtoB"`` (input A, target B) or ``"BtoA"``.
        float_range: value range of float arrays in an .npz: ``"auto"``, ``"0,1"`` or ``"-1,1"``.
        cache: the image-folder cache of decoded folders.

    Returns:
        A Dataset with ``x`` the inputs, uint8 ``[N, C_in, R, R]``, and ``fields["target"]`` the
        targets, uint8 ``[N, C_target, R, R]`` (row ``i`` is the partner of row ``i``). ``shape`` is the
        input's ``(C_in, R, R)``; ``info["target_shape"]`` is ``(C_target, R, R)``. ``y`` holds the
        .npz file's labels when it has ``y``, else None.
    """
    if direction not in DIRECTIONS:
        raise ConfigError(f"data.args.direction must be one of {', '.join(DIRECTIONS)}, got '{direction}'")
    if float_range not in FLOAT_RANGES:
        raise ConfigError(f"data.args.float_range must be one of {', '.join(FLOAT_RANGES)}, got '{float_range}'")
    if req.channels not in (None, 1, 3):
        raise ConfigError(f"data.channels must be 1, 3 or null, got {req.channels}")
    if req.in_memory is False:
        raise ConfigError("data source 'paired' holds its pairs in memory (input and target rows are batched "
                          "together); set data.in_memory to null or true")
    is_npz = bool(req.path) and str(req.path).lower().endswith(".npz")
    if is_npz:
        path = require_path(req, "paired", "file", "an .npz file with arrays 'x' and 'target'")
        x, target, y, info = _from_npz(path, req, float_range)
    elif side_by_side:
        path = require_path(req, "paired", "dir", "a folder of side-by-side A|B images")
        x, target, info = _side_by_side(path, req, cache)
        y = None
    else:
        path = require_path(req, "paired", "dir", f"a folder holding {a_dir}/ and {b_dir}/ with matching file "
                                                  f"names (or an .npz file)")
        x, target, info = _from_folders(path, a_dir, b_dir, req, cache)
        y = None
    if direction == "BtoA":
        x, target = target, x
    num_classes = int(y.max()) + 1 if y is not None else 0
    info.update(direction=direction, pairs=len(x), target_shape=tuple(target.shape[1:]))
    return Dataset(x=x, y=y, num_classes=num_classes, class_names=[str(k) for k in range(num_classes)],
                   shape=tuple(x.shape[1:]), fields={"target": target}, info=info)


# ---------------------------------------------------------------- .npz


def _from_npz(path: Path, req: DataRequest, float_range: str) -> tuple:
    """``(x, target, y or None, info)`` from an .npz file (see the module docstring)."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ConfigError(f"data.path={req.path} is not a readable .npz file: {e}") from e
    with archive:
        missing = [k for k in ("x", "target") if k not in archive.files]
        if missing:
            raise ConfigError(f"{path} has no array {' or '.join(repr(k) for k in missing)} (found: "
                              f"{', '.join(archive.files) or 'none'}); save the pairs as "
                              f"np.savez(path, x=inputs, target=targets)")
        try:
            arrays = {k: archive[k] for k in ("x", "target", "y") if k in archive.files}
        except ValueError as e:  # object arrays need pickle, which stays disabled
            raise ConfigError(f"{path}: {e}; store plain numeric arrays") from e
    n, m = len(arrays["x"]), len(arrays["target"])
    if n != m:
        raise ConfigError(f"{path}: x has {n} samples but target has {m}; row i of target must be the partner of "
                          f"row i of x, so both need the same length")
    x = _npz_images(arrays["x"], "x", path, float_range)
    target = _npz_images(arrays["target"], "target", path, float_range)
    _check_sizes(tuple(x.shape[2:]), tuple(target.shape[2:]), req, f"{path}: x", "target")
    y = labels_tensor(arrays["y"], f"{path}:y") if "y" in arrays else None
    if y is not None and len(y) != n:
        raise ConfigError(f"{path}: y has {len(y)} labels for {n} pairs")
    info = {"file": str(path), "native": tuple(x.shape[1:]), "native_target": tuple(target.shape[1:])}
    return _fit(x, req), _fit(target, req), y, info


def _npz_images(arr: np.ndarray, name: str, path: Path, float_range: str) -> torch.Tensor:
    """One .npz array as uint8 ``[N, C, H, W]`` (the value rules of the ``npz`` source)."""
    where = f"{path}: array '{name}'"
    if arr.ndim not in (3, 4) or len(arr) == 0:
        raise ConfigError(f"{where} must be images [N, C, H, W], [N, H, W, C] or [N, H, W] with N > 0, got shape "
                          f"{arr.shape}")
    arr = channels_first(arr, where)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ConfigError(f"{where} holds NaN or infinite values")
        arr = float_images_to_uint8(arr, float_range, where)
    elif np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ConfigError(f"{where}: integer images must be 0..255, found {lo}..{hi}; store uint8 images")
        arr = arr.astype(np.uint8, copy=False)
    else:
        raise ConfigError(f"{where} has dtype {arr.dtype}; images must be integer 0..255 or float")
    return torch.from_numpy(np.ascontiguousarray(arr))


# ---------------------------------------------------------------- two folders


def _from_folders(root: Path, a_dir: str, b_dir: str, req: DataRequest, cache: bool) -> tuple:
    """``(x, target, info)`` from ``root / a_dir`` and ``root / b_dir`` paired by file name."""
    folders, names, listings = {}, {}, []
    for side, sub in (("a", a_dir), ("b", b_dir)):
        folder = root / sub
        if not folder.is_dir():
            present = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
            raise ConfigError(f"the {'input' if side == 'a' else 'target'} folder {folder} (data.args.{side}_dir="
                              f"{sub} under data.path={req.path}) does not exist (folders there: "
                              f"{', '.join(present[:8]) or 'none'}); point data.args.{side}_dir at it, or set "
                              f"data.args.side_by_side=true for a folder of A|B images")
        entries = list_images(folder)
        if not entries:
            raise ConfigError(f"the {'input' if side == 'a' else 'target'} folder {folder} (data.args.{side}_dir="
                              f"{sub}) holds no images (searched recursively for "
                              f"{', '.join(sorted(IMAGE_EXTENSIONS))}); put the images there or point "
                              f"data.args.{side}_dir at another folder")
        folders[side], names[side] = folder, _names(entries, folder)
        listings.append(entries)
    only_a = sorted(set(names["a"]) - set(names["b"]))
    only_b = sorted(set(names["b"]) - set(names["a"]))
    if only_a or only_b:
        parts = [f"{len(only)} image(s) in {folders[s]} have no partner in {folders[o]} (e.g. "
                 f"{', '.join(names[s][k] for k in only[:EXAMPLES])})"
                 for s, o, only in (("a", "b", only_a), ("b", "a", only_b)) if only]
        raise ConfigError(f"{'; '.join(parts)}. Pairs are matched by file name without the extension: add the "
                          f"missing partners or remove the extra files")
    n = len(names["a"])
    in_memory = req.in_memory
    if req.resolution is not None:
        _check_memory(2 * n * (req.channels or 3) * req.resolution ** 2, f"the {n} pairs in {root}", req)
        in_memory = True
    cache = cache and not caches_collide(listings, req.resolution, req.channels)
    sides, skipped = {}, []
    for side, folder in folders.items():
        ds = build_dataset("image-folder", dataclasses.replace(req, path=str(folder), in_memory=in_memory),
                           {"cache": cache})
        if ds.stream is not None:
            raise ConfigError(f"the images in {folder} at their native size (data.resolution=null) need more than "
                              f"data.max_memory_mb={req.max_memory_mb}, and paired data are held in memory; set "
                              f"data.resolution, raise data.max_memory_mb, or set data.in_memory=true")
        rows = _rows(ds, folder, names[side])
        sides[side] = (ds.x, rows)
        skipped += ds.info["skipped"]
    common = [k for k in sorted(names["a"]) if k in sides["a"][1] and k in sides["b"][1]]
    if len(common) < n:
        warnings.warn(f"paired: dropped {n - len(common)} pair(s) of {n} in {root} whose input or target could not "
                      f"be read (listed in info['skipped'])", stacklevel=2)
    if not common:
        raise ConfigError(f"no pair in {root} has both images readable (first unreadable: {skipped[0][0]})")
    x, target = (sides[s][0][torch.tensor([sides[s][1][k] for k in common])] for s in ("a", "b"))
    _check_sizes(tuple(x.shape[2:]), tuple(target.shape[2:]), req, f"the images in {folders['a']}",
                 f"those in {folders['b']}")
    return x, target, {"root": str(root), "a_dir": str(folders["a"]), "b_dir": str(folders["b"]), "skipped": skipped,
                       "dropped_pairs": n - len(common)}


def _names(entries: list, folder: Path) -> dict:
    """``{relative path without extension: relative path}``; two files with one name is an error."""
    names = {}
    for rel, _, _ in entries:
        key = str(PurePosixPath(rel).with_suffix(""))
        if key in names:
            raise ConfigError(f"{folder} holds both {names[key]} and {rel}: pairs are matched by file name without "
                              f"the extension, so keep one of them")
        names[key] = rel
    return names


def _rows(ds: Dataset, folder: Path, names: dict) -> dict:
    """``{name: row of ds.x}``: image-folder keeps its readable files in sorted relative-path order."""
    skipped = {p for p, _ in ds.info["skipped"]}
    kept = sorted((rel, key) for key, rel in names.items() if str(folder / rel) not in skipped)
    assert len(kept) == len(ds), (len(kept), len(ds))
    return {key: i for i, (_, key) in enumerate(kept)}


# ---------------------------------------------------------------- side by side


def _side_by_side(root: Path, req: DataRequest, cache: bool) -> tuple:
    """``(x, target, info)``: the left and right halves of every image in ``root``."""
    files = [rel for rel, _, _ in list_images(root)]
    if not files:
        raise ConfigError(f"data.path={req.path} holds no images (searched recursively for "
                          f"{', '.join(sorted(IMAGE_EXTENSIONS))}); side-by-side pairs need one A|B image per pair")
    kept, _, sizes, _ = probe_all(root, files, req)
    if len(set(sizes)) > 1:
        examples = ", ".join(f"{files[i]} is {h}x{w}" for i, (h, w) in list(zip(kept, sizes))[:EXAMPLES])
        raise ConfigError(f"the side-by-side images in {root} differ in size ({examples}...); every A|B image must "
                          f"have the same size (data.resolution applies to each half afterwards)")
    h, w = sizes[0]
    if w % 2:
        raise ConfigError(f"the side-by-side images in {root} are {w} pixels wide, an odd number, so they cannot be "
                          f"split into equal A|B halves; crop them to an even width or use two folders "
                          f"(data.args.side_by_side=false)")
    _check_memory(len(kept) * (req.channels or 3) * h * w, f"the {len(kept)} side-by-side images in {root}", req)
    ds = build_dataset("image-folder", dataclasses.replace(req, resolution=None, in_memory=True), {"cache": cache})
    half = w // 2
    a, b = (to_resolution(part.contiguous(), req.resolution).contiguous()
            for part in (ds.x[..., :half], ds.x[..., half:]))
    return a, b, {"root": str(root), "side_by_side": True, "native": (h, w), "skipped": ds.info["skipped"]}


# ---------------------------------------------------------------- shared checks


def _fit(x: torch.Tensor, req: DataRequest) -> torch.Tensor:
    """The channel and resolution policy of every image source, applied to one side."""
    return image_dataset(x, None, [], req, info={}).x


def _check_sizes(size_x: tuple, size_t: tuple, req: DataRequest, what_x: str, what_t: str) -> None:
    """Inputs and targets must share a size, or at least an aspect ratio when both are resized."""
    if size_x == size_t:
        return
    (hx, wx), (ht, wt) = size_x, size_t
    if req.resolution is not None and hx * wt == ht * wx:
        return  # both are resized to data.resolution by the same plan
    fix = ("set data.resolution to resize both" if req.resolution is None
           else "resize them to one aspect ratio first: the centre crops would not line up")
    raise ConfigError(f"{what_x} are {hx}x{wx} but {what_t} are {ht}x{wt}; input and target must have the same size "
                      f"({fix})")


def _check_memory(need: int, what: str, req: DataRequest) -> None:
    limit = req.max_memory_mb * 2**20
    if req.in_memory is None and need > limit:
        raise ConfigError(f"{what} need about {need / 2**20:.3g} MiB, more than data.max_memory_mb="
                          f"{req.max_memory_mb}, and paired data are held in memory; raise data.max_memory_mb, "
                          f"lower data.resolution, or set data.in_memory=true")
