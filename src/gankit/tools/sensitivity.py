"""Latent sensitivity: how far the output moves for a small step along each latent direction.

For every direction ``d`` (one latent dimension, or one InfoGAN code) and sample ``z``, the central
finite difference ``(G(z + h e_d) - G(z - h e_d)) / 2h`` approximates the directional derivative of
G; its L2 norm over the whole output is the sample's sensitivity, and its absolute value per pixel
(averaged over channels) is where in the image the direction acts. Scores and maps are averaged
over samples. Finite differences work with any module (no forward-mode AD support needed); with
``h = 0.01`` their error is ``O(h^2)`` of G's third derivative, far below the differences between
dimensions. A categorical InfoGAN code has no small step: its score is the mean output change
(divided by 1) when the code moves to the next value, ``(v + 1) mod k``.

A dimension G ignores has score exactly 0: both evaluations then see the same input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import torch

from gankit.priors import latents, prior_of
from gankit.priors.infogan import codes_of
from gankit.viz.grid import generate

#: Finite-difference step (in latent units; the prior's scale is about 1).
STEP = 0.01


@dataclass
class Direction:
    """One latent direction: ``name`` (``z7``, ``cont0``, ``cat0``), its column and its kind."""

    name: str
    column: int
    kind: str  # "dimension" (one column, small step) or "categorical" (a one-hot block of `size` columns)
    size: int = 1


@dataclass
class Sensitivity:
    """Per-direction sensitivity of a generator.

    Attributes:
        directions: the directions, in latent order.
        scores: float64 ``[K]``: mean over samples of ``||dG/dd||_2`` (output norm per unit latent step).
        maps: float32 ``[K, H, W]`` (images) or ``[K, D]`` (vectors): mean ``|dG/dd|`` per pixel.
        n: samples averaged.
        step: the finite-difference step.
    """

    directions: List[Direction]
    scores: torch.Tensor
    maps: torch.Tensor
    n: int
    step: float

    @property
    def names(self) -> List[str]:
        return [d.name for d in self.directions]

    def ranking(self) -> List[int]:
        """Direction indices from the most to the least sensitive (ties keep latent order)."""
        return sorted(range(len(self.directions)), key=lambda i: (-float(self.scores[i]), i))


def directions_of(G: torch.nn.Module) -> List[Direction]:
    """Every latent dimension of ``G``'s prior, with InfoGAN codes named and categorical codes as one
    direction each."""
    prior = prior_of(G)
    codes = {c.offset: c for c in codes_of(prior)}
    out, col = [], 0
    while col < prior.dim:
        c = codes.get(col)
        if c is None:
            out.append(Direction(f"z{col}", col, "dimension"))
            col += 1
        elif c.kind == "categorical":
            out.append(Direction(c.name, col, "categorical", c.size))
            col += c.size
        else:
            out.append(Direction(c.name, col, "dimension"))
            col += 1
    return out


def _shifted(z: torch.Tensor, d: Direction, step: float) -> tuple:
    """``(z_plus, z_minus, divisor)`` for direction ``d`` at latents ``z`` ``[N, dim]``."""
    if d.kind == "categorical":
        block = z[:, d.column:d.column + d.size]
        nxt = torch.nn.functional.one_hot((block.argmax(1) + 1) % d.size, d.size).to(z.dtype)
        plus = z.clone()
        plus[:, d.column:d.column + d.size] = nxt
        return plus, z, 1.0
    plus, minus = z.clone(), z.clone()
    plus[:, d.column] += step
    minus[:, d.column] -= step
    return plus, minus, 2 * step


@torch.no_grad()
def latent_sensitivity(G: torch.nn.Module, n: int = 64, seed: int = 0, step: float = STEP,
                       labels: Optional[torch.Tensor] = None, batch_size: int = 512) -> Sensitivity:
    """Sensitivity of ``G``'s output to each latent direction (see the module docstring).

    Args:
        G: generator (gankit contract); used in eval mode, on its own device.
        n: samples ``z`` (``gankit.priors.latents(G, n, seed)``) to average over.
        seed: their seed.
        step: finite-difference step ``h``.
        labels: ``[n]`` classes for a conditional G; default ``i mod num_classes``.
        batch_size: generator inputs per forward pass.

    Returns:
        :class:`Sensitivity`.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not step > 0:
        raise ValueError(f"step must be > 0, got {step}")
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    if num_classes and labels is None:
        labels = torch.arange(n) % num_classes
    was_training = G.training
    G.eval()
    z = latents(G, n, seed)
    dirs = directions_of(G)
    scores, maps = [], []
    # Directions per forward pass: two evaluations (plus and minus) of n samples each.
    per_pass = max(1, batch_size // (2 * n))
    try:
        for start in range(0, len(dirs), per_pass):
            group = dirs[start:start + per_pass]
            pairs = [_shifted(z, d, step) for d in group]
            inputs = torch.cat([torch.cat([p, m]) for p, m, _ in pairs])
            y = None if labels is None else labels.repeat(2 * len(group))
            out = generate(G, inputs, y, batch_size)
            out = out.view(len(group), 2, n, *out.shape[1:])
            for i, (_, _, div) in enumerate(pairs):
                diff = (out[i, 0] - out[i, 1]) / div  # [n, *out_shape]
                scores.append(diff.flatten(1).double().norm(dim=1).mean())
                per_pixel = diff.abs().mean(dim=1) if diff.dim() == 4 else diff.abs()
                maps.append(per_pixel.mean(dim=0))
    finally:
        G.train(was_training)
    return Sensitivity(dirs, torch.stack(scores), torch.stack(maps), n, float(step))


@torch.no_grad()
def walk_grid(G: torch.nn.Module, result: Sensitivity, k: int = 3, steps: int = 7, span: float = 2.5, seed: int = 0,
              label: int = 0) -> tuple:
    """Images that walk the ``k`` most and the ``k`` least sensitive directions at fixed noise.

    Row ``r`` sets one direction of the latent ``latents(G, 1, seed)`` to ``steps`` evenly spaced
    values in ``[-span, span]`` (a categorical code: its values ``0..min(steps, size) - 1``, the rest
    of the row repeats the last); the other coordinates stay fixed.

    Returns:
        ``(images [rows * steps, ...], row names)``; save with ``save_grid(images, path, nrow=steps)``.
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    order = result.ranking()
    k = max(1, min(k, len(order) // 2 or 1))
    rows = order[:k] + [i for i in order[-k:] if i not in order[:k]]
    base = latents(G, 1, seed)
    zs, names = [], []
    for i in rows:
        d = result.directions[i]
        z = base.repeat(steps, 1)
        if d.kind == "categorical":
            values = torch.arange(steps).clamp(max=d.size - 1)
            z[:, d.column:d.column + d.size] = torch.nn.functional.one_hot(values, d.size).to(z.dtype)
        else:
            z[:, d.column] = torch.linspace(-span, span, steps)
        zs.append(z)
        names.append(d.name)
    z = torch.cat(zs)
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    y = torch.full((len(z),), int(label), dtype=torch.long) if num_classes else None
    return generate(G, z, y), names
