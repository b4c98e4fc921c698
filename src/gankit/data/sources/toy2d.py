"""``ring`` and ``grid``: the 2-D Gaussian-mixture benchmarks of VEEGAN and PacGAN.

- ``ring``: 8 equal-weight Gaussians centred on the unit circle at angles ``2 pi k / 8``, standard
  deviation :data:`RING_STD` = 0.01 (mode ``k`` at ``(cos, sin)`` of its angle).
- ``grid``: 25 equal-weight Gaussians at ``{-4, -2, 0, 2, 4}^2``, standard deviation
  :data:`GRID_STD` = 0.05 (mode ``k = 5 i + j`` at ``(v[i], v[j])``, ``v = (-4, -2, 0, 2, 4)``).

Each sample's mode is drawn uniformly; the mode index is its label. The samples are a
deterministic function of ``data.seed``. The mode-coverage metrics use :func:`modes_of`.
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset
from gankit.registry import ConfigError

RING_MODES, RING_RADIUS, RING_STD = 8, 1.0, 0.01
GRID_VALUES, GRID_STD = (-4.0, -2.0, 0.0, 2.0, 4.0), 0.05


def ring_modes() -> torch.Tensor:
    """Centres of the ring mixture: float32 ``[8, 2]``, mode ``k`` at angle ``2 pi k / 8``."""
    angles = torch.arange(RING_MODES, dtype=torch.float64) * (2 * math.pi / RING_MODES)
    return (RING_RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_modes() -> torch.Tensor:
    """Centres of the grid mixture: float32 ``[25, 2]``, mode ``5 i + j`` at ``(v[i], v[j])``."""
    v = torch.tensor(GRID_VALUES)
    return torch.cartesian_prod(v, v)


# source name -> (centres function, default standard deviation)
MIXTURES = {"ring": (ring_modes, RING_STD), "grid": (grid_modes, GRID_STD)}


def modes_of(source: str) -> tuple:
    """True mixture of a toy source, for metrics and plots.

    Args:
        source: a data-source name.

    Returns:
        ``(centres float32 [K, 2], default std)`` for ``ring`` / ``grid``; ``(None, None)`` otherwise.
    """
    if source not in MIXTURES:
        return None, None
    centres, std = MIXTURES[source]
    return centres(), std


def sample_mixture(centres: torch.Tensor, std: float, n: int, seed: int) -> tuple:
    """Draw ``n`` points from an equal-weight isotropic Gaussian mixture.

    Args:
        centres: ``[K, 2]`` mode centres.
        std: standard deviation of every mode.
        n: number of samples.
        seed: seed of the private generator (the global RNG is not touched).

    Returns:
        ``(x float32 [n, 2], mode index int64 [n])``.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(centres), (n,), generator=g)
    x = centres[labels] + std * torch.randn(n, centres.shape[1], generator=g)
    return x, labels


def _mixture_dataset(source: str, req: DataRequest, n: int, std: Optional[float]) -> Dataset:
    if n <= 0:
        raise ConfigError(f"data.args.n must be > 0 (the number of {source} samples), got {n}")
    if std is not None and not std > 0:
        raise ConfigError(f"data.args.std must be > 0 (or null for the benchmark's {MIXTURES[source][1]}), got {std}")
    centres, default_std = modes_of(source)
    std = default_std if std is None else float(std)
    x, y = sample_mixture(centres, std, n, req.seed)
    k = len(centres)
    return Dataset(x=x, y=y, num_classes=k, class_names=[f"mode{i}" for i in range(k)], shape=(2,),
                   info={"modes": k, "std": std, "seed": req.seed})


@DATA_SOURCES.register("ring")
def ring(req: DataRequest, n: int = 100_000, std: Optional[float] = None) -> Dataset:
    """8 Gaussians on the unit circle, std 0.01 (VEEGAN / PacGAN 2-D ring).

    Args:
        req: common settings; ``seed`` makes the samples reproducible (path/resolution/channels unused).
        n: number of samples.
        std: standard deviation of each mode (None: 0.01).

    Returns:
        A Dataset with ``x`` float32 ``[n, 2]`` and ``y`` the mode index (8 classes).
    """
    return _mixture_dataset("ring", req, n, std)


@DATA_SOURCES.register("grid")
def grid(req: DataRequest, n: int = 100_000, std: Optional[float] = None) -> Dataset:
    """25 Gaussians on the grid {-4, -2, 0, 2, 4}^2, std 0.05 (VEEGAN / PacGAN 2-D grid).

    Args:
        req: common settings; ``seed`` makes the samples reproducible (path/resolution/channels unused).
        n: number of samples.
        std: standard deviation of each mode (None: 0.05).

    Returns:
        A Dataset with ``x`` float32 ``[n, 2]`` and ``y`` the mode index (25 classes).
    """
    return _mixture_dataset("grid", req, n, std)
