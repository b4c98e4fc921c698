"""Base classes that enforce the generator / discriminator contract and implement the options
every family shares, so that a family only describes its layers.

A family subclasses :class:`Generator` (implementing ``synthesize``) or :class:`Discriminator`
(implementing ``features``), builds its layers with the sizes the base class computed, and ends its
constructor with ``self.finish(init, spectral_norm)``.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from gankit.nn.conditioning import LabelInput, append_label_maps, check_conditioning, check_labels
from gankit.nn.heads import DiscriminatorHead
from gankit.nn.init import on_meta
from gankit.nn.minibatch_std import MinibatchStd
from gankit.nn.options import flag, integer
from gankit.nn.pack import pack_samples
from gankit.nn.spectral_norm import apply_spectral_norm
from gankit.registry import ConfigError


def _finish(module: nn.Module, init: Optional[Callable[[nn.Module], None]], spectral_norm: bool,
            setting: str) -> None:
    if init is not None:
        init(module)
    if not on_meta(module):  # layers whose init builds on the family's (ICNR in PixelShuffleUp)
        for m in module.modules():
            if hasattr(m, "after_init"):
                m.after_init()
    # After init: the spectral-norm parametrisation wraps the initialised weights. Not on the meta device
    # (the size probe of gankit.models): its set-up crawls through meta kernels (seconds for a BigGAN)
    # and adds only two vectors per layer.
    if flag(spectral_norm, f"{setting}.spectral_norm") and not on_meta(module):
        apply_spectral_norm(module)


class Generator(nn.Module):
    """Base generator: ``forward(z [N, z_dim], y [N] | None) -> [N, *out_shape]``.

    Handles the label input: with ``conditioning`` ``"concat"``/``"acgan"`` the label embedding is
    concatenated to z before ``synthesize`` sees it (``self.input_dim`` is the combined width); with
    ``"projection"`` the labels reach ``synthesize`` and the family builds its norms with
    ``Norm(..., num_classes=self.norm_classes)``.

    Args:
        z_dim: latent size.
        out_shape: ``(C, H, W)`` or ``(D,)``.
        num_classes: ``K`` (0 = unconditional).
        conditioning: one of ``gankit.nn.conditioning.CONDITIONING``.
        embed_dim: concat/acgan label embedding size; 0 = one-hot.
        setting: the config prefix of the options, for error messages.
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], num_classes: int, conditioning: str,
                 embed_dim: int, setting: str = "model.g.args"):
        super().__init__()
        self.z_dim = integer(z_dim, "model.z_dim", 1)
        self.out_shape = tuple(int(s) for s in out_shape)
        self.num_classes = integer(num_classes, "num_classes", 0)
        self.conditioning = check_conditioning(conditioning, self.num_classes, f"{setting}.conditioning")
        self.setting = setting
        embed_dim = integer(embed_dim, f"{setting}.embed_dim", 0)
        if embed_dim and conditioning not in ("concat", "acgan"):
            raise ConfigError(
                f"{setting}.embed_dim is the size of the label vector concatenated to z, used only with "
                f"{setting}.conditioning=concat or acgan (it is {conditioning}); remove it"
            )
        self.label_input = LabelInput(self.num_classes, embed_dim) if conditioning in ("concat", "acgan") else None
        #: Width of the vector ``synthesize`` receives: z plus the label embedding when concatenated.
        self.input_dim = self.z_dim + (self.label_input.dim if self.label_input is not None else 0)
        #: Classes for conditional norms (projection conditioning), else 0.
        self.norm_classes = self.num_classes if conditioning == "projection" else 0

    def check_norm_for_projection(self, norm: str) -> None:
        """Projection conditioning enters through the norms, so it needs some normalisation."""
        if self.conditioning == "projection" and norm == "none":
            raise ConfigError(
                f"{self.setting}.conditioning=projection feeds the class through conditional "
                f"normalisation, but {self.setting}.norm=none; choose another norm (e.g. batch) "
                f"or conditioning=concat"
            )

    def finish(self, init: Optional[Callable[[nn.Module], None]], spectral_norm: bool) -> None:
        """Initialise the weights with ``init`` (None keeps the layers' own), then optionally apply
        spectral normalisation to every conv/linear/embedding."""
        _finish(self, init, spectral_norm, self.setting)

    def synthesize(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        """Family part. Args: z ``[N, input_dim]``; y ``[N]`` when ``norm_classes > 0`` else None.
        Returns ``[N, *out_shape]``."""
        raise NotImplementedError

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args: z ``[N, z_dim]``; y int64 ``[N]`` (conditional models only; ignored otherwise).
        Returns: samples ``[N, *out_shape]``."""
        who = type(self).__name__
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"{who} expects z of shape [N, {self.z_dim}], got {tuple(z.shape)}")
        n = z.shape[0]
        if self.num_classes:
            y = check_labels(y, n, self.num_classes, who)
        if self.label_input is not None:
            z = torch.cat([z, self.label_input(y).to(z.dtype)], dim=1)
        out = self.synthesize(z, y if self.norm_classes else None)
        assert out.shape == (n, *self.out_shape), f"{who} produced {tuple(out.shape)}, expected {(n, *self.out_shape)}"
        return out


class Discriminator(nn.Module):
    """Base discriminator: ``forward(x [N, *in_shape], y [N] | None)`` -> logits ``[N / pack]`` (or
    the AC-GAN dict).

    The forward pass is: append one-hot label maps (``concat``) -> pack ``pack`` samples along
    channels (PacGAN) -> ``features`` (the family's trunk, which places ``minibatch_std_layers()``
    before its last block) -> :class:`~gankit.nn.heads.DiscriminatorHead`.

    Args:
        in_shape: ``(C, H, W)`` or ``(D,)``.
        num_classes: ``K`` (0 = unconditional).
        conditioning: one of ``gankit.nn.conditioning.CONDITIONING``.
        pack: PacGAN pack size ``m`` (1 = off).
        minibatch_std: minibatch-std group size (0 = off).
        flat_input: True when the trunk takes flattened vectors (MLPs); False for conv trunks.
        setting: the config prefix of the options, for error messages.
    """

    def __init__(self, in_shape: Sequence[int], num_classes: int, conditioning: str, pack: int,
                 minibatch_std: int, flat_input: bool, setting: str = "model.d.args"):
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)
        self.num_classes = integer(num_classes, "num_classes", 0)
        self.conditioning = check_conditioning(conditioning, self.num_classes, f"{setting}.conditioning")
        self.setting = setting
        self.pack = integer(pack, f"{setting}.pack", 1)
        if self.pack > 1 and conditioning in ("projection", "acgan"):
            raise ConfigError(
                f"{setting}.pack={self.pack} judges {self.pack} samples with one logit, which cannot "
                f"carry one class per sample as {setting}.conditioning={conditioning} needs; use pack=1 "
                f"or conditioning=concat"
            )
        self.minibatch_std_group = integer(minibatch_std, f"{setting}.minibatch_std", 0)
        self.flat_input = flat_input
        label_features = self.num_classes if conditioning == "concat" else 0
        if label_features:
            self.register_buffer("eye", torch.eye(label_features), persistent=False)
        if flat_input:
            per_sample: tuple = (math.prod(self.in_shape) + label_features,)
        else:
            per_sample = (self.in_shape[0] + label_features, *self.in_shape[1:])
        #: Shape of one item the trunk receives (labels appended, ``pack`` samples concatenated).
        self.trunk_shape = (self.pack * per_sample[0], *per_sample[1:])
        #: Heads beside ``head`` on the same trunk features (see :meth:`attach_head`).
        self.extra_heads = nn.ModuleDict()

    def minibatch_std_layers(self) -> List[nn.Module]:
        """``[MinibatchStd]`` when enabled, else ``[]``; it adds ``self.minibatch_std_channels``."""
        return [MinibatchStd(self.minibatch_std_group)] if self.minibatch_std_group else []

    @property
    def minibatch_std_channels(self) -> int:
        return 1 if self.minibatch_std_group else 0

    def add_head(self, features: int) -> None:
        """Create the output head for trunk features of length ``features``."""
        self.head = DiscriminatorHead(features, self.num_classes, self.conditioning)

    def attach_head(self, name: str, head: nn.Module) -> None:
        """Put another head on the trunk: ``head(h)`` sees the same features ``h [N', F]`` as the
        adversarial head (``F = self.head.features``), and D's output becomes a dict holding
        ``"logits"`` and ``name: head(h)`` (InfoGAN's Q network, which shares D's trunk).

        Attach before the optimiser is built, so that it trains the head too; heads attached after
        :meth:`finish` keep their own initialisation and get no spectral norm.
        """
        if name in ("logits", "class_logits") or name in self.extra_heads:
            raise ValueError(f"D output key '{name}' is taken; attach the head under another name")
        self.extra_heads[name] = head

    def finish(self, init: Optional[Callable[[nn.Module], None]], spectral_norm: bool) -> None:
        """Initialise the weights with ``init`` (None keeps the layers' own), then optionally apply
        spectral normalisation to every conv/linear/embedding (head included)."""
        _finish(self, init, spectral_norm, self.setting)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Family part. Args: x ``[N', *trunk_shape]``. Returns h ``[N', F]``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None
                ) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
        """Args: x ``[N, *in_shape]``; y int64 ``[N]`` (concat/projection conditioning; AC-GAN's D
        takes no label). Returns: raw logits ``[N / pack]``, or for AC-GAN
        ``{"logits": [N], "class_logits": [N, K]}``, plus one entry per attached head."""
        who = type(self).__name__
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"{who} expects x of shape [N, {', '.join(map(str, self.in_shape))}], got {tuple(x.shape)}")
        n = x.shape[0]
        if self.conditioning in ("concat", "projection"):
            y = check_labels(y, n, self.num_classes, who)
        if self.flat_input:
            x = x.flatten(1)
        if self.conditioning == "concat":
            x = append_label_maps(x, y, self.eye)
        x = pack_samples(x, self.pack)
        h = self.features(x)
        assert h.shape == (n // self.pack, self.head.features), (
            f"{who} trunk gave features {tuple(h.shape)}, expected {(n // self.pack, self.head.features)}")
        out = self.head(h, y if self.conditioning == "projection" else None)
        if len(self.extra_heads):
            out = dict(out) if isinstance(out, dict) else {"logits": out}
            out.update({name: head(h) for name, head in self.extra_heads.items()})
        return out
