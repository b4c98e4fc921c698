"""Latent priors: how a generator's input ``z`` is drawn (``model.latent``).

A prior is registered in ``PRIORS`` as ``fn(z_dim: int, **options) -> Prior``. ``z_dim`` is the
config's noise size (``model.z_dim``); a prior may add structured codes on top, so the generator
is built with ``prior.dim`` inputs. Training, ``gankit sample``, evaluation, interpolation and the
report all draw through the run's prior (:func:`prior_of` finds it on a loaded generator).
"""

from __future__ import annotations

from typing import Optional

import torch

from gankit.registry import Registry

PRIORS = Registry("latent prior")


class Prior:
    """Base class. Subclasses set ``dim`` and implement :meth:`sample`.

    Attributes:
        dim: the generator's input size (noise plus codes).
        name: the registered name (set by :func:`build_prior`).
        options: the options it was built with (recorded beside metrics).
    """

    dim: int
    name: str = ""
    options: dict = {}

    def sample(self, n: int, generator: Optional[torch.Generator] = None, device=None) -> torch.Tensor:
        """Draw ``n`` latents.

        Args:
            n: how many.
            generator: the random stream (its device is where the draw happens).
            device: where to put the result; default the generator's device (CPU without one).

        Returns:
            float32 ``[n, dim]``.
        """
        raise NotImplementedError

    def codes(self, z: torch.Tensor) -> dict:
        """Structured parts of ``z`` by name (InfoGAN codes); plain priors have none."""
        return {}

    def truncated(self, threshold: float) -> "Prior":
        """The same prior with values beyond ``threshold`` resampled (the truncation trick)."""
        raise ValueError(f"the {self.name or type(self).__name__} prior has no truncated form; "
                         "truncation applies to gaussian latents")

    def describe(self) -> str:
        """One line for protocol records, e.g. ``gaussian(z_dim=100)``."""
        opts = ", ".join(f"{k}={v}" for k, v in {"z_dim": self.dim, **self.options}.items())
        return f"{self.name}({opts})"


def _device_of(generator: Optional[torch.Generator], device) -> torch.device:
    if device is not None:
        return torch.device(device)
    return generator.device if generator is not None else torch.device("cpu")


def load_builtin_priors() -> None:
    import importlib
    import pkgutil

    import gankit.priors as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gankit.priors.{mod.name}")


def build_prior(name: str, args: Optional[dict], z_dim: int) -> Prior:
    """Build the prior ``model.latent.name`` with options ``model.latent.args``."""
    load_builtin_priors()
    prior = PRIORS.build(name, dict(args or {}), where="model.latent.args", z_dim=int(z_dim))
    prior.name, prior.options = name, dict(args or {})
    return prior


def prior_of_config(cfg) -> Prior:
    """The prior of a run config (``cfg.model.latent`` and ``cfg.model.z_dim``)."""
    return build_prior(cfg.model.latent.name, dict(cfg.model.latent.args), cfg.model.z_dim)


def prior_of(G: torch.nn.Module) -> Prior:
    """The prior a generator was trained with: ``G.prior`` when set (runs, loaded checkpoints), else
    a standard gaussian of ``G.z_dim`` (user modules)."""
    prior = getattr(G, "prior", None)
    return prior if prior is not None else build_prior("gaussian", {}, int(G.z_dim))


def latents(G: torch.nn.Module, n: int, seed: int) -> torch.Tensor:
    """``n`` latents of ``G``'s prior from a CPU generator seeded with ``seed`` (the same numbers on
    every machine): gankit's fixed noise for grids, evaluation and interpolation.

    Returns:
        float32 ``[n, prior.dim]`` on the CPU.
    """
    return prior_of(G).sample(n, torch.Generator().manual_seed(int(seed)))
