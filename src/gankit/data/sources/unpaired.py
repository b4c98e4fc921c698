"""``unpaired``: two image domains with no correspondence between their samples (CycleGAN).

Two ways to name the domains:

- Folders (default): ``data.path`` is a root holding one folder per domain, ``trainA/`` and
  ``trainB/`` in the CycleGAN layout (``data.args.a_dir`` / ``b_dir`` name others, e.g.
  ``a_dir: train/horse, b_dir: train/deer`` under an unpacked CIFAR-10 image folder). Each is read
  by the ``image-folder`` source (its pixel policy, unreadable-file handling, cache and streaming);
  class sub-folders inside a domain give labels that are kept on the domain but not batched.
- Sources: ``data.args.a`` and ``data.args.b`` are ``{source: NAME, path: ..., args: {...}}``,
  each built by :func:`gankit.data.build_dataset` with the common settings (``path`` defaults to
  ``data.path``), e.g. two ``npz`` files, or two ``image-folder`` roots in different places.

Both domains get ``data.resolution`` and ``data.channels`` and must end up with the same sample
shape (set ``data.channels`` when one is grey and the other colour). Each domain has half of
``data.max_memory_mb``; a domain that does not fit streams from disk (``image-folder``) in its own
seeded order, like an in-memory one. ``len()`` of the result is the larger domain's size (an
epoch of unpaired data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset, build_dataset
from gankit.data.sources._common import require_path
from gankit.data.sources.image_folder import IMAGE_EXTENSIONS, caches_collide, list_images
from gankit.registry import ConfigError, closest

DOMAINS = ("a", "b")
SPEC_KEYS = ("source", "path", "args")


@DATA_SOURCES.register("unpaired")
def unpaired(req: DataRequest, a_dir: str = "trainA", b_dir: str = "trainB", a: Optional[dict] = None,
             b: Optional[dict] = None, cache: bool = True) -> Dataset:
    """Two unpaired image domains, ``a`` and ``b``, each batched in its own order (CycleGAN).

    Args:
        req: common settings; ``path`` is the root holding the domain folders (folder mode) or the
            default ``path`` of the two sources (source mode); ``resolution``, ``channels``,
            ``strict``, ``in_memory`` and ``num_workers`` apply to each domain, and each domain gets
            half of ``max_memory_mb``.
        a_dir: domain A's folder, relative to ``data.path`` (folder mode).
        b_dir: domain B's folder, relative to ``data.path`` (folder mode).
        a: domain A as a source, ``{source: NAME, path: PATH, args: {...}}`` (with ``b``; replaces
            the folders).
        b: domain B as a source, like ``a``.
        cache: the image-folder cache of decoded domains (folder mode).

    Returns:
        A Dataset with ``x`` None and ``domains = {"a": Dataset, "b": Dataset}`` (each in memory,
        uint8 ``[N_k, C, R, R]``, or streamed), ``shape`` their common ``(C, R, R)``; ``info`` has
        per domain ``{"source", "path", "samples", "streamed"}`` and that domain's own ``info``.
    """
    half = dataclasses.replace(req, max_memory_mb=max(1, req.max_memory_mb // 2))
    if (a is None) != (b is None):
        given, missing = ("a", "b") if b is None else ("b", "a")
        raise ConfigError(f"data.args.{given} is set but data.args.{missing} is not: give both domains as sources "
                          f"({{source: NAME, path: ..., args: {{...}}}}), or neither to read the folders "
                          f"data.args.a_dir / b_dir under data.path")
    if a is not None:
        built = {name: _source_domain(name, spec, half) for name, spec in zip(DOMAINS, (a, b))}
    else:
        root = require_path(req, "unpaired", "dir", f"a folder holding the domain folders {a_dir}/ and {b_dir}/")
        folders = {name: _domain_folder(name, root, sub, req) for name, sub in zip(DOMAINS, (a_dir, b_dir))}
        cache = cache and not caches_collide([entries for _, entries in folders.values()], req.resolution,
                                             req.channels)
        built = {name: (build_dataset("image-folder", dataclasses.replace(half, path=str(folder)), {"cache": cache}),
                        "image-folder", str(folder))
                 for name, (folder, _) in folders.items()}
    domains = {name: ds for name, (ds, _, _) in built.items()}
    shape = _common_shape(domains, {name: source + (f" at {path}" if path else "")
                                    for name, (_, source, path) in built.items()})
    info = {name: {"source": source, "path": path, "samples": len(ds), "streamed": ds.stream is not None,
                   "info": ds.info}
            for name, (ds, source, path) in built.items()}
    return Dataset(x=None, y=None, num_classes=0, class_names=[], shape=shape, domains=domains, info=info)


def _domain_folder(name: str, root: Path, sub: str, req: DataRequest) -> tuple:
    """``(root / sub, its list_images entries)`` after checking the folder exists and holds images."""
    folder = root / sub
    setting = f"data.args.{name}_dir={sub}"
    if not folder.is_dir():
        present = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        raise ConfigError(f"domain {name.upper()} folder {folder} does not exist ({setting} under data.path="
                          f"{req.path}; folders there: {', '.join(present[:8]) or 'none'}).{closest(sub, present)} "
                          f"Point data.args.{name}_dir at the domain's folder")
    entries = list_images(folder)
    if not entries:
        raise ConfigError(f"domain {name.upper()} folder {folder} ({setting}) holds no images (searched recursively "
                          f"for {', '.join(sorted(IMAGE_EXTENSIONS))}); put the domain's images there or point "
                          f"data.args.{name}_dir at another folder")
    return folder, entries


def _source_domain(name: str, spec, req: DataRequest) -> tuple:
    """Domain ``name`` built from ``{source, path, args}``; returns ``(Dataset, source, path)``."""
    where = f"data.args.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a mapping {{source: NAME, path: ..., args: {{...}}}}, got {spec!r}")
    spec = dict(spec)
    for key in spec:
        if key not in SPEC_KEYS:
            raise ConfigError(f"unknown setting {where}.{key}.{closest(key, SPEC_KEYS)} Valid settings: "
                              f"{', '.join(SPEC_KEYS)}")
    source = spec.get("source")
    if not source:
        raise ConfigError(f"{where}.source is missing: name the domain's data source, e.g. {{source: image-folder, "
                          f"path: /data/horses}}")
    if source == "unpaired":
        raise ConfigError(f"{where}.source cannot be 'unpaired' itself: a domain is one data set (e.g. image-folder, "
                          f"npz, mnist5k)")
    args = spec.get("args") or {}
    if not isinstance(args, Mapping):
        raise ConfigError(f"{where}.args must be a mapping of {source}'s options, got {args!r}")
    path = spec.get("path", req.path)
    ds = build_dataset(source, dataclasses.replace(req, path=None if path is None else str(path)), dict(args))
    if ds.domains:
        raise ConfigError(f"{where}.source '{source}' gives two domains itself; a domain must be one data set")
    return ds, source, path


def _common_shape(domains: dict, where: dict) -> tuple:
    """The domains' shared sample shape; a ConfigError names the difference and the setting that fixes it."""
    sa, sb = (tuple(domains[k].shape) for k in DOMAINS)
    if sa == sb:
        return sa
    told = f"domain A ({where['a']}) has samples of shape {sa} but domain B ({where['b']}) has {sb}"
    if len(sa) != 3 or len(sb) != 3:
        raise ConfigError(f"{told}; both domains must be images of one shape")
    if sa[0] != sb[0]:
        raise ConfigError(f"{told}: the channel counts differ; set data.channels=3 (grey replicated) or "
                          f"data.channels=1 (luma) so both domains match")
    raise ConfigError(f"{told}: the image sizes differ; set data.resolution (e.g. data.resolution={max(sa[1], sb[1])}) "
                      f"so both domains are resized to one size")
