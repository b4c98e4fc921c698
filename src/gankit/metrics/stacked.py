"""Stacked MNIST mode metrics (1,000 modes; Metz et al. 2017, VEEGAN, PacGAN Table 2).

A Stacked MNIST sample holds three MNIST digits as its three colour channels, so the data has
10^3 = 1,000 modes. Protocol (PacGAN, Sec. 4.2, after VEEGAN): draw 26,000 samples from the
generator, label each channel with a pre-trained MNIST classifier, read the three digits as the
mode ``100 * d0 + 10 * d1 + d2``, and report the number of modes with at least one sample and

    KL = KL(p_gen || u) = sum_k p_k * log(1000 * p_k)

between the generated mode histogram ``p_gen`` (all samples, no quality threshold) and the uniform
distribution ``u`` over the 1,000 modes, ``0 log 0 = 0``. Even perfect samples score a KL above 0:
a multinomial histogram of N samples over K equal modes has E[KL] ~ (K - 1) / (2 N), 0.019 at 26,000.

Registered here: the feature extractor ``stacked_digits`` (the digit classifier's log-probabilities
for each channel, from :func:`gankit.metrics.classifier.get_classifier` trained on the run's base
MNIST source) and the metric ``stacked_mnist`` (keys ``stacked_modes``, ``stacked_kl``) for runs on
``data.source: stacked-mnist``: ``gankit eval RUN --metrics stacked_mnist --n 26000``.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch

from gankit.metrics.base import FEATURE_EXTRACTORS, FeatureExtractor, MetricResult, ReferenceSpec, register_metric
from gankit.metrics.modes import histogram_metrics
from gankit.registry import ConfigError

PAPER_SAMPLES = 26000
NUM_MODES = 1000
# mode = DIGIT_WEIGHTS . (d0, d1, d2)
DIGIT_WEIGHTS = (100, 10, 1)
KL_FORMULA = "KL(p_gen || uniform) = sum_k p_k log(1000 p_k), p_k = share of all samples labelled mode k"


def channel_log_probs(images: torch.Tensor, classifier: Callable[[torch.Tensor], torch.Tensor],
                      batch_size: int = 1000) -> torch.Tensor:
    """Digit log-probabilities of each channel of Stacked MNIST images.

    Args:
        images: ``[N, 3, H, W]`` images: float in [-1, 1] (a generator's output) or uint8 0..255,
            whichever ``classifier`` takes.
        classifier: maps ``[B, 1, H, W]`` single-digit images to digit logits ``[B, 10]``.
        batch_size: stacked images per classifier call (each call sees ``3 * batch_size`` digits).

    Returns:
        float32 ``[N, 3, 10]`` log-softmax of the classifier's logits, on the CPU.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"Stacked MNIST images must be [N, 3, H, W]; got {tuple(images.shape)}")
    out = []
    with torch.no_grad():
        for chunk in images.split(batch_size):
            n, _, h, w = chunk.shape
            # The three channels become three single-digit images, in channel order.
            logits = classifier(chunk.reshape(n * 3, 1, h, w))
            if logits.dim() != 2 or logits.shape != (n * 3, 10):
                raise ValueError(f"the classifier must return [B, 10] digit logits; got {tuple(logits.shape)}")
            out.append(torch.log_softmax(logits.float(), dim=1).reshape(n, 3, 10).cpu())
    return torch.cat(out)


def modes_from_log_probs(log_probs: torch.Tensor) -> torch.Tensor:
    """Most likely digit per channel, read as a mode.

    Args:
        log_probs: ``[N, 3, 10]`` per-channel digit scores (any monotone scale).

    Returns:
        ``[N]`` long modes ``100 * d0 + 10 * d1 + d2`` in 0..999.
    """
    digits = log_probs.argmax(dim=2)
    return digits @ torch.tensor(DIGIT_WEIGHTS, device=digits.device)


def stacked_labels(images: torch.Tensor, classifier: Callable[[torch.Tensor], torch.Tensor],
                   batch_size: int = 1000) -> torch.Tensor:
    """Label Stacked MNIST images with a single-digit classifier applied to each channel.

    Args:
        images: ``[N, 3, H, W]`` images (see :func:`channel_log_probs`).
        classifier: maps ``[B, 1, H, W]`` images to digit logits ``[B, 10]``.
        batch_size: stacked images per classifier call.

    Returns:
        ``[N]`` long modes ``100 * d0 + 10 * d1 + d2`` in 0..999, on the CPU.
    """
    return modes_from_log_probs(channel_log_probs(images, classifier, batch_size))


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


class StackedDigitsExtractor(FeatureExtractor):
    """Features = the digit classifier's log-probabilities for each of the three channels, ``[N, 30]``."""

    name = "stacked_digits"

    def __init__(self, classifier: torch.nn.Module):
        self.classifier = classifier

    def extract(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ConfigError(f"the stacked_mnist metric takes 3-channel images; got samples of shape {tuple(x.shape)}")
        return channel_log_probs(x, self.classifier, batch_size=x.shape[0]).flatten(1), None

    def record(self) -> dict:
        m = self.classifier.meta
        return {"name": self.name, "weights": m["weights"], "weights_sha256": m["weights_sha256"],
                "classifier_key": m["key"], "trained_on": {k: m["record"][k] for k in ("source", "path", "args")},
                "holdout_accuracy": m["holdout_accuracy"], "n_holdout": m["n_holdout"],
                "input": "each channel as a uint8 single-digit image at the data resolution",
                "features": "log-softmax digit scores per channel, [N, 3 x 10]"}


@FEATURE_EXTRACTORS.register("stacked_digits")
def build_stacked_digits(device, reference: ReferenceSpec, train_if_missing: bool = True, epochs: Optional[int] = None,
                         seed: Optional[int] = None) -> StackedDigitsExtractor:
    """Per-channel digit scores from the MNIST classifier of the run's base source (trained and cached on first use).

    ``epochs`` / ``seed`` default (None) to :func:`~gankit.metrics.classifier.get_classifier`'s, so that this
    metric and ``gankit classifier`` share one cached classifier.
    """
    from gankit.data.sources.stacked_mnist import DEFAULT_BASE
    from gankit.metrics.classifier import get_classifier

    if reference.source != "stacked-mnist":
        raise ConfigError(f"the stacked_mnist metric needs a run on data.source: stacked-mnist, not "
                          f"'{reference.source}'; for ring / grid use the modes metric")
    args = reference.args
    base = args.get("base", DEFAULT_BASE)
    settings = {k: v for k, v in (("epochs", epochs), ("seed", seed)) if v is not None}
    classifier = get_classifier(base, reference.path, reference.resolution, 1, args.get("base_args") or {},
                                train_if_missing, device=device, progress=True, **settings)
    if classifier.num_classes != 10:
        raise ConfigError(f"data.args.base '{base}' must be labelled with the 10 digits; its classifier has "
                          f"{classifier.num_classes} classes")
    return StackedDigitsExtractor(classifier)


@register_metric("stacked_mnist", extractor="stacked_digits", needs_reference=False,
                 directions={"stacked_modes": "max", "stacked_kl": "min"})
def stacked_mnist(ctx) -> MetricResult:
    """Stacked MNIST modes captured (of 1,000) and KL(generated || uniform) (PacGAN Table 2, 26,000 samples)."""
    fake = ctx.fake("stacked_digits")
    stats = stacked_mode_metrics(modes_from_log_probs(fake.features.reshape(-1, 3, 10)))
    record = {"protocol": "PacGAN (Lin et al. 2018) Table 2, after VEEGAN / Unrolled GAN", "n_fake": fake.n,
              "paper_n_fake": PAPER_SAMPLES, "labelling": "argmax digit per channel; mode = 100 d0 + 10 d1 + d2",
              "kl": KL_FORMULA}
    return MetricResult({"stacked_modes": stats["modes"], "stacked_kl": stats["kl"]}, record)
