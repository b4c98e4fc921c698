"""Latent code traversals (InfoGAN, Chen et al. 2016, figure 2): one code varied at fixed noise.

Row ``i`` holds the latents of noise seed ``seed + i`` (noise and every other code drawn from the
run's prior); column ``j`` sets the traversed code to its ``j``-th value: every value ``0..k-1``
of a categorical code, or ``steps`` evenly spaced values of a continuous code over ``span`` times
its training range (the paper shows codes trained on [-1, 1] from -2 to 2, to see whether the
factor extrapolates).
"""

from __future__ import annotations

from typing import List, Optional

import torch

from gankit.priors import latents, prior_of
from gankit.priors.infogan import Code, codes_of
from gankit.viz.grid import generate

#: Columns of a continuous traversal by default.
STEPS = 10
#: Continuous codes are shown over this multiple of their training range (the paper's figure 2).
SPAN = 2.0


def traversal_codes(G: torch.nn.Module) -> List[Code]:
    """The codes of ``G``'s prior; a ValueError when it has none (not an InfoGAN run)."""
    prior = prior_of(G)
    found = codes_of(prior)
    if not found:
        raise ValueError(f"this generator's latent prior {prior.describe()} has no codes to traverse; traversals "
                         "need a run trained with model.latent.name=infogan (e.g. the infogan-mnist preset)")
    return found


def code_values(G: torch.nn.Module, code: str, steps: Optional[int] = None, span: float = SPAN) -> torch.Tensor:
    """The column values of a traversal of ``code``.

    Args:
        G: generator with an ``infogan`` prior.
        code: the code's name (``cat0``, ``cont1``...).
        steps: columns of a continuous code (default :data:`STEPS`); a categorical code always
            shows its ``k`` values, so giving ``steps`` for one is an error.
        span: continuous values cover ``[-span * r, span * r]`` for codes drawn from U(-r, r).

    Returns:
        int64 ``[k]`` value indices, or float32 ``[steps]`` code values.
    """
    traversal_codes(G)
    prior = prior_of(G)
    c = prior.code(code)
    if c.kind == "categorical":
        if steps is not None:
            raise ValueError(f"{code} is categorical: a traversal shows all of its {c.size} values; steps apply to "
                             "continuous codes only")
        return torch.arange(c.size)
    steps = STEPS if steps is None else steps
    if steps < 2:
        raise ValueError(f"a continuous traversal needs steps >= 2, got {steps}")
    if not span > 0:
        raise ValueError(f"span must be > 0, got {span}")
    end = span * prior.continuous_range
    return torch.linspace(-end, end, steps)


def traverse(G: torch.nn.Module, code: str, rows: int = 8, steps: Optional[int] = None, seed: int = 0,
             span: float = SPAN) -> tuple:
    """A traversal grid of ``code``: rows of fixed noise, columns of the code's values.

    Args:
        G: an image generator with an ``infogan`` prior (a conditional one gets class ``i mod K``
            in row ``i``).
        code: the code to vary.
        rows: rows (noise seeds ``seed .. seed + rows - 1``).
        steps, span: the columns of a continuous code (see :func:`code_values`).
        seed: noise seed of the first row.

    Returns:
        ``(images [rows * cols, C, H, W] row by row, values [cols])``; save with
        ``save_grid(images, path, nrow=cols)``.
    """
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    values = code_values(G, code, steps, span)
    if len(tuple(getattr(G, "out_shape", ()))) != 3:
        raise ValueError(f"traversal grids need an image generator (out_shape [C, H, W]); this one has out_shape "
                         f"{tuple(getattr(G, 'out_shape', ()))}")
    prior, cols = prior_of(G), len(values)
    # One latent per row seed, so that row i is the same noise whatever `rows` is.
    base = torch.cat([latents(G, 1, seed + i) for i in range(rows)])
    z = prior.with_code(base.repeat_interleave(cols, dim=0), code, values.repeat(rows))
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    y = (torch.arange(rows) % num_classes).repeat_interleave(cols) if num_classes else None
    return generate(G, z, y), values
