"""Continuous noise priors: standard gaussian (the default), uniform, truncated gaussian."""

from __future__ import annotations

import torch

from gankit.priors import PRIORS, Prior, _device_of
from gankit.registry import ConfigError


@PRIORS.register("gaussian")
class Gaussian(Prior):
    """z ~ N(0, I) of ``model.z_dim`` dimensions (the default)."""

    def __init__(self, z_dim: int):
        self.dim = z_dim

    def sample(self, n, generator=None, device=None):
        return torch.randn(n, self.dim, generator=generator, device=_device_of(generator, device))

    def truncated(self, threshold: float) -> Prior:
        t = TruncatedGaussian(self.dim, threshold)
        t.name, t.options = "truncated", {"threshold": threshold}
        return t


@PRIORS.register("uniform")
class Uniform(Prior):
    """z ~ U(low, high) per dimension; DCGAN (Radford et al. 2016) drew U(-1, 1).

    Args:
        low, high: the interval, ``low < high``.
    """

    def __init__(self, z_dim: int, low: float = -1.0, high: float = 1.0):
        if not low < high:
            raise ConfigError(f"model.latent.args: low must be < high, got low={low}, high={high}")
        self.dim, self.low, self.high = z_dim, float(low), float(high)

    def sample(self, n, generator=None, device=None):
        u = torch.rand(n, self.dim, generator=generator, device=_device_of(generator, device))
        return u * (self.high - self.low) + self.low


@PRIORS.register("truncated")
class TruncatedGaussian(Prior):
    """N(0, I) with every value beyond ``threshold`` redrawn until it falls inside (BigGAN's
    truncation trick; Brock et al. 2019): each value has the density of N(0, 1) restricted to
    [-threshold, threshold].

    Args:
        threshold: > 0; smaller trades variety for fidelity (BigGAN shows 0.04 to 2).
    """

    def __init__(self, z_dim: int, threshold: float = 1.0):
        if not threshold > 0:
            raise ConfigError(f"model.latent.args.threshold must be > 0, got {threshold} (BigGAN uses 0.5)")
        self.dim, self.threshold = z_dim, float(threshold)

    def sample(self, n, generator=None, device=None):
        device = _device_of(generator, device)
        z = torch.randn(n, self.dim, generator=generator, device=device)
        outside = z.abs() > self.threshold
        while bool(outside.any()):  # P(outside) < 1 so this ends; redraws use the same stream
            z[outside] = torch.randn(int(outside.sum()), generator=generator, device=device)
            outside = z.abs() > self.threshold
        return z

    def truncated(self, threshold: float) -> Prior:
        return Gaussian(self.dim).truncated(min(threshold, self.threshold))
