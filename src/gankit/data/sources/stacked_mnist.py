"""Stacked MNIST: three independent MNIST digits as the three colour channels (1,000 modes).

The benchmark of Metz et al. 2017 (Unrolled GAN), VEEGAN and PacGAN (Table 2). PacGAN's code
builds 128,000 training samples (``num_training_sample``) at 28 x 28; here the digits come from a
base MNIST source at ``data.resolution`` (32 by default: the base source pads 28 -> 32, the size the
DCGAN families expect).
"""

from __future__ import annotations

import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset, build_dataset
from gankit.registry import ConfigError

DIGIT_WEIGHTS = torch.tensor([100, 10, 1])


@DATA_SOURCES.register("stacked-mnist")
def stacked_mnist(req: DataRequest, n: int = 128_000, base: str = "mnist5k") -> Dataset:
    """Stacked MNIST: ``n`` RGB images whose channels are three random MNIST digits (1,000 classes).

    Args:
        req: common settings; ``req.seed`` picks the digits, ``req.path`` is passed to the base
            source (e.g. the IDX file for ``base: mnist-idx``), ``req.resolution`` sizes the digits.
        n: number of stacked samples (PacGAN: 128,000).
        base: the single-digit source (``mnist5k``: the 5,000 embedded digits; ``mnist-idx``: MNIST
            IDX files at ``data.path``), with labels 0..9.

    Returns:
        A Dataset with ``x`` uint8 ``[n, 3, R, R]`` and ``y`` = ``100 * d0 + 10 * d1 + d2`` (1,000 classes).
    """
    if n <= 0:
        raise ConfigError(f"data.args.n must be > 0 (the number of stacked samples), got {n}")
    if req.channels not in (None, 3):
        raise ConfigError(f"stacked-mnist images have 3 channels (one digit each); set data.channels to 3 or null, "
                          f"not {req.channels}")
    digits = build_dataset(base, DataRequest(path=req.path, resolution=req.resolution, channels=1, strict=req.strict,
                                             in_memory=True, max_memory_mb=req.max_memory_mb,
                                             num_workers=req.num_workers, seed=req.seed))
    if digits.x is None or digits.y is None or digits.num_classes != 10 or digits.shape[0] != 1:
        raise ConfigError(f"data.args.base '{base}' must give in-memory single-channel digits labelled 0..9 "
                          f"(got shape {digits.shape}, {digits.num_classes} classes); use mnist5k or mnist-idx")
    _, h, w = digits.shape
    need_mb = n * 3 * h * w / 2**20
    if need_mb > req.max_memory_mb:
        raise ConfigError(f"stacked-mnist with data.args.n={n} needs {need_mb:.0f} MiB, more than "
                          f"data.max_memory_mb={req.max_memory_mb}; lower n or raise max_memory_mb")
    g = torch.Generator().manual_seed(req.seed)
    idx = torch.randint(len(digits), (n, 3), generator=g)
    x = digits.x[idx.reshape(-1)].reshape(n, 3, h, w)
    y = (digits.y[idx] * DIGIT_WEIGHTS).sum(dim=1)
    return Dataset(x=x, y=y, num_classes=1000, class_names=[f"{k:03d}" for k in range(1000)], shape=(3, h, w),
                   info={"base": base, "base_samples": len(digits), "samples": n, "seed": req.seed})
