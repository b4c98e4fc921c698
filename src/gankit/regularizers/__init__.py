"""Regularisers: penalties added to the D (or G) loss, and actions after an optimiser step.

A regulariser is registered in ``REGULARIZERS`` as ``fn(**options) -> Regularizer``. The config
holds ``regularizers: {name: {option: value}}``; the trainer builds each one and calls the hooks
below without knowing which regularisers exist. One file per regulariser in this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from gankit.registry import Registry

REGULARIZERS = Registry("regularizer")


@dataclass
class StepContext:
    """What a penalty may look at during one D or G step.

    Attributes:
        D, G: the networks (D possibly wrapped by DDP).
        d_forward: ``d_forward(x, y) -> raw D output`` with the run's augmentation applied; use it
            (not ``D``) for extra forward passes so that penalties see what the loss sees.
        real: real batch ``[N, ...]`` (requires grad when a regulariser set ``needs_real_grad``).
        y_real: labels ``[N]`` or None.
        fake: generated batch ``[N, ...]`` (detached during the D step).
        y_fake: labels fed to G, or None.
        real_out, fake_out: D outputs on real and fake (a tensor of logits or a dict of heads).
        step: the generator step index (0-based).
    """

    D: torch.nn.Module
    G: torch.nn.Module
    d_forward: Callable
    real: torch.Tensor
    y_real: Optional[torch.Tensor]
    fake: torch.Tensor
    y_fake: Optional[torch.Tensor]
    real_out: Any
    fake_out: Any
    step: int


class Regularizer:
    """Base class; override what applies. Penalties return a scalar tensor already weighted."""

    needs_real_grad: bool = False  # the trainer sets real.requires_grad_() before D's forward
    every: int = 1  # lazy regularisation: the trainer calls the penalties when step % every == 0

    def d_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        return None

    def g_penalty(self, ctx: StepContext) -> Optional[torch.Tensor]:
        return None

    @torch.no_grad()
    def after_d_step(self, D: torch.nn.Module) -> None:
        """Called after each discriminator optimiser step (e.g. weight clipping)."""


def logits_of(out) -> torch.Tensor:
    """The adversarial logits of a D output (a tensor, or a dict with key ``"logits"``)."""
    return out["logits"] if isinstance(out, dict) else out


def load_builtin_regularizers() -> None:
    import importlib
    import pkgutil

    import gankit.regularizers as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gankit.regularizers.{mod.name}")


def build_regularizers(spec: dict) -> dict:
    """``{name: options or None}`` -> ``{name: Regularizer}``; None entries are disabled."""
    load_builtin_regularizers()
    out = {}
    for name, options in (spec or {}).items():
        if options is None or options is False:
            continue
        out[name] = REGULARIZERS.build(name, dict(options) if options is not True else {},
                                       where=f"regularizers.{name}")
    return out
