"""Gradient penalties on the discriminator as pure tensor functions.

The regularisers in :mod:`gankit.regularizers` call these and apply their weights. Every function
returns an *unweighted* scalar and keeps the autograd graph (``create_graph=True``) so that the
penalty's own gradient reaches D's parameters.

Per-sample input gradients are taken of the *sum* of D's logits. That gives each sample's own
gradient as long as D treats samples independently, including a PacGAN-packed D that returns one
logit per pack of ``m`` samples (``[N / m]``). A D with batch normalisation couples the samples of
a batch, which is why WGAN-GP critics use layer norm or no normalisation.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from gankit.regularizers import logits_of


def _per_sample_shape(x: torch.Tensor) -> tuple:
    """``[N, 1, ..., 1]``: broadcasts one value per sample over ``x`` of shape ``[N, ...]``."""
    return (x.shape[0],) + (1,) * (x.dim() - 1)


def interpolate(a: torch.Tensor, b: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random points on the segments between paired samples, one mixing weight per sample.

    ``x_hat[i] = alpha[i] * a[i] + (1 - alpha[i]) * b[i]`` with ``alpha ~ U(0, 1)`` of shape
    ``[N, 1, ..., 1]`` (one alpha per sample, not per pixel, as WGAN-GP prescribes).

    Args:
        a, b: batches of identical shape ``[N, ...]``.
        generator: random generator on ``a``'s device; None uses the global torch RNG.

    Returns:
        ``[N, ...]``, the same shape as ``a``.
    """
    if a.shape != b.shape:
        raise ValueError(f"cannot interpolate batches of shapes {tuple(a.shape)} and {tuple(b.shape)}; "
                         "the real and fake batches of a gradient penalty must have the same shape")
    alpha = torch.rand(_per_sample_shape(a), device=a.device, dtype=a.dtype, generator=generator)
    return alpha * a + (1 - alpha) * b


def input_gradients(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Gradient of ``logits.sum()`` with respect to ``inputs``, differentiable in D's parameters.

    Args:
        logits: D's logits ``[N]`` (or ``[N / m]`` for a packed D) computed from ``inputs``.
        inputs: ``[N, ...]`` with ``requires_grad=True``.

    Returns:
        ``[N, ...]``, the same shape as ``inputs``.
    """
    if not inputs.requires_grad:
        raise ValueError("the input batch of a gradient penalty does not require grad; for a penalty on the "
                         "real batch the regulariser must set needs_real_grad = True so that the trainer "
                         "calls real.requires_grad_() before D's forward pass")
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return grad


def _norm_penalty(norms: torch.Tensor, center: float, one_sided: bool) -> torch.Tensor:
    """``mean((norm - center)^2)``, or ``mean(max(0, norm - center)^2)`` when one-sided."""
    deviation = norms - center
    if one_sided:
        deviation = deviation.clamp(min=0)
    return deviation.pow(2).mean()


def gradient_penalty(
    d_forward: Callable,
    real: torch.Tensor,
    fake: torch.Tensor,
    y: Optional[torch.Tensor] = None,
    one_sided: bool = False,
    center: float = 1.0,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): ``mean((||grad_x D(x_hat)||_2 - center)^2)``.

    ``x_hat`` interpolates real and fake with one alpha per sample (:func:`interpolate`); the norm
    runs over all non-batch dimensions.

    Args:
        d_forward: ``d_forward(x, y) -> D output`` (logits ``[N]`` or a dict with ``"logits"``).
        real, fake: batches ``[N, ...]`` (detached here: the penalty trains D only).
        y: labels ``[N]`` of the real batch for a conditional D (x_hat carries the real labels), or None.
        one_sided: penalise only norms above ``center``: ``max(0, ||g|| - center)^2``.
        center: the target gradient norm (1 for WGAN-GP; 0 gives a zero-centred penalty).
        generator: random generator for alpha; None uses the global torch RNG.

    Returns:
        Scalar tensor, unweighted.
    """
    x_hat = interpolate(real.detach(), fake.detach(), generator).requires_grad_(True)
    grad = input_gradients(logits_of(d_forward(x_hat, y)), x_hat)
    return _norm_penalty(grad.flatten(1).norm(2, dim=1), center, one_sided)


def dragan_penalty(
    d_forward: Callable,
    real: torch.Tensor,
    y: Optional[torch.Tensor] = None,
    c: float = 0.5,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """DRAGAN penalty (Kodali et al. 2017): ``mean((||grad_x D(x_hat)||_2 - 1)^2)`` near the data.

    The real batch is perturbed per element, ``x_p = x + c * std(x) * u`` with ``u ~ U(0, 1)`` and
    ``std`` the standard deviation of the whole batch; ``x_hat`` interpolates ``x`` and ``x_p`` with
    one alpha per sample. Random draws in this order: ``u`` (shape of ``real``), then alpha.

    Args:
        d_forward: ``d_forward(x, y) -> D output``.
        real: real batch ``[N, ...]``.
        y: labels ``[N]`` of the real batch, or None.
        c: perturbation scale in units of the batch standard deviation.
        generator: random generator; None uses the global torch RNG.

    Returns:
        Scalar tensor, unweighted.
    """
    x = real.detach()
    noise = torch.rand(x.shape, device=x.device, dtype=x.dtype, generator=generator)
    perturbed = x + c * x.std() * noise
    x_hat = interpolate(perturbed, x, generator).requires_grad_(True)
    grad = input_gradients(logits_of(d_forward(x_hat, y)), x_hat)
    return _norm_penalty(grad.flatten(1).norm(2, dim=1), center=1.0, one_sided=False)


def squared_gradient_norm(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """R1/R2 penalty core (Mescheder et al. 2018): ``mean_i ||grad_x D(x_i)||_2^2``.

    Args:
        logits: D's logits ``[N]`` already computed from ``inputs`` (no extra forward pass).
        inputs: the batch ``[N, ...]`` with ``requires_grad=True``.

    Returns:
        Scalar tensor, unweighted (R1 multiplies it by ``gamma / 2``).
    """
    grad = input_gradients(logits, inputs)
    return grad.pow(2).flatten(1).sum(1).mean()
