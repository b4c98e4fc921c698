"""Discriminator saliency: which input pixels move D's decision (Simonyan et al. 2014 gradients,
gradient x input (Shrikumar et al. 2016) and SmoothGrad (Smilkov et al. 2017)).

``score(x)`` is D's raw adversarial logit (a patch map is averaged, as the losses do), or for
:func:`class_saliency` the evidence for one class: the class logit of an AC-GAN D, or the
adversarial logit of a label-conditioned D given that label. Saliency is ``d score / d x`` per
sample (the samples do not interact: D runs in eval mode). For a linear D, ``w . x + b``, every
method but gradient x input returns ``w`` exactly.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

import torch

#: Saliency methods by name (``gankit saliency --methods``).
METHODS = ("gradient", "gradient_x_input", "smoothgrad")
#: SmoothGrad: noise draws and their standard deviation as a fraction of the input range (2 for [-1, 1]).
SMOOTH_N = 16
SMOOTH_SIGMA = 0.15


def adversarial_logit(out) -> torch.Tensor:
    """D's raw adversarial logit per sample ``[N]`` from its output (tensor, patch map or dict)."""
    logits = out["logits"] if isinstance(out, dict) else out
    return logits.flatten(1).mean(dim=1) if logits.dim() > 1 else logits


def _call(D: torch.nn.Module, x: torch.Tensor, y: Optional[torch.Tensor]):
    return D(x, y) if y is not None else D(x)


def score_fn(D: torch.nn.Module, y: Optional[torch.Tensor] = None, cls: Optional[int] = None) -> Callable:
    """``x -> [N]``: D's adversarial logit (given labels ``y`` for a conditional D), or with ``cls``
    the evidence for class ``cls`` (AC-GAN: its class logit; label-conditioned D: its logit given
    ``cls``)."""
    def score(x: torch.Tensor) -> torch.Tensor:
        if cls is None:
            return adversarial_logit(_call(D, x, y))
        out = _call(D, x, torch.full((len(x),), int(cls), dtype=torch.long, device=x.device))
        if isinstance(out, dict) and "class_logits" in out:
            return out["class_logits"][:, int(cls)]
        return adversarial_logit(out)
    return score


def _gradient(score: Callable, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(x).sum(), x)
    return grad.detach()


def saliency(score: Callable, x: torch.Tensor, method: str = "gradient", n_smooth: int = SMOOTH_N,
             sigma: float = SMOOTH_SIGMA, seed: int = 0) -> torch.Tensor:
    """Saliency of ``score`` at inputs ``x``.

    Args:
        score: ``x [N, ...] -> [N]`` (see :func:`score_fn`).
        x: inputs ``[N, C, H, W]`` (or ``[N, D]``) in D's input range ([-1, 1] for images).
        method: ``gradient`` (``d score / d x``), ``gradient_x_input`` (``x * d score / d x``) or
            ``smoothgrad`` (the mean gradient at ``n_smooth`` copies of ``x`` plus gaussian noise of
            standard deviation ``sigma * 2``, the input range being 2).
        n_smooth, sigma: SmoothGrad's draws and noise level.
        seed: SmoothGrad's noise seed (a CPU generator: the same numbers on every machine).

    Returns:
        float ``[N, ...]`` like ``x``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown saliency method '{method}'; choose from {', '.join(METHODS)}")
    if method == "gradient":
        return _gradient(score, x)
    if method == "gradient_x_input":
        return _gradient(score, x) * x
    if n_smooth < 1 or not sigma >= 0:
        raise ValueError(f"smoothgrad needs n_smooth >= 1 and sigma >= 0, got {n_smooth} and {sigma}")
    g = torch.Generator().manual_seed(seed)
    total = torch.zeros_like(x)
    for _ in range(n_smooth):
        noise = torch.randn(x.shape, generator=g).to(x.device, x.dtype) * (2 * sigma)
        total += _gradient(score, x + noise)
    return total / n_smooth


def discriminator_saliency(D: torch.nn.Module, x: torch.Tensor, y: Optional[torch.Tensor] = None,
                           methods=METHODS, **options) -> Dict[str, torch.Tensor]:
    """Every method's saliency of D's adversarial logit, plus the logits themselves.

    Args:
        D: discriminator (gankit contract), used in eval mode.
        x: ``[N, C, H, W]`` real or generated images in [-1, 1].
        y: ``[N]`` labels for a conditional D.
        methods: names from :data:`METHODS`.
        options: ``n_smooth``, ``sigma``, ``seed`` for SmoothGrad.

    Returns:
        ``{"logits": [N], method: [N, C, H, W], ...}`` on the CPU.
    """
    device = next(D.parameters()).device
    x = x.to(device)
    y = None if y is None else y.to(device)
    was_training = D.training
    D.eval()
    try:
        score = score_fn(D, y)
        with torch.no_grad():
            out = {"logits": score(x).cpu()}
        for m in methods:
            out[m] = saliency(score, x, m, **options).cpu()
    finally:
        D.train(was_training)
    return out


def class_saliency(D: torch.nn.Module, x: torch.Tensor, num_classes: int, method: str = "gradient",
                   **options) -> torch.Tensor:
    """Saliency of each class's evidence (see :func:`score_fn`) for a conditional D.

    Returns:
        float ``[num_classes, N, C, H, W]`` on the CPU.
    """
    if num_classes < 1:
        raise ValueError("per-class saliency needs a conditional discriminator (num_classes > 0)")
    device = next(D.parameters()).device
    x = x.to(device)
    was_training = D.training
    D.eval()
    try:
        return torch.stack([saliency(score_fn(D, cls=c), x, method, **options).cpu() for c in range(num_classes)])
    finally:
        D.train(was_training)
