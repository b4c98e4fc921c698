"""The discriminator's output heads, shared by all families: the adversarial head and InfoGAN's Q."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

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


class QHead(nn.Module):
    """InfoGAN's recognition network Q on D's trunk features (Chen et al. 2016, appendix C.1):
    ``FC hidden - batch norm - LeakyReLU(0.1)`` then one linear layer to the code parameters.

    Args:
        features: length ``F`` of the trunk features ``h``.
        categorical: values ``k`` of each categorical code (``cat0``, ``cat1``, ...).
        continuous: number ``C`` of continuous codes.
        log_var: also predict a log-variance per continuous code (the Gaussian NLL form); without
            it the variance is fixed at 1 (the MSE form of openai/InfoGAN's MNIST run).
        hidden: width of the hidden layer (the paper: 128); 0 = one linear layer on ``h``, as
            PyTorch-GAN's ``infogan.py`` does.
    """

    def __init__(self, features: int, categorical: Sequence[int], continuous: int, log_var: bool, hidden: int = 128):
        super().__init__()
        self.categorical, self.continuous, self.log_var = [int(k) for k in categorical], int(continuous), log_var
        out = sum(self.categorical) + self.continuous * (2 if log_var else 1)
        # The paper's lRELU leak rate is 0.1 (appendix C); batch norm as in its Q for MNIST.
        self.body = (nn.Sequential(nn.Linear(features, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.1))
                     if hidden else nn.Identity())
        self.out = nn.Linear(hidden or features, out)

    def forward(self, h: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Args: h ``[N, F]``. Returns: ``cat<i>``: logits ``[N, k_i]`` per categorical code;
        ``cont_mean``: ``[N, C]``; ``cont_log_var``: ``[N, C]`` (only with ``log_var``)."""
        params = self.out(self.body(h))
        out, start = {}, 0
        for i, k in enumerate(self.categorical):
            out[f"cat{i}"] = params[:, start:start + k]
            start += k
        if self.continuous:
            out["cont_mean"] = params[:, start:start + self.continuous]
            if self.log_var:
                out["cont_log_var"] = params[:, start + self.continuous:]
        return out
