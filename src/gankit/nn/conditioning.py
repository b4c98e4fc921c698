"""How a model sees the class label.

Modes (option ``conditioning`` of every generator and discriminator family):

* ``"none"``: unconditional (the only valid mode when the data have no labels).
* ``"concat"``: classic conditional GAN (Mirza & Osindero 2014): G concatenates a label embedding
  (or one-hot vector) to z; D receives the label as one-hot constant feature maps concatenated to
  the image (or as a one-hot vector concatenated to the flattened input, for MLPs).
* ``"projection"``: G uses class-conditional normalisation (de Vries et al. 2017), D is a projection
  discriminator (Miyato & Koyama 2018): ``logit = linear(h) + <embed(y), h>``.
* ``"acgan"``: AC-GAN (Odena et al. 2017): G as ``concat``; D takes no label and has an auxiliary
  classifier head, returning ``{"logits": [N], "class_logits": [N, K]}``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.nn.options import choice
from gankit.registry import ConfigError

CONDITIONING = ("none", "concat", "projection", "acgan")


def check_conditioning(mode: str, num_classes: int, setting: str) -> str:
    """Validate the conditioning mode against the number of classes.

    Args:
        mode: the configured mode.
        num_classes: classes in the data when ``model.conditional=true``, else 0.
        setting: the option's config path, e.g. ``"model.g.args.conditioning"``.

    Returns:
        ``mode``.
    """
    choice(mode, CONDITIONING, setting)
    if num_classes > 0 and mode == "none":
        raise ConfigError(
            f"model.conditional=true (the data have {num_classes} classes) needs a conditioning mode: set "
            f"{setting} to one of concat, projection, acgan, or set model.conditional=false"
        )
    if num_classes == 0 and mode != "none":
        raise ConfigError(
            f"{setting}={mode} needs class labels: set model.conditional=true (with a labelled data "
            f"source), or {setting}=none for an unconditional model"
        )
    return mode


def check_labels(y, n: int, num_classes: int, who: str) -> torch.Tensor:
    """Check that ``y`` holds one integer label per sample.

    Values are not range-checked here: that would need a host sync every step. An out-of-range
    label fails inside the embedding lookup instead.

    Args:
        y: labels, int64 ``[N]``.
        n: batch size ``N``.
        num_classes: ``K``, for the message.
        who: the model for the message, e.g. ``"DCGANGenerator"``.

    Returns:
        ``y``.
    """
    if y is None:
        raise ValueError(f"{who} is conditional ({num_classes} classes) and needs labels y of shape [{n}]")
    if y.shape != (n,) or y.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{who} expects integer labels y of shape [{n}], got {y.dtype} {tuple(y.shape)}")
    return y


class LabelInput(nn.Module):
    """The label part of a concat-conditioned generator's input.

    Args:
        num_classes: ``K``.
        embed_dim: 0 for a one-hot vector of length ``K``; ``E > 0`` for a learned embedding.
    """

    def __init__(self, num_classes: int, embed_dim: int):
        super().__init__()
        self.dim = embed_dim or num_classes
        if embed_dim:
            self.embed = nn.Embedding(num_classes, embed_dim)
        else:
            # Non-persistent: a constant, not a weight, so it stays out of checkpoints.
            self.register_buffer("eye", torch.eye(num_classes), persistent=False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Args: y int64 ``[N]``. Returns float ``[N, dim]``."""
        if hasattr(self, "embed"):
            return self.embed(y)
        # An embedding lookup into the identity avoids F.one_hot's host-side range check.
        return F.embedding(y, self.eye)


def append_label_maps(x: torch.Tensor, y: torch.Tensor, eye: torch.Tensor) -> torch.Tensor:
    """Concatenate one-hot labels to the discriminator's input.

    Args:
        x: ``[N, C, H, W]`` images or ``[N, D]`` flat inputs.
        y: int64 ``[N]``.
        eye: the ``[K, K]`` identity (a module buffer, so it lives on the right device).

    Returns:
        ``[N, C + K, H, W]`` (constant one-hot maps) or ``[N, D + K]``.
    """
    onehot = F.embedding(y, eye).to(x.dtype)  # [N, K]
    if x.dim() == 4:
        onehot = onehot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, onehot], dim=1)
