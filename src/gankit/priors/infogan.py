"""InfoGAN latent codes (Chen et al. 2016): noise plus categorical and continuous codes.

``z = [noise | one-hot cat0 | one-hot cat1 | ... | cont0 cont1 ...]``: ``model.z_dim`` noise values
(standard gaussian, or U(-1, 1) as openai/InfoGAN ``run_mnist_exp.py`` draws them), one one-hot
block of ``k`` values per categorical code (uniform over its values) and one value per continuous
code, uniform on ``[-continuous_range, continuous_range]``. The generator takes all of it
(``prior.dim`` inputs); the ``infogan`` objective trains a Q head to recover the codes from the
samples, and ``gankit traverse`` varies one code at fixed noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch

from gankit.priors import PRIORS, Prior, _device_of
from gankit.registry import ConfigError

NOISES = ("gaussian", "uniform")
_WHERE = "model.latent.args"


@dataclass(frozen=True)
class Code:
    """One structured code of the latent vector.

    Attributes:
        name: ``cat<i>`` or ``cont<i>`` (what ``codes()``, the Q head and ``--code`` call it).
        kind: ``"categorical"`` or ``"continuous"``.
        offset: its first column in ``z``.
        size: columns in ``z``: ``k`` (one-hot) for a categorical code, 1 for a continuous one.
    """

    name: str
    kind: str
    offset: int
    size: int

    def describe(self) -> str:
        return f"{self.name} (categorical, {self.size} values)" if self.kind == "categorical" else \
            f"{self.name} (continuous)"


def _categorical_sizes(categorical) -> List[int]:
    # A YAML list arrives as an OmegaConf ListConfig, hence any sequence but a string.
    if isinstance(categorical, (str, bytes)) or not hasattr(categorical, "__iter__"):
        raise ConfigError(f"{_WHERE}.categorical must be a list of code sizes (values per categorical code), "
                          f"e.g. [10]; got {categorical!r}")
    sizes = list(categorical)
    for k in sizes:
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ConfigError(f"{_WHERE}.categorical: every categorical code needs an integer number of values "
                              f">= 2, got {sizes} (e.g. [10] for the ten MNIST digits; [] for none)")
    return sizes


@PRIORS.register("infogan")
class InfoGANCodes(Prior):
    """Noise with InfoGAN's structured codes appended.

    Args:
        z_dim: noise dimensions (``model.z_dim``; the paper's MNIST model: 62).
        categorical: values ``k`` of each categorical code, e.g. ``[10]``; ``[]`` for none.
        continuous: number of continuous codes (the paper's MNIST model: 2).
        continuous_range: continuous codes are drawn from U(-r, r) (the paper: r = 1).
        noise: ``"gaussian"`` (N(0, 1), PyTorch-GAN) or ``"uniform"`` (U(-1, 1), openai/InfoGAN).

    Attributes:
        dim: ``z_dim + sum(categorical) + continuous``.
        noise_dim: ``z_dim``.
        code_list: the codes in ``z`` order (:class:`Code`).
    """

    def __init__(self, z_dim: int, categorical: Sequence[int] = (10,), continuous: int = 2,
                 continuous_range: float = 1.0, noise: str = "gaussian"):
        sizes = _categorical_sizes(categorical)
        if isinstance(continuous, bool) or not isinstance(continuous, int) or continuous < 0:
            raise ConfigError(f"{_WHERE}.continuous must be an integer >= 0 (the number of continuous codes), "
                              f"got {continuous!r}")
        if not sizes and continuous == 0:
            raise ConfigError(f"{_WHERE}: the infogan prior needs at least one code; set {_WHERE}.categorical "
                              f"(e.g. [10]) or {_WHERE}.continuous (e.g. 2), or use model.latent.name=gaussian")
        if isinstance(continuous_range, bool) or not isinstance(continuous_range, (int, float)) \
                or not continuous_range > 0:
            raise ConfigError(f"{_WHERE}.continuous_range must be a number > 0 (codes are drawn from U(-r, r); "
                              f"the paper uses 1), got {continuous_range!r}")
        if noise not in NOISES:
            raise ConfigError(f"{_WHERE}.noise must be one of {', '.join(NOISES)}, got {noise!r}")
        self.noise_dim, self.noise = int(z_dim), noise
        self.categorical, self.continuous, self.continuous_range = sizes, int(continuous), float(continuous_range)
        codes, offset = [], self.noise_dim
        for i, k in enumerate(sizes):
            codes.append(Code(f"cat{i}", "categorical", offset, k))
            offset += k
        for i in range(self.continuous):
            codes.append(Code(f"cont{i}", "continuous", offset, 1))
            offset += 1
        self.code_list: List[Code] = codes
        self.dim = offset

    # ------------------------------------------------------------------ drawing
    def sample(self, n, generator=None, device=None):
        device = _device_of(generator, device)
        # Noise first, then the codes: the same seed gives the same noise whatever the codes are.
        if self.noise == "gaussian":
            parts = [torch.randn(n, self.noise_dim, generator=generator, device=device)]
        else:
            parts = [torch.rand(n, self.noise_dim, generator=generator, device=device) * 2 - 1]
        for k in self.categorical:
            idx = torch.randint(k, (n,), generator=generator, device=device)
            parts.append(torch.nn.functional.one_hot(idx, k).float())
        if self.continuous:
            u = torch.rand(n, self.continuous, generator=generator, device=device)
            parts.append((u * 2 - 1) * self.continuous_range)
        return torch.cat(parts, dim=1)

    # ------------------------------------------------------------------ reading and setting codes
    def code(self, name: str) -> Code:
        """The code called ``name``; a ValueError listing the valid names otherwise."""
        for c in self.code_list:
            if c.name == name:
                return c
        raise ValueError(f"unknown code '{name}'; this prior's codes are: "
                         f"{', '.join(c.describe() for c in self.code_list)}")

    def codes(self, z: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The codes of latents ``z`` ``[N, dim]`` by name: ``cat<i>`` int64 indices ``[N]`` (the argmax
        of the one-hot block), ``cont<i>`` float ``[N]``."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"expected latents of shape [N, {self.dim}], got {tuple(z.shape)}")
        return {c.name: (z[:, c.offset:c.offset + c.size].argmax(dim=1) if c.kind == "categorical"
                         else z[:, c.offset]) for c in self.code_list}

    def with_code(self, z: torch.Tensor, name: str, values) -> torch.Tensor:
        """A copy of ``z`` ``[N, dim]`` with code ``name`` set to ``values`` (``[N]`` or one value):
        value indices ``0..k-1`` for a categorical code, numbers for a continuous one (any value,
        also outside the training range, as traversals do)."""
        c = self.code(name)
        out = z.clone()
        values = torch.as_tensor(values, device=z.device)
        if c.kind == "categorical":
            values = values.long().expand(z.shape[0])
            bad = values[(values < 0) | (values >= c.size)]
            if len(bad):
                raise ValueError(f"{name} takes values 0..{c.size - 1}, got {int(bad[0])}")
            out[:, c.offset:c.offset + c.size] = torch.nn.functional.one_hot(values, c.size).to(z.dtype)
        else:
            out[:, c.offset] = values.to(z.dtype).expand(z.shape[0])
        return out

    def describe(self) -> str:
        return (f"infogan(z_dim={self.noise_dim}, noise={self.noise}, categorical={self.categorical}, "
                f"continuous={self.continuous}, continuous_range={self.continuous_range:g}; dim={self.dim})")


def codes_of(prior: Optional[Prior]) -> List[Code]:
    """The structured codes of a prior (none for plain noise priors)."""
    return list(getattr(prior, "code_list", []))
