"""Fully-connected generator and discriminator: the vanilla GAN (Goodfellow et al. 2014).

The defaults are a small, evenly wide network. The PyTorch-GAN ``gan.py`` recipe for MNIST is
``model.g.args.hidden=[128,256,512,1024]`` and ``model.d.args.hidden=[512,256]`` (LeakyReLU 0.2,
batch norm in G, none in D). Works for any data shape: images are flattened (D) and reshaped (G).
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Union

import torch
from torch import nn

from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.nn.base import Discriminator, Generator
from gankit.nn.norm import NORMS_1D, LabelSequential, Norm, absorbs_bias
from gankit.nn.options import choice, number, widths


def _hidden_layer(fan_in: int, width: int, norm: str, norm_classes: int, slope: float,
                  dropout: float) -> List[nn.Module]:
    """Linear -> [norm] -> LeakyReLU -> [dropout] on ``[N, fan_in]`` -> ``[N, width]``."""
    layers: List[nn.Module] = [nn.Linear(fan_in, width, bias=not absorbs_bias(norm))]
    if norm != "none":
        layers.append(Norm(norm, width, norm_classes, image=False))
    layers.append(nn.LeakyReLU(slope))
    if dropout:
        layers.append(nn.Dropout(dropout))
    return layers


@GENERATORS.register("mlp")
class MLPGenerator(Generator):
    """Fully-connected generator (vanilla GAN); tanh output for images, linear for vectors.

    Args:
        z_dim: latent size.
        out_shape: ``(C, H, W)`` images or ``(D,)`` vectors.
        num_classes: ``K`` (0 = unconditional).
        hidden: width of every hidden layer, or a list of widths (one per layer).
        layers: number of hidden layers when ``hidden`` is an int (default 3).
        norm: ``"batch"``, ``"layer"`` or ``"none"`` after each hidden linear layer.
        slope: negative slope of the LeakyReLU activations.
        conditioning: ``"none"``, ``"concat"``, ``"projection"`` (conditional norms) or ``"acgan"``.
        embed_dim: label embedding size for concat/acgan; 0 = one-hot.
        spectral_norm: spectrally normalise every linear layer.

    ``forward(z [N, z_dim], y [N] | None)`` returns ``[N, *out_shape]``.
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], num_classes: int,
                 hidden: Union[int, List[int]] = 256, layers: Optional[int] = None, norm: str = "batch",
                 slope: float = 0.2, conditioning: str = "none", embed_dim: int = 0,
                 spectral_norm: bool = False):
        super().__init__(z_dim, out_shape, num_classes, conditioning, embed_dim)
        sizes = widths(hidden, layers, self.setting)
        choice(norm, NORMS_1D, f"{self.setting}.norm")
        self.check_norm_for_projection(norm)
        slope = number(slope, f"{self.setting}.slope", 0.0, 1.0)
        modules: List[nn.Module] = []
        fan_in = self.input_dim
        for width in sizes:
            modules += _hidden_layer(fan_in, width, norm, self.norm_classes, slope, dropout=0.0)
            fan_in = width
        modules.append(nn.Linear(fan_in, math.prod(self.out_shape)))
        self.net = LabelSequential(*modules)
        self.image = len(self.out_shape) == 3
        self.finish(None, spectral_norm)

    def synthesize(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        x = self.net(z, y)
        if self.image:
            x = torch.tanh(x)  # images live in [-1, 1]; vectors keep natural units
        return x.view(z.shape[0], *self.out_shape)


@DISCRIMINATORS.register("mlp")
class MLPDiscriminator(Discriminator):
    """Fully-connected discriminator (vanilla GAN) on the flattened input.

    Args:
        in_shape: ``(C, H, W)`` or ``(D,)``.
        num_classes: ``K`` (0 = unconditional).
        hidden: width of every hidden layer, or a list of widths.
        layers: number of hidden layers when ``hidden`` is an int (default 3).
        norm: ``"batch"``, ``"layer"`` or ``"none"``.
        slope: negative slope of the LeakyReLU activations.
        dropout: dropout probability after each hidden activation (Goodfellow et al. used dropout in D).
        conditioning: ``"none"``, ``"concat"`` (one-hot appended to the input), ``"projection"`` or
            ``"acgan"``.
        spectral_norm: spectrally normalise every linear/embedding layer.
        minibatch_std: minibatch-std group size, applied before the last hidden layer; 0 = off.
        pack: PacGAN pack size; the output has ``N / pack`` logits.

    ``forward(x [N, *in_shape], y [N] | None)`` returns logits ``[N / pack]`` (AC-GAN: a dict).
    """

    def __init__(self, in_shape: Sequence[int], num_classes: int, hidden: Union[int, List[int]] = 256,
                 layers: Optional[int] = None, norm: str = "none", slope: float = 0.2, dropout: float = 0.0,
                 conditioning: str = "none", spectral_norm: bool = False, minibatch_std: int = 0,
                 pack: int = 1):
        super().__init__(in_shape, num_classes, conditioning, pack, minibatch_std, flat_input=True)
        sizes = widths(hidden, layers, self.setting)
        choice(norm, NORMS_1D, f"{self.setting}.norm")
        slope = number(slope, f"{self.setting}.slope", 0.0, 1.0)
        dropout = number(dropout, f"{self.setting}.dropout", 0.0, 1.0, high_inclusive=False)
        modules: List[nn.Module] = []
        fan_in = self.trunk_shape[0]
        for i, width in enumerate(sizes):
            if i == len(sizes) - 1:
                modules += self.minibatch_std_layers()
                fan_in += self.minibatch_std_channels
            modules += _hidden_layer(fan_in, width, norm, 0, slope, dropout)
            fan_in = width
        self.trunk = nn.Sequential(*modules)
        self.add_head(fan_in)
        self.finish(None, spectral_norm)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)
