"""DCGAN generator and discriminator (Radford, Metz & Chintala 2016), for any supported resolution.

G: z -> linear to a 4x4 map -> ``log2(R/4)`` doubling blocks (transposed conv 4x4/2, or nearest
upsample + 3x3 conv) with norm + ReLU -> tanh. D mirrors it: strided 4x4 convs with LeakyReLU (the
first without norm, as in the paper) down to 4x4, then a linear layer to one logit (the paper's final
4x4 conv). Channels double as the resolution halves, from ``width`` next to the image up to a cap of
``8 * width``: at 64x64 and ``width=64`` that is the paper's 512-256-128-64.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from torch import nn

from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.nn.attention import SelfAttention, check_attention
from gankit.nn.base import Discriminator, Generator
from gankit.nn.init import dcgan_init
from gankit.nn.norm import NORMS_2D, LabelSequential, Norm, absorbs_bias
from gankit.nn.options import choice, integer, number
from gankit.nn.resolution import BASE_RESOLUTION, image_resolution
from gankit.nn.upsample import PixelShuffleUp

UPSAMPLE = ("transpose", "nearest", "pixelshuffle")
#: Channel multiplier cap: the deepest (4x4) maps have at most 8 * width channels.
MAX_MULT = 8


def channels(width: int, resolution: int, size: int) -> int:
    """Channels of the feature maps of side ``size`` in a network for ``resolution`` images:
    ``width`` at ``resolution / 2``, doubling per halving, capped at ``8 * width``."""
    return width * min(MAX_MULT, max(1, resolution // (2 * size)))


def _upsample(cin: int, cout: int, mode: str, bias: bool) -> nn.Module:
    """Double the spatial size: ``[N, cin, s, s]`` -> ``[N, cout, 2s, 2s]``."""
    if mode == "transpose":
        return nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=bias)
    if mode == "pixelshuffle":  # sub-pixel conv at the low resolution, ICNR-initialised
        return PixelShuffleUp(cin, cout, bias)
    # Nearest upsampling + 3x3 conv avoids the checkerboard artefacts of transposed convs
    # (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1, bias=bias))


def _norm(kind: str, ch: int, norm_classes: int) -> List[nn.Module]:
    return [] if kind == "none" else [Norm(kind, ch, norm_classes)]


def _attention(at: int, size: int, ch: int) -> List[nn.Module]:
    """``[SelfAttention(ch)]`` when the maps of side ``size`` are the ones chosen by ``attention``."""
    return [SelfAttention(ch)] if at == size else []


def _sizes(low: int, high: int) -> List[int]:
    """Feature-map sides ``low, 2 low, ..., high``."""
    return [low << i for i in range((high // low).bit_length())]


@GENERATORS.register("dcgan")
class DCGANGenerator(Generator):
    """DCGAN generator: linear to 4x4, doubling conv blocks with norm + ReLU, tanh output.

    Args:
        z_dim: latent size.
        out_shape: ``(C, R, R)``, ``R`` in ``gankit.nn.resolution.SUPPORTED_RESOLUTIONS``.
        num_classes: ``K`` (0 = unconditional).
        width: channels of the last hidden maps (``R/2``); deeper maps have up to ``8 * width``.
        norm: ``"batch"``, ``"layer"`` (GroupNorm(1, C)), ``"instance"`` or ``"none"``.
        upsample: ``"transpose"`` (4x4 stride-2 transposed conv, the paper), ``"nearest"``
            (nearest upsample + 3x3 conv) or ``"pixelshuffle"`` (3x3 conv to 4x the channels +
            PixelShuffle, ICNR-initialised; see :mod:`gankit.nn.upsample`).
        conditioning: ``"none"``, ``"concat"``, ``"projection"`` (conditional norms) or ``"acgan"``.
        embed_dim: label embedding size for concat/acgan; 0 = one-hot.
        spectral_norm: spectrally normalise every conv/linear layer.
        attention: side of the hidden maps (4 .. R/2) followed by a SAGAN self-attention block; 0 = none.

    ``forward(z [N, z_dim], y [N] | None)`` returns images ``[N, C, R, R]`` in [-1, 1].
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], num_classes: int, width: int = 64,
                 norm: str = "batch", upsample: str = "transpose", conditioning: str = "none",
                 embed_dim: int = 0, spectral_norm: bool = False, attention: int = 0):
        super().__init__(z_dim, out_shape, num_classes, conditioning, embed_dim)
        s = self.setting
        resolution = image_resolution(self.out_shape, "dcgan", "model.g.name")
        width = integer(width, f"{s}.width", 1)
        choice(norm, NORMS_2D, f"{s}.norm")
        choice(upsample, UPSAMPLE, f"{s}.upsample")
        self.check_norm_for_projection(norm)
        attention = check_attention(attention, _sizes(BASE_RESOLUTION, resolution // 2), f"{s}.attention")
        bias = not absorbs_bias(norm)
        self.base_channels = channels(width, resolution, BASE_RESOLUTION)
        self.project = nn.Linear(self.input_dim, self.base_channels * BASE_RESOLUTION ** 2, bias=bias)
        modules: List[nn.Module] = _norm(norm, self.base_channels, self.norm_classes) + [nn.ReLU()]
        cin, size = self.base_channels, BASE_RESOLUTION
        modules += _attention(attention, size, cin)
        while 2 * size < resolution:
            cout = channels(width, resolution, 2 * size)
            modules += [_upsample(cin, cout, upsample, bias)] + _norm(norm, cout, self.norm_classes) + [nn.ReLU()]
            cin, size = cout, 2 * size
            modules += _attention(attention, size, cin)
        modules += [_upsample(cin, self.out_shape[0], upsample, bias=True), nn.Tanh()]
        self.net = LabelSequential(*modules)
        self.finish(dcgan_init, spectral_norm)

    def synthesize(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.base_channels, BASE_RESOLUTION, BASE_RESOLUTION)
        return self.net(x, y)


@DISCRIMINATORS.register("dcgan")
class DCGANDiscriminator(Discriminator):
    """DCGAN discriminator: strided 4x4 convs with LeakyReLU down to 4x4, then a linear logit.

    Args:
        in_shape: ``(C, R, R)``, ``R`` in ``gankit.nn.resolution.SUPPORTED_RESOLUTIONS``.
        num_classes: ``K`` (0 = unconditional).
        width: channels after the first conv (``R/2``); deeper maps have up to ``8 * width``.
        norm: ``"batch"``, ``"layer"``, ``"instance"`` or ``"none"`` (not on the first conv). WGAN-GP
            asks for a norm that does not mix samples: ``layer`` or ``none``.
        slope: LeakyReLU negative slope.
        dropout: dropout probability after each activation.
        conditioning: ``"none"``, ``"concat"`` (one-hot maps appended to the image), ``"projection"``
            or ``"acgan"``.
        spectral_norm: spectrally normalise every conv/linear/embedding layer.
        minibatch_std: minibatch-std group size, applied to the 4x4 maps before the head; 0 = off.
        pack: PacGAN pack size; the output has ``N / pack`` logits.
        attention: side of the feature maps (R/2 .. 4) followed by a SAGAN self-attention block; 0 = none.

    ``forward(x [N, C, R, R], y [N] | None)`` returns logits ``[N / pack]`` (AC-GAN: a dict).
    """

    def __init__(self, in_shape: Sequence[int], num_classes: int, width: int = 64, norm: str = "batch",
                 slope: float = 0.2, dropout: float = 0.0, conditioning: str = "none",
                 spectral_norm: bool = False, minibatch_std: int = 0, pack: int = 1, attention: int = 0):
        super().__init__(in_shape, num_classes, conditioning, pack, minibatch_std, flat_input=False)
        s = self.setting
        resolution = image_resolution(self.in_shape, "dcgan", "model.d.name")
        width = integer(width, f"{s}.width", 1)
        choice(norm, NORMS_2D, f"{s}.norm")
        slope = number(slope, f"{s}.slope", 0.0, 1.0)
        dropout = number(dropout, f"{s}.dropout", 0.0, 1.0, high_inclusive=False)
        attention = check_attention(attention, _sizes(BASE_RESOLUTION, resolution // 2), f"{s}.attention")
        modules: List[nn.Module] = []
        cin, size = self.trunk_shape[0], resolution
        while size > BASE_RESOLUTION:
            first = size == resolution
            cout = channels(width, resolution, size // 2)
            block_norm = "none" if first else norm  # DCGAN: no norm on the input layer of D
            modules.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not absorbs_bias(block_norm)))
            modules += _norm(block_norm, cout, 0) + [nn.LeakyReLU(slope)]
            if dropout:
                modules.append(nn.Dropout(dropout))
            cin, size = cout, size // 2
            modules += _attention(attention, size, cin)
        modules += self.minibatch_std_layers()
        cin += self.minibatch_std_channels
        modules.append(nn.Flatten())
        self.trunk = nn.Sequential(*modules)
        # A linear layer on the flattened 4x4 maps is the paper's final 4x4 conv to one logit.
        self.add_head(cin * BASE_RESOLUTION ** 2)
        self.finish(dcgan_init, spectral_norm)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)
