"""Latent vector arithmetic (Radford et al. 2016, figure 7): ``mean(A) - mean(B) + mean(C)``.

Each group is a list of noise seeds; its latent is the mean of ``gankit.priors.latents(G, 1, s)``
over its seeds (averaging a few samples of a concept is what made the paper's arithmetic stable).
The result is shown with its neighbours, the result plus uniform noise of scale ``noise`` (the
paper used +-0.25), and for a conditional generator the result's noise is rendered in every class
(style kept, class changed).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch

from gankit.priors import latents
from gankit.viz.grid import generate


def group_latent(G: torch.nn.Module, seeds: Sequence[int]) -> torch.Tensor:
    """Mean latent ``[1, dim]`` of the noise seeds ``seeds`` (at least one)."""
    if not len(seeds):
        raise ValueError("a latent group needs at least one seed")
    return torch.cat([latents(G, 1, s) for s in seeds]).mean(dim=0, keepdim=True)


def latent_arithmetic(G: torch.nn.Module, a: Sequence[int], b: Sequence[int], c: Sequence[int]) -> torch.Tensor:
    """``mean(A) - mean(B) + mean(C)`` as a latent ``[1, dim]`` (groups of noise seeds)."""
    return group_latent(G, a) - group_latent(G, b) + group_latent(G, c)


def neighbours(z: torch.Tensor, k: int, noise: float = 0.25, seed: int = 0) -> torch.Tensor:
    """``z`` ``[1, dim]`` followed by ``k`` copies plus U(-noise, noise) per coordinate: ``[1 + k, dim]``."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([z, z + (torch.rand(k, z.shape[1], generator=g) * 2 - 1) * noise])


def arithmetic_grid(G: torch.nn.Module, a: Sequence[int], b: Sequence[int], c: Sequence[int], k: int = 7,
                    noise: float = 0.25, seed: int = 0, label: Optional[int] = None) -> tuple:
    """The picture of ``A - B + C``, one row per line of the figure.

    Rows 1-3: the samples of groups A, B and C, then (last column) the image of the group's mean
    latent; row 4: the result and ``k`` neighbours; for a conditional G a 5th row renders the
    result's latent in every class. Short rows are padded with blank (white) tiles.

    Args:
        G: generator; a conditional one draws rows 1-4 in class ``label`` (default 0).
        a, b, c: noise seeds of the three groups.
        k: neighbours of the result.
        noise: their uniform noise scale.
        seed: the neighbours' noise seed.
        label: class of rows 1-4 for a conditional generator.

    Returns:
        ``(images [rows * cols, ...], cols, row captions)``; save with ``save_grid(images, path, nrow=cols)``.
    """
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    if num_classes and label is not None and not 0 <= label < num_classes:
        raise ValueError(f"label must be in 0..{num_classes - 1}, got {label}")
    label = (label or 0) if num_classes else None
    result = latent_arithmetic(G, a, b, c)
    rows: List[torch.Tensor] = []
    for seeds in (a, b, c):
        rows.append(torch.cat([torch.cat([latents(G, 1, s) for s in seeds]), group_latent(G, seeds)]))
    rows.append(neighbours(result, k, noise, seed))
    captions = [f"A: seeds {list(a)}, then their mean", f"B: seeds {list(b)}, then their mean",
                f"C: seeds {list(c)}, then their mean", f"A - B + C, then {k} neighbours (+-{noise:g} uniform)"]
    images = [generate(G, z, None if label is None else torch.full((len(z),), label, dtype=torch.long))
              for z in rows]
    if num_classes:
        images.append(generate(G, result.repeat(num_classes, 1), torch.arange(num_classes)))
        captions.append(f"A - B + C in each of the {num_classes} classes (same noise)")
    cols = max(len(x) for x in images)
    blank = torch.ones(1, *images[0].shape[1:])
    padded = [torch.cat([x, blank.repeat(cols - len(x), *[1] * (x.dim() - 1))]) for x in images]
    return torch.cat(padded), cols, captions
