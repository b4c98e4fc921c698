"""Stacked MNIST mode metrics (1,000 modes; Metz et al. 2017, VEEGAN, PacGAN Table 2).

A Stacked MNIST sample holds three MNIST digits as its three colour channels, so the data has
10^3 = 1,000 modes. Protocol (PacGAN, Sec. 4.2, after VEEGAN): draw 26,000 samples from the
generator, label each channel with a pre-trained MNIST classifier, read the three digits as the
mode ``100 * d0 + 10 * d1 + d2``, and report the number of modes with at least one sample and

    KL = KL(p_gen || u) = sum_k p_k * log(1000 * p_k)

between the generated mode histogram ``p_gen`` (all samples, no quality threshold) and the uniform
distribution ``u`` over the 1,000 modes, ``0 log 0 = 0``.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch

from gankit.metrics.modes import histogram_metrics

PAPER_SAMPLES = 26000
NUM_MODES = 1000
# mode = DIGIT_WEIGHTS . (d0, d1, d2)
DIGIT_WEIGHTS = (100, 10, 1)


def stacked_labels(images: torch.Tensor, classifier: Callable[[torch.Tensor], torch.Tensor],
                   batch_size: int = 1000) -> torch.Tensor:
    """Label Stacked MNIST images with a single-digit classifier applied to each channel.

    Args:
        images: ``[N, 3, H, W]`` float images in [-1, 1] (what a generator returns).
        classifier: maps ``[B, 1, H, W]`` images in [-1, 1] to digit logits ``[B, 10]``.
        batch_size: images per classifier call (each call sees ``3 * batch_size`` digits).

    Returns:
        ``[N]`` long modes ``100 * d0 + 10 * d1 + d2`` in 0..999, on the CPU.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"Stacked MNIST images must be [N, 3, H, W]; got {tuple(images.shape)}")
    weights = torch.tensor(DIGIT_WEIGHTS, dtype=torch.long)
    out = []
    with torch.no_grad():
        for chunk in images.split(batch_size):
            n, _, h, w = chunk.shape
            # The three channels become three single-digit images, in channel order.
            logits = classifier(chunk.reshape(n * 3, 1, h, w))
            if logits.dim() != 2 or logits.shape[0] != n * 3 or logits.shape[1] != 10:
                raise ValueError(f"the classifier must return [B, 10] digit logits; got {tuple(logits.shape)}")
            digits = logits.argmax(dim=1).reshape(n, 3).cpu()
            out.append(digits @ weights)
    return torch.cat(out)


def stacked_mode_metrics(modes: torch.Tensor) -> Dict[str, float]:
    """Modes captured (out of 1,000) and KL(generated || uniform) of Stacked MNIST modes.

    Args:
        modes: ``[N]`` long modes in 0..999 (from :func:`stacked_labels`).

    Returns:
        ``{"modes": modes with at least one sample, "kl": KL(p_gen || uniform over 1,000)}``.
    """
    if modes.numel() == 0:
        raise ValueError("stacked_mode_metrics needs at least one sample")
    if int(modes.min()) < 0 or int(modes.max()) >= NUM_MODES:
        raise ValueError(f"Stacked MNIST modes must be in 0..{NUM_MODES - 1}; got {int(modes.min())}..{int(modes.max())}")
    return histogram_metrics(torch.bincount(modes.cpu(), minlength=NUM_MODES))
