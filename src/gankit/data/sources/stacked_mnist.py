"""``stacked-mnist``: three independent MNIST digits as the three colour channels (1,000 modes).

The benchmark of Metz et al. 2017 (Unrolled GAN), VEEGAN and PacGAN (Table 2). PacGAN's code
builds 128,000 training samples (``num_training_sample``) at 28 x 28; here the digits come from a
base MNIST source at ``data.resolution`` (32 by default: 28 x 28 digits are zero-padded, the size
the DCGAN families expect). Mode metrics: :mod:`gankit.metrics.stacked`.
"""

from __future__ import annotations

from typing import Optional

import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset, build_dataset
from gankit.registry import ConfigError

DEFAULT_BASE = "mnist5k"
DIGIT_WEIGHTS = torch.tensor([100, 10, 1])


@DATA_SOURCES.register("stacked-mnist")
def stacked_mnist(req: DataRequest, n: int = 128_000, base: str = DEFAULT_BASE,
                  base_args: Optional[dict] = None) -> Dataset:
    """Stacked MNIST: ``n`` RGB images whose channels are three random MNIST digits (1,000 classes).

    Args:
        req: common settings; ``req.seed`` picks the digits, ``req.path`` goes to the base source
            (the IDX folder for ``base: mnist-idx``), ``req.resolution`` sizes the digits.
        n: number of stacked samples (PacGAN: 128,000, i.e. 384 MiB at 32 x 32).
        base: the single-digit source with labels 0..9: ``mnist5k`` (the 5,000 embedded digits) or
            ``mnist-idx`` (IDX files at ``data.path``).
        base_args: options of the base source, e.g. ``{split: test}`` for ``mnist-idx``.

    Returns:
        A Dataset with ``x`` uint8 ``[n, 3, R, R]`` (channel ``c`` holds digit ``d_c``) and
        ``y = 100 * d0 + 10 * d1 + d2`` (1,000 classes named ``"000"``..``"999"``).
    """
    if n <= 0:
        raise ConfigError(f"data.args.n must be > 0 (the number of stacked samples), got {n}")
    if req.channels not in (None, 3):
        raise ConfigError(f"stacked-mnist images have 3 channels (one digit each); set data.channels to 3 or null, "
                          f"not {req.channels}")
    if base == "stacked-mnist":
        raise ConfigError("data.args.base must be a single-digit source such as mnist5k or mnist-idx, not stacked-mnist")
    digits = build_dataset(base, DataRequest(path=req.path, resolution=req.resolution, channels=1, strict=req.strict,
                                             in_memory=True, max_memory_mb=req.max_memory_mb,
                                             num_workers=req.num_workers, seed=req.seed), dict(base_args or {}))
    if digits.x is None or digits.y is None or digits.num_classes != 10 or not digits.is_image:
        raise ConfigError(f"data.args.base '{base}' must give in-memory digit images labelled 0..9 (got shape "
                          f"{digits.shape}, {digits.num_classes} classes); use mnist5k or mnist-idx")
    _, h, w = digits.shape
    need_mb = n * 3 * h * w / 2**20
    if need_mb > req.max_memory_mb:
        raise ConfigError(f"stacked-mnist with data.args.n={n} needs {need_mb:.0f} MiB, more than "
                          f"data.max_memory_mb={req.max_memory_mb}; lower data.args.n or raise data.max_memory_mb")
    g = torch.Generator().manual_seed(req.seed)
    idx = torch.randint(len(digits), (n, 3), generator=g)
    x = digits.x[idx.reshape(-1)].reshape(n, 3, h, w)
    y = (digits.y[idx] * DIGIT_WEIGHTS).sum(dim=1)
    return Dataset(x=x, y=y, num_classes=1000, class_names=[f"{k:03d}" for k in range(1000)], shape=(3, h, w),
                   info={"base": base, "base_samples": len(digits), "samples": n, "seed": req.seed})
