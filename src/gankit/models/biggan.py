"""BigGAN generator and discriminator (Brock et al. 2019, "Large Scale GAN Training for High
Fidelity Natural Image Synthesis"), for any supported resolution.

G: z is split into one chunk per up-block plus one (the *hierarchical* latent, ``hier=true``): the
first chunk goes through a linear layer to a 4x4 map, and every residual up-block
(SNGAN's BN-ReLU-up-conv3-BN-ReLU-conv3 plus an upsampled 1x1-conv shortcut) modulates its batch norms by
``c = [shared(y), z_chunk]`` (:class:`~gankit.nn.norm.ModulatedBatchNorm`): one class embedding
``shared`` for all blocks, so the class costs one table instead of one per norm. Then BN, ReLU,
conv3, tanh. D: residual down-blocks (pre-activation, the first without) to a projection head
after ReLU and global sum pooling. Self-attention (:mod:`gankit.nn.attention`) follows the block
whose maps have side ``attention`` (BigGAN: 64 at 128 px; its CIFAR runs use none). Spectral norm
in both (the shared embedding excepted); weights N(0, 0.02) as in BigGAN-PyTorch's CIFAR scripts
(``--G_init N02 --D_init N02``).

Widths (``width`` is BigGAN's ``ch``): at 16 and 32 px every block has ``4 * width`` channels (the
CIFAR network: 256 with ``ch = 64``), D downsamples to 8x8 and keeps two blocks there. From 64 px
G's maps of side ``s`` have ``width * min(16, R / s)`` channels (16 ch at 4x4 down to ch at the
image; at 128 px that is BigGAN's plan, at 64 px one halving narrower) and D's ``width * min(16,
R / 2s)`` down to 4x4 plus one block at 4x4 with up to 16 ch.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.models.resnet import SNGANDownBlock, SNGANUpBlock, down_trunk
from gankit.nn.attention import SelfAttention, check_attention
from gankit.nn.base import Discriminator, Generator
from gankit.nn.init import dcgan_init
from gankit.nn.norm import ModulatedBatchNorm
from gankit.nn.options import choice, flag, integer
from gankit.nn.resolution import BASE_RESOLUTION, image_resolution, num_doublings
from gankit.registry import ConfigError

#: Up to this side the CIFAR plan (constant 4 * width); above it, the ImageNet plan.
CIFAR_MAX = 32
#: Channel multiplier cap of the ImageNet plan (16 * ch).
MAX_MULT = 16


def _default_conditioning(conditioning: Optional[str], num_classes: int) -> str:
    """BigGAN is class-conditional through projection (G: conditional BN, D: projection head)."""
    return conditioning if conditioning is not None else ("projection" if num_classes else "none")


def g_channels(width: int, resolution: int, size: int) -> int:
    """Channels of G's maps of side ``size`` (see the module docstring)."""
    if resolution <= CIFAR_MAX:
        return 4 * width
    return width * max(1, min(MAX_MULT, resolution // size))


@GENERATORS.register("biggan")
class BigGANGenerator(Generator):
    """BigGAN generator: hierarchical z, shared class embedding, conditional-BN residual up-blocks.

    Args:
        z_dim: latent size (BigGAN: 120 at 128 px, 128 in the CIFAR scripts); split into
            ``blocks + 1`` chunks with ``hier`` (sizes differ by at most one).
        out_shape: ``(C, R, R)``, ``R`` in ``gankit.nn.resolution.SUPPORTED_RESOLUTIONS``.
        num_classes: ``K`` (0 = unconditional: the norms read z chunks only).
        width: BigGAN's ``ch`` (64 in its CIFAR scripts).
        shared_dim: size of the shared class embedding (BigGAN: 128).
        hier: hierarchical latent (a z chunk into every block); false = all of z into the first layer.
        attention: side of the maps (8 .. R) after whose block self-attention sits; 0 = none.
        conditioning: ``"projection"`` (default when conditional) or ``"none"``.
        spectral_norm: spectral norm on every conv and linear layer (BigGAN: on).

    ``forward(z [N, z_dim], y [N] | None)`` returns images ``[N, C, R, R]`` in [-1, 1].
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], num_classes: int, width: int = 64,
                 shared_dim: int = 128, hier: bool = True, attention: int = 0, conditioning: Optional[str] = None,
                 spectral_norm: bool = True):
        conditioning = _default_conditioning(conditioning, num_classes)
        super().__init__(z_dim, out_shape, num_classes, conditioning, 0)
        s = self.setting
        choice(conditioning, ("none", "projection"), f"{s}.conditioning")
        resolution = image_resolution(self.out_shape, "biggan", "model.g.name")
        width = integer(width, f"{s}.width", 1)
        self.hier = flag(hier, f"{s}.hier")
        shared_dim = integer(shared_dim, f"{s}.shared_dim", 1) if self.num_classes else 0
        steps = num_doublings(resolution)
        sizes = [BASE_RESOLUTION << (i + 1) for i in range(steps)]
        attention = check_attention(attention, sizes, f"{s}.attention")
        chunks = steps + 1 if self.hier else 1
        if self.z_dim < chunks:
            raise ConfigError(f"model.z_dim={self.z_dim} is too small to give each of the {chunks} chunks of "
                              f"BigGAN's hierarchical latent one value; set model.z_dim>={chunks} or {s}.hier=false")
        #: Sizes of z's chunks: the first feeds the linear layer, one per block after it.
        self.chunks = [len(c) for c in torch.arange(self.z_dim).tensor_split(chunks)]
        if self.num_classes:  # a plain table: no spectral norm on it, as in BigGAN
            self.shared = nn.Parameter(torch.randn(self.num_classes, shared_dim) * 0.02)
        self.base_channels = g_channels(width, resolution, BASE_RESOLUTION)
        self.project = nn.Linear(self.chunks[0], self.base_channels * BASE_RESOLUTION ** 2)
        blocks, cin = [], self.base_channels
        for i, size in enumerate(sizes):
            cond = shared_dim + (self.chunks[i + 1] if self.hier else 0)
            cout = g_channels(width, resolution, size)
            modulated = (lambda c: lambda ch: ModulatedBatchNorm(ch, c))(cond)
            blocks.append(SNGANUpBlock(cin, cout, "batch", make_norm=modulated))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.attention_after = sizes.index(attention) if attention else -1
        self.attention = SelfAttention(g_channels(width, resolution, attention)) if attention else None
        self.out_norm = nn.BatchNorm2d(cin)
        self.out_conv = nn.Conv2d(cin, self.out_shape[0], 3, padding=1)
        self.finish(dcgan_init, spectral_norm)

    def synthesize(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        parts = list(z.split(self.chunks, dim=1))
        x = self.project(parts[0]).view(z.shape[0], self.base_channels, BASE_RESOLUTION, BASE_RESOLUTION)
        label = F.embedding(y, self.shared) if self.num_classes else None
        for i, blk in enumerate(self.blocks):
            pieces = ([label] if label is not None else []) + ([parts[i + 1]] if self.hier else [])
            x = blk(x, torch.cat(pieces, dim=1) if pieces else None)
            if i == self.attention_after:
                x = self.attention(x)
        return torch.tanh(self.out_conv(F.relu(self.out_norm(x))))


def d_plan(width: int, resolution: int) -> List[tuple]:
    """``[(cout, down), ...]`` for D's blocks (see the module docstring)."""
    if resolution <= CIFAR_MAX:
        downs = num_doublings(resolution) - 1  # to 8x8, then two blocks there
        return [(4 * width, True)] * downs + [(4 * width, False)] * 2
    downs = num_doublings(resolution)  # to 4x4, then one block there
    plan = [(width * max(1, min(MAX_MULT, resolution // (2 * (resolution >> (i + 1))))), True) for i in range(downs)]
    return plan + [(min(MAX_MULT * width, 2 * plan[-1][0]), False)]


@DISCRIMINATORS.register("biggan")
class BigGANDiscriminator(Discriminator):
    """BigGAN discriminator: residual down-blocks, ReLU, global sum pooling, projection head.

    Args:
        in_shape: ``(C, R, R)``, ``R`` in ``gankit.nn.resolution.SUPPORTED_RESOLUTIONS``.
        num_classes: ``K`` (0 = unconditional).
        width: BigGAN's ``ch`` (64 in its CIFAR scripts).
        attention: side of the maps after whose block self-attention sits; 0 = none.
        conditioning: ``"projection"`` (default when conditional), ``"none"``, ``"concat"`` or ``"acgan"``.
        spectral_norm: on every conv, linear and embedding (BigGAN: on).
        minibatch_std: minibatch-std group size before the last block; 0 = off.

    ``forward(x [N, C, R, R], y [N] | None)`` returns logits ``[N]``.
    """

    def __init__(self, in_shape: Sequence[int], num_classes: int, width: int = 64, attention: int = 0,
                 conditioning: Optional[str] = None, spectral_norm: bool = True, minibatch_std: int = 0):
        super().__init__(in_shape, num_classes, _default_conditioning(conditioning, num_classes), 1, minibatch_std,
                         flat_input=False)
        s = self.setting
        resolution = image_resolution(self.in_shape, "biggan", "model.d.name")
        width = integer(width, f"{s}.width", 1)
        plan = d_plan(width, resolution)
        sides = [resolution >> (i + 1) for i, (_, down) in enumerate(plan) if down]
        attention = check_attention(attention, sides, f"{s}.attention")
        self.blocks, features = down_trunk(
            self, plan, lambda i, cin, cout, down: SNGANDownBlock(cin, cout, down, optimized=i == 0, norm="none"),
            attention, resolution)
        self.add_head(features)
        self.finish(dcgan_init, spectral_norm)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))
