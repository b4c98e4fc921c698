"""GAN inversion (projection) and image completion (inpainting) by optimising the latent.

:func:`project` finds ``z`` (and, for a conditional generator without a given label, the class)
whose image ``G(z)`` best reconstructs a target: Adam on ``z`` from ``restarts`` starting points
drawn from G's prior (per class when the class is searched), minimising the pixel loss plus an
optional perceptual loss in a classifier's feature space (gankit's data classifier: penultimate
features, the loss taken relative to the target's feature energy so its weight is scale-free);
the best start per target, by final loss, wins. G's weights stay fixed; the generators have one
latent input, so there is no per-layer noise to optimise.

:func:`inpaint` is the semantic image completion of Yeh et al. 2017: the same search with a
*context loss* on the known pixels only (L1, optionally weighted towards the hole: each known
pixel weighs the fraction of missing pixels in its ``window x window`` neighbourhood, the paper's
importance weighting, plus a floor so that far context still counts) and a *prior loss* from D,
``prior_weight * softplus(-D(G(z)))`` (the non-saturating generator loss: realistic completions
are cheap). The completion is then blended into the damaged image: known pixels keep the original,
missing ones take ``G(z)``, and a feathered band of ``feather`` pixels outside the hole mixes the
two linearly (Yeh et al. use Poisson blending; a feathered blend needs no solver and never moves
a known pixel further from the original than ``G(z)`` is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from gankit.priors import prior_of
from gankit.tools.settings import FEATHER, LR, PRIOR_WEIGHT, RESTARTS, STEPS, WINDOW  # noqa: F401  (defaults)

#: Context weight of known pixels far from the hole, relative to the largest near-hole weights (< 1).
CONTEXT_FLOOR = 0.1


@dataclass
class Projection:
    """Result of :func:`project` (or the search inside :func:`inpaint`).

    Attributes:
        z: ``[N, dim]`` best latents.
        y: ``[N]`` classes used (searched or given), or None for an unconditional G.
        images: ``[N, C, H, W]`` ``G(z, y)`` on the CPU.
        error: ``[N]`` mean squared error of ``images`` against the target over the pixels the loss
            saw (all of them for a projection; the known ones for inpainting), [-1, 1] units.
        loss: ``[N]`` final value of the optimised objective.
        restart: ``[N]`` index of the winning start (``class * restarts + start`` when classes are searched).
    """

    z: torch.Tensor
    y: Optional[torch.Tensor]
    images: torch.Tensor
    error: torch.Tensor
    loss: torch.Tensor
    restart: torch.Tensor


def _frozen(*modules):
    """Turn off parameter gradients of ``modules`` (their weights are not optimised); returns a restore function."""
    saved = [(p, p.requires_grad) for m in modules if m is not None for p in m.parameters()]
    for p, _ in saved:
        p.requires_grad_(False)
    return lambda: [p.requires_grad_(flag) for p, flag in saved]


def search_latents(G: torch.nn.Module, target: torch.Tensor, pixel_loss: Callable, *,
                   extra_loss: Optional[Callable] = None, labels: Optional[torch.Tensor] = None,
                   steps: int = STEPS, restarts: int = RESTARTS, lr: float = LR, seed: int = 0,
                   progress: bool = False, desc: str = "projecting") -> Projection:
    """Minimise ``pixel_loss(G(z), target) + extra_loss(G(z), target)`` over ``z`` (per image).

    Args:
        G: generator (weights fixed; eval mode).
        target: ``[N, C, H, W]`` in [-1, 1].
        pixel_loss, extra_loss: ``(fake [M, ...], target [M, ...], y [M] or None) -> [M]`` per
            candidate (``M = N * candidates``, image-major; ``y``: the candidates' classes).
        labels: ``[N]`` classes of a conditional G; None searches every class.
        steps, restarts, lr: Adam steps, starts per (image, class), learning rate.
        seed: seed of the starting latents (a CPU generator).
        progress: progress bar.
        desc: its label.

    Returns:
        :class:`Projection`; ``error`` is filled by the caller's error function (here the pixel loss).
    """
    from tqdm import tqdm

    if steps < 1 or restarts < 1 or not lr > 0:
        raise ValueError(f"steps and restarts must be >= 1 and lr > 0, got {steps}, {restarts}, {lr}")
    n = len(target)
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    device = next(G.parameters()).device
    prior = prior_of(G)
    # Candidates, image-major: image i owns rows i*c .. i*c + c - 1 (c = classes searched x restarts).
    search_classes = bool(num_classes) and labels is None
    c = restarts * (num_classes if search_classes else 1)
    y = None
    if search_classes:
        y = torch.arange(num_classes).repeat_interleave(restarts).repeat(n).to(device)
    elif num_classes:
        y = labels.long().repeat_interleave(restarts).to(device)
    z = prior.sample(n * c, torch.Generator().manual_seed(seed)).to(device).requires_grad_(True)
    tgt = target.to(device).repeat_interleave(c, dim=0)
    opt = torch.optim.Adam([z], lr=lr)
    restore = _frozen(G)
    was_training = G.training
    G.eval()

    def objective():
        fake = G(z, y) if num_classes else G(z)
        loss = pixel_loss(fake, tgt, y)
        return loss + extra_loss(fake, tgt, y) if extra_loss is not None else loss

    try:
        with torch.enable_grad(), tqdm(total=steps, desc=desc, disable=not progress, delay=1.0) as bar:
            for step in range(steps):
                loss = objective()
                opt.zero_grad(set_to_none=True)
                loss.sum().backward()
                opt.step()
                bar.update(1)
                if step % 25 == 0:
                    bar.set_postfix(loss=f"{float(loss.detach().mean()):.4f}")
        with torch.no_grad():
            final = objective().view(n, c).cpu()
    finally:
        restore()
        G.train(was_training)
    best = final.argmin(dim=1)
    rows = torch.arange(n) * c + best
    z_best = z.detach()[rows.to(device)]
    y_best = None if y is None else y[rows.to(device)]
    with torch.no_grad():
        images = (G(z_best, y_best) if num_classes else G(z_best)).float().cpu()
    return Projection(z_best.cpu(), None if y_best is None else y_best.cpu(), images,
                      torch.full((n,), float("nan")), final[torch.arange(n), best], best)


def relative_feature_loss(features: Callable) -> Callable:
    """``(fake, target, y) -> [M]``: ``||f(fake) - f(target)||^2 / ||f(target)||^2`` for a feature map ``f``."""
    def loss(fake, target, y=None):
        ft = features(target).flatten(1)
        return (features(fake).flatten(1) - ft).pow(2).sum(1) / ft.pow(2).sum(1).clamp_min(1e-8)
    return loss


def masked_mse(fake: torch.Tensor, target: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Per-image mean squared error over the pixels where ``mask`` is 1 (all without a mask): ``[N]``."""
    d = (fake.float() - target.float()).pow(2)
    if mask is None:
        return d.flatten(1).mean(1)
    m = mask.float().expand_as(d)
    return (d * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)


def project(G: torch.nn.Module, target: torch.Tensor, *, features: Optional[Callable] = None,
            feature_weight: float = 0.0, labels: Optional[torch.Tensor] = None, steps: int = STEPS,
            restarts: int = RESTARTS, lr: float = LR, seed: int = 0, progress: bool = False) -> Projection:
    """Project images onto G's range: the latents whose images reconstruct them best.

    Args:
        G: generator.
        target: ``[N, C, H, W]`` images in [-1, 1] at G's output shape.
        features: image -> features (e.g. ``Classifier.features``) for the perceptual loss.
        feature_weight: weight of the relative feature loss (0 = L2 alone).
        labels, steps, restarts, lr, seed, progress: see :func:`search_latents`.

    Returns:
        :class:`Projection` with ``error`` the per-image pixel MSE of the reconstruction.
    """
    _check_target(G, target)
    if feature_weight and features is None:
        raise ValueError("feature_weight > 0 needs a feature function (e.g. the data classifier's features)")
    extra = None
    if feature_weight:
        feat = relative_feature_loss(features)
        extra = lambda fake, tgt, y: feature_weight * feat(fake, tgt)  # noqa: E731
    result = search_latents(G, target, lambda fake, tgt, y: masked_mse(fake, tgt), extra_loss=extra, labels=labels,
                            steps=steps, restarts=restarts, lr=lr, seed=seed, progress=progress)
    result.error = masked_mse(result.images, target)
    return result


def _check_target(G: torch.nn.Module, target: torch.Tensor) -> None:
    shape = tuple(getattr(G, "out_shape", ()))
    if target.dim() != 4 or tuple(target.shape[1:]) != shape:
        raise ValueError(f"images to project must have G's output shape [N, {', '.join(map(str, shape))}], "
                         f"got {tuple(target.shape)}")


# ----------------------------------------------------------------------------------- inpainting
def context_weights(mask: torch.Tensor, window: int = WINDOW, floor: float = CONTEXT_FLOOR) -> torch.Tensor:
    """Yeh et al.'s importance weights of the known pixels: the fraction of missing pixels in each
    known pixel's ``window x window`` neighbourhood, plus ``floor`` (0 on missing pixels).

    Args:
        mask: ``[N, 1, H, W]`` 1 = known, 0 = missing.

    Returns:
        ``[N, 1, H, W]`` weights, normalised to mean 1 over the known pixels.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd number >= 1, got {window}")
    missing = F.avg_pool2d(1 - mask.float(), window, stride=1, padding=window // 2, count_include_pad=False)
    w = (missing + floor) * mask.float()
    return w / (w.flatten(1).sum(1) / mask.float().flatten(1).sum(1).clamp_min(1)).clamp_min(1e-8).view(-1, 1, 1, 1)


def feather_alpha(mask: torch.Tensor, feather: int = FEATHER) -> torch.Tensor:
    """Blend weight of the original image: 0 in the hole, ``d / (feather + 1)`` at Chebyshev distance
    ``d <= feather`` from it, 1 further out (``feather = 0``: 1 on every known pixel).

    Args:
        mask: ``[N, 1, H, W]`` 1 = known, 0 = missing.
    """
    if feather < 0:
        raise ValueError(f"feather must be >= 0, got {feather}")
    hole = 1 - mask.float()
    reached, covered = hole, torch.zeros_like(hole)
    for _ in range(feather + 1):  # covered counts the dilations 0..feather that reach each pixel
        covered = covered + reached
        reached = F.max_pool2d(reached, 3, stride=1, padding=1)
    return 1 - covered / (feather + 1)


@dataclass
class Inpainting:
    """Result of :func:`inpaint`.

    Attributes:
        images: ``[N, C, H, W]`` completed images (the blend).
        generated: ``[N, C, H, W]`` ``G(z)`` of the best latents, before blending.
        projection: the latent search (:class:`Projection`; its ``error`` is over the known pixels).
        known_error: ``[N]`` MSE of ``images`` against the damaged input on the known pixels.
        mask: ``[N, 1, H, W]`` the mask used (1 = known).
    """

    images: torch.Tensor
    generated: torch.Tensor
    projection: Projection
    known_error: torch.Tensor
    mask: torch.Tensor


def inpaint(G: torch.nn.Module, D: Optional[torch.nn.Module], image: torch.Tensor, mask: torch.Tensor, *,
            prior_weight: float = PRIOR_WEIGHT, weighted: bool = True, window: int = WINDOW, feather: int = FEATHER,
            labels: Optional[torch.Tensor] = None, steps: int = STEPS, restarts: int = RESTARTS, lr: float = LR,
            seed: int = 0, progress: bool = False) -> Inpainting:
    """Complete the missing pixels of images (Yeh et al. 2017; see the module docstring).

    Args:
        G: generator.
        D: the run's discriminator for the prior loss (None, or ``prior_weight=0``: context loss alone).
        image: ``[N, C, H, W]`` damaged images in [-1, 1] (missing pixels may hold anything).
        mask: ``[N or 1, 1, H, W]`` 1 = known pixel, 0 = missing.
        prior_weight: ``lambda`` of the prior loss, relative to the mean context loss.
        weighted: weight the context loss towards the hole (:func:`context_weights`); else uniform.
        window: neighbourhood of the weights.
        feather: width of the blend band in pixels (:func:`feather_alpha`).
        labels, steps, restarts, lr, seed, progress: see :func:`search_latents`.

    Returns:
        :class:`Inpainting`.
    """
    from gankit.tools.saliency import adversarial_logit

    _check_target(G, image)
    mask = mask.float()
    if mask.dim() != 4 or mask.shape[1] != 1 or tuple(mask.shape[2:]) != tuple(image.shape[2:]) \
            or mask.shape[0] not in (1, len(image)):
        raise ValueError(f"mask must be [N or 1, 1, {image.shape[2]}, {image.shape[3]}], got {tuple(mask.shape)}")
    mask = mask.expand(len(image), -1, -1, -1).contiguous()
    if bool((mask.flatten(1).sum(1) == 0).any()):
        raise ValueError("every image needs some known pixels (the mask is all 0 for at least one)")
    weights = context_weights(mask, window) if weighted else mask
    device = next(G.parameters()).device

    def context(fake, tgt, y):
        w = weights.to(fake.device).repeat_interleave(fake.shape[0] // len(image), dim=0)
        return ((fake - tgt).abs() * w).flatten(1).sum(1) / (w.flatten(1).sum(1) * fake.shape[1]).clamp_min(1e-8)

    def prior(fake, tgt, y):
        return prior_weight * F.softplus(-adversarial_logit(D(fake, y) if y is not None else D(fake)))

    use_prior = D is not None and prior_weight > 0
    restore = _frozen(D) if use_prior else (lambda: None)
    was_training = D.training if use_prior else False
    if use_prior:
        D.eval()
    try:
        result = search_latents(G, image.to(device), context, extra_loss=prior if use_prior else None, labels=labels,
                                steps=steps, restarts=restarts, lr=lr, seed=seed, progress=progress,
                                desc="inpainting")
    finally:
        restore()
        if use_prior:
            D.train(was_training)
    result.error = masked_mse(result.images, image, mask)
    alpha = feather_alpha(mask, feather)
    blended = alpha * image.cpu().float() + (1 - alpha) * result.images
    return Inpainting(blended, result.images, result, masked_mse(blended, image, mask), mask)
