"""Latent interpolation: walks between noise seeds (lerp or slerp) and between classes at fixed noise."""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch

from gankit.priors import latents
from gankit.viz.grid import generate

MODES = ("lerp", "slerp")

# Kernels may round differently for different batch sizes; generating one image per forward pass
# makes every end point bit-identical to its seed's own sample G(latents(G, 1, seed)).
_ONE_AT_A_TIME = 1


def _weights(steps: int) -> torch.Tensor:
    if steps < 2:
        raise ValueError(f"interpolation steps must be >= 2 (the two end points), got {steps}")
    return torch.linspace(0.0, 1.0, steps, dtype=torch.float64)


def lerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Straight line from ``a`` to ``b``.

    Args:
        a, b: ``[D]`` end points.
        steps: number of points, ends included.

    Returns:
        ``[steps, D]``; row 0 is exactly ``a`` and the last row exactly ``b``.
    """
    t = _weights(steps).to(a.dtype)[:, None]
    # torch.lerp is exact at both ends (it switches formula at t = 0.5).
    return torch.lerp(a[None].expand(steps, -1), b[None].expand(steps, -1), t)


def slerp(a: torch.Tensor, b: torch.Tensor, steps: int, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation (Shoemake): the great-circle arc from ``a`` to ``b``.

    Gaussian latents concentrate near a sphere; a straight line cuts through its low-density
    inside, the arc stays where the generator was trained. For end points of equal norm every
    point has that norm; nearly parallel end points fall back to :func:`lerp`.

    Args:
        a, b: ``[D]`` end points.
        steps: number of points, ends included.
        eps: below this ``sin(angle)`` the vectors count as parallel.

    Returns:
        ``[steps, D]``; row 0 is exactly ``a`` and the last row exactly ``b``.
    """
    a64, b64 = a.double(), b.double()
    cos = torch.dot(a64, b64) / (a64.norm() * b64.norm()).clamp_min(1e-30)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if torch.sin(omega).abs() < eps:
        return lerp(a, b, steps)
    t = _weights(steps)[:, None]
    out = (torch.sin((1 - t) * omega) * a64 + torch.sin(t * omega) * b64) / torch.sin(omega)
    out = out.to(a.dtype)
    # The formula gives the ends up to rounding; set them so they are the seeds' samples exactly.
    out[0], out[-1] = a, b
    return out


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, mode: str = "slerp") -> torch.Tensor:
    """``lerp`` or ``slerp`` by name; see those functions. Returns ``[steps, D]``."""
    if mode not in MODES:
        raise ValueError(f"interpolation mode must be one of {', '.join(MODES)}, got '{mode}'")
    return (slerp if mode == "slerp" else lerp)(a, b, steps)


def seed_latents(seeds: Sequence[int], G: torch.nn.Module) -> torch.Tensor:
    """One latent of ``G``'s prior per seed: ``latents(G, 1, seed)[0]``, so seed s is the sample of
    ``latents(G, 1, s)``.

    Returns:
        ``[len(seeds), prior.dim]``.
    """
    return torch.cat([latents(G, 1, s) for s in seeds])


def _check_image_generator(G: torch.nn.Module) -> None:
    shape = tuple(getattr(G, "out_shape", ()))
    if len(shape) != 3:
        raise ValueError(f"interpolation grids need an image generator (out_shape [C, H, W]); this one has "
                         f"out_shape {shape}. For 2-D data use gankit.viz.toy2d.")


def _row_labels(G: torch.nn.Module, rows: int, labels: Optional[Sequence[int]]) -> Optional[torch.Tensor]:
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    if num_classes == 0:
        if labels:
            raise ValueError("labels were given but the generator is unconditional (num_classes = 0)")
        return None
    if not labels:
        return torch.arange(rows) % num_classes
    if len(labels) not in (1, rows):
        raise ValueError(f"give one label, or one per row ({rows}); got {len(labels)}")
    _check_classes(labels, num_classes)
    return torch.tensor(list(labels) * (rows if len(labels) == 1 else 1), dtype=torch.long)


def _check_classes(classes: Sequence[int], num_classes: int) -> None:
    bad = [c for c in classes if not 0 <= int(c) < num_classes]
    if bad:
        raise ValueError(f"class labels {bad} are out of range: the generator has classes 0..{num_classes - 1}")


def seed_interpolation(G: torch.nn.Module, seeds: Sequence[int], steps: int = 8, mode: str = "slerp",
                       labels: Optional[Sequence[int]] = None) -> torch.Tensor:
    """A grid whose row ``i`` walks from ``seeds[i]`` to ``seeds[i + 1]`` in ``steps`` images.

    Args:
        G: image generator obeying the gankit contract.
        seeds: at least two noise seeds; ``len(seeds) - 1`` rows.
        steps: images per row, ends included (the ends are exactly the seeds' samples).
        mode: "slerp" (default) or "lerp".
        labels: for a conditional G, the class of every row (one value, or one per row); by default
            row ``i`` uses class ``i % num_classes``.

    Returns:
        ``[(len(seeds) - 1) * steps, *G.out_shape]`` row by row; save with ``save_grid(x, path, nrow=steps)``.
    """
    _check_image_generator(G)
    if len(seeds) < 2:
        raise ValueError(f"give at least two seeds to interpolate between, got {list(seeds)}")
    z_ends = seed_latents(seeds, G)
    z = torch.cat([interpolate(z_ends[i], z_ends[i + 1], steps, mode) for i in range(len(seeds) - 1)])
    row_y = _row_labels(G, len(seeds) - 1, labels)
    y = None if row_y is None else row_y.repeat_interleave(steps)
    return generate(G, z, y, batch_size=_ONE_AT_A_TIME)


def class_interpolation(G: torch.nn.Module, seeds: Sequence[int], classes: Sequence[int], steps: int = 8) -> torch.Tensor:
    """At fixed noise, walk from one class to the next: row per (seed, consecutive class pair).

    Labels are blended as soft labels ``(1 - t) * onehot(a) + t * onehot(b)``: every module of G
    that is affine in the one-hot label (``nn.Embedding``, gankit's ``LabelInput`` and conditional
    ``Norm``) returns ``lerp(out(a), out(b), t)``, which is its output for the soft label.

    Args:
        G: conditional image generator whose labels enter through the modules named above.
        seeds: noise seeds; each gives ``len(classes) - 1`` rows.
        classes: at least two class indices, visited in order.
        steps: images per row, ends included (the ends are exactly ``G(z, a)`` and ``G(z, b)``).

    Returns:
        ``[len(seeds) * (len(classes) - 1) * steps, *G.out_shape]``.
    """
    _check_image_generator(G)
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    if num_classes == 0:
        raise ValueError("class interpolation needs a conditional generator (num_classes > 0); drop --classes")
    if len(classes) < 2 or not seeds:
        raise ValueError(f"give at least one seed and two classes, got seeds {list(seeds)}, classes {list(classes)}")
    _check_classes(classes, num_classes)
    t_row = _weights(steps).float()
    z_rows, a_rows, b_rows = [], [], []
    for z in seed_latents(seeds, G):
        for a, b in zip(classes[:-1], classes[1:]):
            z_rows.append(z[None].expand(steps, -1))
            a_rows.append(torch.full((steps,), int(a)))
            b_rows.append(torch.full((steps,), int(b)))
    z_all, y_a, y_b = torch.cat(z_rows), torch.cat(a_rows), torch.cat(b_rows)
    t_all = t_row.repeat(len(z_rows))
    return _generate_blended(G, z_all, y_a, y_b, t_all, batch_size=_ONE_AT_A_TIME)


def _label_affine_types() -> tuple:
    """Module types whose output is an affine function of the one-hot label they receive."""
    from gankit.nn.conditioning import LabelInput
    from gankit.nn.norm import Norm

    return torch.nn.Embedding, LabelInput, Norm


def _is_labels(value, labels: torch.Tensor) -> bool:
    return value is labels or (torch.is_tensor(value) and value.shape == labels.shape
                               and value.dtype == labels.dtype and torch.equal(value, labels))


@torch.no_grad()
def _generate_blended(G: torch.nn.Module, z: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, t: torch.Tensor,
                      batch_size: int) -> torch.Tensor:
    """``G(z, soft label (1 - t) a + t b)`` for generators whose labels enter through label-affine modules.

    Every such module (innermost only, so nothing is blended twice) that receives the labels ``a``
    returns ``lerp(module(.., a), module(.., b), t)``; because the module is affine in the one-hot
    label, this equals the module's output for the soft label.
    """
    device = next(G.parameters()).device
    types = _label_affine_types()
    targets = [m for m in G.modules()
               if isinstance(m, types) and not any(isinstance(d, types) for d in list(m.modules())[1:])]
    current = {}
    fired: List[torch.nn.Module] = []

    def hook(module, args, kwargs, output):
        a = current["a"]
        if not any(_is_labels(v, a) for v in (*args, *kwargs.values())):
            return None  # this module does not look up the class labels (e.g. an unconditional norm)
        fired.append(module)
        swap = lambda v: current["b"] if _is_labels(v, a) else v  # noqa: E731
        # .forward bypasses the hooks, so this call is not blended again.
        other = module.forward(*map(swap, args), **{k: swap(v) for k, v in kwargs.items()})
        return torch.lerp(output, other, current["t"].to(output.dtype).view(-1, *([1] * (output.dim() - 1))))

    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in targets]
    try:
        out = []
        for i in range(0, z.shape[0], batch_size):
            current.update(a=y_a[i : i + batch_size].to(device), b=y_b[i : i + batch_size].to(device),
                           t=t[i : i + batch_size].to(device))
            out.append(G(z[i : i + batch_size].to(device), current["a"]).float().cpu())
    finally:
        for h in handles:
            h.remove()
    if not fired:
        raise ValueError(
            f"class interpolation needs the generator's labels to enter through nn.Embedding, "
            f"gankit.nn.conditioning.LabelInput or conditional gankit.nn.norm.Norm layers; {type(G).__name__} "
            f"has none that receive them. Interpolate between seeds instead (omit --classes).")
    return torch.cat(out)
