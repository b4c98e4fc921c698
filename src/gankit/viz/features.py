"""Feature spaces for the embedding and memorisation views: raw pixels, or the run's data classifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class FeatureSpace:
    """A map from images to feature vectors.

    Attributes:
        name: short name for plot titles ("pixel", "data-classifier").
        description: one sentence for reports: what the features are and why this space was chosen.
        fn: images ``[N, C, H, W]`` in [-1, 1] -> features ``[N, F]``.
    """

    name: str
    description: str
    fn: Callable[[torch.Tensor], torch.Tensor]

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Features of ``images`` (``[N, C, H, W]`` in [-1, 1]) computed in batches; ``[N, F]`` float32 on the CPU."""
        return torch.cat([self.fn(images[i : i + batch_size]).float().cpu() for i in range(0, len(images), batch_size)])


def pixel_space(reason: str = "") -> FeatureSpace:
    """Flattened pixels in [-1, 1]. ``reason`` says why no learned space is used (shown in reports)."""
    why = f" ({reason})" if reason else ""
    return FeatureSpace("pixel", f"raw pixels{why}", lambda x: x.flatten(1))


def run_feature_space(data_cfg, device="cpu") -> FeatureSpace:
    """The penultimate layer of the run's cached data classifier, else pixels.

    Never trains a classifier (that takes minutes); the metrics helper trains and caches one with
    ``gankit classifier train`` or when a classifier metric first runs.

    Args:
        data_cfg: the run's ``cfg.data``.
        device: where the classifier runs.

    Returns:
        A :class:`FeatureSpace`; its description says which space it is and, for pixels, why.
    """
    from gankit.metrics.classifier import get_classifier
    from gankit.metrics.evaluate import reference_spec
    from gankit.registry import ConfigError

    ref = reference_spec(data_cfg)
    try:
        model = get_classifier(ref.source, ref.path, ref.resolution, ref.channels, ref.args, train_if_missing=False,
                               device=device)
    except ConfigError as e:  # no cached classifier for this data: fall back and say why
        return pixel_space(f"no cached data classifier: {e}")
    accuracy = model.meta.get("holdout_accuracy")
    acc = f", held-out accuracy {accuracy:.1%}" if isinstance(accuracy, float) else ""
    dev = next(model.parameters()).device
    return FeatureSpace("data-classifier", f"penultimate layer of the run's cached data classifier{acc}",
                        lambda x: model.features(x.to(dev)))
