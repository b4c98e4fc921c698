"""Light feature extractors: ``tiny`` (a fixed random conv net, for tests and quick checks) and
``raw`` (the samples themselves, e.g. 2-D points of the ring/grid mixtures).

Neither has learned weights, so their numbers only compare runs evaluated with the same
extractor; use ``inception`` or ``classifier`` for figures worth reporting.
"""

from __future__ import annotations

import hashlib
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from gankit.metrics.base import FEATURE_EXTRACTORS, FeatureExtractor, ReferenceSpec, reference_free
from gankit.registry import ConfigError


def images_to_unit(x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` (0..255) -> float ``[N, C, H, W]`` in [-1, 1]."""
    return x.to(dtype) / 127.5 - 1.0


def to_rgb(x: torch.Tensor, who: str) -> torch.Tensor:
    """Grey ``[N, 1, H, W]`` -> ``[N, 3, H, W]`` by replicating the channel; RGB passes through."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ConfigError(f"feature extractor '{who}' takes images [N, 1 or 3, H, W]; got {tuple(x.shape)}. "
                          f"For vector data use eval.args.extractor=raw.")
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class TinyExtractor(FeatureExtractor):
    """Two strided random convolutions, 2x2 average pooling and random linear heads, in float64.

    Deterministic (weights drawn from a seeded generator) and cheap, so tests can run the whole
    evaluation pipeline on the CPU in milliseconds. Inputs are resized to 16x16 (bilinear).
    """

    def __init__(self, device, dim: int, num_logits: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        dt = torch.float64
        self.name = "tiny"
        self.device = torch.device(device)
        self.weights = {
            "conv1": torch.randn(8, 3, 3, 3, generator=g, dtype=dt) / 27 ** 0.5,
            "conv2": torch.randn(16, 8, 3, 3, generator=g, dtype=dt) / 72 ** 0.5,
            "proj": torch.randn(64, dim, generator=g, dtype=dt) / 8.0,
            "head": torch.randn(dim, num_logits, generator=g, dtype=dt) / dim ** 0.5,
        }
        self.weights = {k: v.to(self.device) for k, v in self.weights.items()}
        self.seed = seed

    def extract(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        x = images_to_unit(to_rgb(x, self.name), torch.float64)
        if x.shape[-2:] != (16, 16):
            x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
        h = F.relu(F.conv2d(x, self.weights["conv1"], stride=2, padding=1))
        h = F.relu(F.conv2d(h, self.weights["conv2"], stride=2, padding=1))
        h = F.adaptive_avg_pool2d(h, 2).flatten(1)  # [N, 64]
        features = h @ self.weights["proj"]
        return features, features @ self.weights["head"]

    def record(self) -> dict:
        digest = hashlib.sha256()
        for k in sorted(self.weights):
            digest.update(self.weights[k].cpu().numpy().tobytes())
        return {"name": self.name, "weights": f"random, seed {self.seed}", "weights_sha256": digest.hexdigest(),
                "input": "uint8 images; grey replicated to RGB; scaled to [-1, 1]; bilinear resize to 16x16",
                "feature_dim": int(self.weights["proj"].shape[1])}


@FEATURE_EXTRACTORS.register("tiny")
@reference_free
def build_tiny(device, reference: ReferenceSpec, dim: int = 16, num_logits: int = 10, seed: int = 0) -> TinyExtractor:
    """A fixed random conv net (features ``[N, dim]``, logits ``[N, num_logits]``): tests and smoke checks."""
    if dim <= 0 or num_logits <= 0:
        raise ConfigError(f"eval.args.extractors.tiny: dim and num_logits must be > 0, got {dim} and {num_logits}")
    return TinyExtractor(device, dim, num_logits, seed)


class RawExtractor(FeatureExtractor):
    """The samples themselves as features: vectors as they are, images flattened in [-1, 1]."""

    name = "raw"

    def extract(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if x.dtype == torch.uint8:
            return images_to_unit(x, torch.float64).flatten(1), None
        return x.to(torch.float64).flatten(1), None

    def record(self) -> dict:
        return {"name": self.name, "weights": None,
                "input": "vectors unchanged; uint8 images flattened and scaled to [-1, 1]"}


@FEATURE_EXTRACTORS.register("raw")
@reference_free
def build_raw(device, reference: ReferenceSpec) -> RawExtractor:
    """The samples themselves (2-D toy data; pixel space for images)."""
    return RawExtractor()
