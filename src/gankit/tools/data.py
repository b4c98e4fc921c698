"""Real samples of a run's data set, for the tools that compare or explain (saliency, inpainting)."""

from __future__ import annotations

from typing import Optional, Tuple

import torch


def run_samples(cfg, n: int, seed: int = 0) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``n`` random samples of a run's training data (``cfg.data``), chosen by ``seed``.

    Returns:
        ``(x, y)``: images ``[n, C, H, W]`` in [-1, 1] (vectors ``[n, D]`` as stored) and labels
        ``[n]`` (None for unlabelled data); fewer than ``n`` when the data set is smaller.
    """
    from omegaconf import OmegaConf

    from gankit.data import DataRequest, build_dataset

    d = cfg.data
    ds = build_dataset(d.source, DataRequest(path=d.path, resolution=d.resolution, channels=d.channels,
                                             strict=d.strict, in_memory=d.in_memory, max_memory_mb=d.max_memory_mb,
                                             num_workers=d.num_workers),
                       dict(d.args), limit=OmegaConf.select(cfg, "data.limit", default=None))
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    if ds.stream is not None:
        items = [ds.stream[i] for i in idx.tolist()]
        x = torch.stack([torch.as_tensor(item[0]) for item in items])
        y = torch.tensor([int(item[1]) for item in items]) if ds.num_classes else None
    else:
        x, y = ds.x[idx], (ds.y[idx] if ds.y is not None else None)
    return (x.float() / 127.5 - 1.0 if ds.is_image else x.float()), y


def read_image_files(path, shape, setting: str = "--image"):
    """Decode an image file, or the images under a folder, at a generator's output ``shape``.

    Returns:
        ``(files, images [N, C, H, W] in [-1, 1])``, with the data pipeline's resize, crop and
        channel policy (:func:`gankit.translate.read_images`).
    """
    from pathlib import Path

    from gankit.registry import ConfigError
    from gankit.translate import input_files, read_images

    if len(tuple(shape)) != 3:
        raise ConfigError(f"{setting}: this generator makes vectors of shape {tuple(shape)}, not images")
    if not Path(path).expanduser().exists():
        raise ConfigError(f"{setting} {path} does not exist; give an image file or a folder of images")
    try:
        files = input_files(path)
    except ConfigError as e:
        raise ConfigError(str(e).replace("--input", setting)) from None
    return files, read_images(files, shape)
