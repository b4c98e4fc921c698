"""The discriminator's output head, shared by all families."""

from __future__ import annotations

from typing import Dict, Optional, Union

import torch
from torch import nn


class DiscriminatorHead(nn.Module):
    """Map a feature vector ``h`` to a raw logit, plus the conditional parts.

    * always: ``logit = linear(h)``;
    * ``conditioning="projection"``: ``logit += <embed(y), h>`` (Miyato & Koyama 2018);
    * ``conditioning="acgan"``: an auxiliary classifier ``class_logits = linear_K(h)`` (Odena et al.
      2017); the output becomes ``{"logits": [N], "class_logits": [N, K]}``.

    Args:
        features: length ``F`` of ``h``.
        num_classes: ``K`` (0 when unconditional).
        conditioning: one of ``gankit.nn.conditioning.CONDITIONING``.
    """

    def __init__(self, features: int, num_classes: int, conditioning: str):
        super().__init__()
        self.features = features
        self.conditioning = conditioning
        self.linear = nn.Linear(features, 1)
        if conditioning == "projection":
            self.embed = nn.Embedding(num_classes, features)
        if conditioning == "acgan":
            self.classifier = nn.Linear(features, num_classes)

    def forward(self, h: torch.Tensor, y: Optional[torch.Tensor] = None
                ) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
        """Args: h ``[N, F]``; y int64 ``[N]`` (projection only).
        Returns: logits ``[N]``, or a dict with ``logits`` ``[N]`` and ``class_logits`` ``[N, K]``."""
        logits = self.linear(h).squeeze(1)
        if self.conditioning == "projection":
            logits = logits + (self.embed(y) * h).sum(dim=1)
        if self.conditioning == "acgan":
            return {"logits": logits, "class_logits": self.classifier(h)}
        return logits
