"""Residual generator and discriminator (SNGAN: Miyato et al. 2018, Appendix B), any supported
resolution.

G: z -> linear to a ``width x 4 x 4`` map -> ``log2(R/4)`` residual up-blocks -> norm, ReLU,
3x3 conv, tanh. D: residual down-blocks to 8x8 (the first one "optimised", without pre-activation),
two more blocks at 8x8, ReLU, global sum pooling, linear. At 32x32 this is the paper's CIFAR-10
network; every block keeps ``width`` channels.

Paper widths: G 256, D 128 (CIFAR-10, with spectral norm in D: ``model.d.args.spectral_norm=true``).
The defaults here (128 / 128) are smaller for CPU training.

``block="sngan"`` is the pre-activation block above (norm-ReLU-up-conv-norm-ReLU-conv plus an
upsampled 1x1-conv shortcut in G; ReLU-conv-ReLU-conv-avgpool plus 1x1-conv shortcut in D).
``block="plain"`` is the textbook residual block (He et al. 2016): conv-norm-ReLU-conv-norm plus an
identity skip, ReLU after the sum; G upsamples (nearest) before each block and D average-pools after.

Weights: Xavier-uniform, gain sqrt(2) for the convs inside residual branches and 1 elsewhere, as in
the authors' Chainer code.
"""

from __future__ import annotations

import math
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.nn.attention import SelfAttention, check_attention
from gankit.nn.base import Discriminator, Generator
from gankit.nn.init import xavier_init
from gankit.nn.norm import NORMS_2D, Norm, absorbs_bias
from gankit.nn.options import choice, integer
from gankit.nn.resolution import BASE_RESOLUTION, image_resolution, num_doublings

BLOCKS = ("sngan", "plain")
#: Residual blocks D keeps at 8x8 after downsampling (SNGAN CIFAR-10 D has two).
D_BLOCKS_AT_8 = 2


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class _ResidualBlock(nn.Module):
    """A residual block; ``residual_convs`` lists the convs of its residual branch (for init)."""

    def residual_convs(self) -> Tuple[nn.Module, ...]:
        return (self.conv1, self.conv2)


class SNGANUpBlock(_ResidualBlock):
    """SNGAN G block ``[N, cin, s, s] -> [N, cout, 2s, 2s]``: norm-ReLU-up-conv3-norm-ReLU-conv3
    plus up-conv1 shortcut. Norms are conditional when ``norm_classes > 0``; ``make_norm(channels)``
    replaces them by other ``norm(x, y)`` layers (BigGAN's modulated batch norm reads a vector as ``y``)."""

    def __init__(self, cin: int, cout: int, norm: str, norm_classes: int = 0,
                 make_norm: Optional[Callable[[int], nn.Module]] = None):
        super().__init__()
        make_norm = make_norm or (lambda ch: Norm(norm, ch, norm_classes))
        self.norm1 = make_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = make_norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        h = self.conv1(_up(F.relu(self.norm1(x, y))))
        h = self.conv2(F.relu(self.norm2(h, y)))
        return h + self.shortcut(_up(x))


class PlainUpBlock(_ResidualBlock):
    """Textbook residual block after a nearest upsample, ``[N, ch, s, s] -> [N, ch, 2s, 2s]``:
    ``relu(u + norm(conv(relu(norm(conv(u))))))`` with ``u = up(x)``."""

    def __init__(self, ch: int, norm: str, norm_classes: int):
        super().__init__()
        bias = not absorbs_bias(norm)
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=bias)
        self.norm1 = Norm(norm, ch, norm_classes)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=bias)
        self.norm2 = Norm(norm, ch, norm_classes)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        x = _up(x)
        h = F.relu(self.norm1(self.conv1(x), y))
        return F.relu(x + self.norm2(self.conv2(h), y))


class SNGANDownBlock(_ResidualBlock):
    """SNGAN D block ``[N, cin, s, s] -> [N, cout, s/2 or s, ...]``: (norm-)ReLU-conv3-(norm-)ReLU-
    conv3, average-pooled when ``down``, plus a shortcut (1x1 conv when the shape changes).
    ``optimized`` (the first block) skips the leading activation, which would only clip the image,
    and pools before its 1x1 shortcut conv."""

    def __init__(self, cin: int, cout: int, down: bool, optimized: bool, norm: str):
        super().__init__()
        self.down, self.optimized = down, optimized
        self.norm1 = Norm("none" if optimized else norm, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = Norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.optimized else F.relu(self.norm1(x))
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.optimized:
            return h + self.shortcut(F.avg_pool2d(x, 2))
        skip = x if self.shortcut is None else self.shortcut(x)
        return h + (F.avg_pool2d(skip, 2) if self.down else skip)


class PlainDownBlock(_ResidualBlock):
    """Textbook residual block ``relu(s(x) + norm(conv(relu(norm(conv(x))))))``, average-pooled when
    ``down``; ``s`` is the identity, or a 1x1 conv when the channel count changes."""

    def __init__(self, cin: int, cout: int, down: bool, norm: str):
        super().__init__()
        self.down = down
        bias = not absorbs_bias(norm)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=bias)
        self.norm1 = Norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=bias)
        self.norm2 = Norm(norm, cout)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x)))
        skip = x if self.shortcut is None else self.shortcut(x)
        out = F.relu(skip + self.norm2(self.conv2(h)))
        return F.avg_pool2d(out, 2) if self.down else out


def down_trunk(disc: Discriminator, plan: List[Tuple[int, bool]], make_block: Callable, attention: int,
               resolution: int) -> Tuple[nn.Sequential, int]:
    """A residual discriminator's trunk: one block per ``(cout, down)`` of ``plan`` from
    ``make_block(index, cin, cout, down)``, the minibatch-std layer (when enabled) before the last
    block, and self-attention after the first block whose output has side ``attention`` (0 = none).

    Returns:
        ``(blocks, channels of the last block)``.
    """
    blocks: List[nn.Module] = []
    cin, size = disc.trunk_shape[0], resolution
    for i, (cout, down) in enumerate(plan):
        if i == len(plan) - 1:
            blocks += disc.minibatch_std_layers()
            cin += disc.minibatch_std_channels
        blocks.append(make_block(i, cin, cout, down))
        cin = cout
        if down:
            size //= 2
            if size == attention:
                blocks.append(SelfAttention(cout))
    return nn.Sequential(*blocks), cin


def _init_resnet(module: nn.Module) -> None:
    """Xavier-uniform everywhere, gain sqrt(2) inside residual branches (SNGAN's Chainer code)."""
    xavier_init(module, gain=1.0)
    for block in module.modules():
        if isinstance(block, _ResidualBlock):
            for conv in block.residual_convs():
                xavier_init(conv, gain=math.sqrt(2.0))


@GENERATORS.register("resnet")
class ResNetGenerator(Generator):
    """Residual generator (SNGAN): linear to 4x4, residual up-blocks, norm-ReLU-conv-tanh.

    Args:
        z_dim: latent size (SNGAN: 128).
        out_shape: ``(C, R, R)``, ``R`` in ``gankit.nn.resolution.SUPPORTED_RESOLUTIONS``.
        num_classes: ``K`` (0 = unconditional).
        width: channels of every block (SNGAN CIFAR-10: 256).
        norm: ``"batch"``, ``"layer"``, ``"instance"`` or ``"none"``.
        block: ``"sngan"`` (pre-activation, 1x1 shortcut) or ``"plain"`` (textbook residual block).
        conditioning: ``"none"``, ``"concat"``, ``"projection"`` (conditional batch norm, as in the
            projection-discriminator paper) or ``"acgan"``.
        embed_dim: label embedding size for concat/acgan; 0 = one-hot.
        spectral_norm: spectrally normalise every conv/linear layer (SNGAN: off in G).
        attention: side of the maps (8 .. R) after whose up-block a SAGAN self-attention block sits;
            0 = none.

    ``forward(z [N, z_dim], y [N] | None)`` returns images ``[N, C, R, R]`` in [-1, 1].
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], num_classes: int, width: int = 128,
                 norm: str = "batch", block: str = "sngan", conditioning: str = "none", embed_dim: int = 0,
                 spectral_norm: bool = False, attention: int = 0):
        super().__init__(z_dim, out_shape, num_classes, conditioning, embed_dim)
        s = self.setting
        resolution = image_resolution(self.out_shape, "resnet", "model.g.name")
        self.width = integer(width, f"{s}.width", 1)
        choice(norm, NORMS_2D, f"{s}.norm")
        choice(block, BLOCKS, f"{s}.block")
        self.check_norm_for_projection(norm)
        self.block = block
        steps = num_doublings(resolution)
        sizes = [BASE_RESOLUTION << (i + 1) for i in range(steps)]  # side after each up-block
        attention = check_attention(attention, sizes, f"{s}.attention")
        #: Index of the up-block followed by self-attention (-1: none).
        self.attention_after = sizes.index(attention) if attention else -1
        self.attention = SelfAttention(self.width) if attention else None
        self.project = nn.Linear(self.input_dim, self.width * BASE_RESOLUTION ** 2)
        k = self.norm_classes
        if block == "sngan":
            self.blocks = nn.ModuleList(SNGANUpBlock(self.width, self.width, norm, k) for _ in range(steps))
            # Plain blocks end in a ReLU already; SNGAN blocks end in a conv and need norm-ReLU.
            self.out_norm = Norm(norm, self.width, k)
        else:
            self.blocks = nn.ModuleList(PlainUpBlock(self.width, norm, k) for _ in range(steps))
        self.out_conv = nn.Conv2d(self.width, self.out_shape[0], 3, padding=1)
        self.finish(_init_resnet, spectral_norm)

    def synthesize(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.width, BASE_RESOLUTION, BASE_RESOLUTION)
        for i, blk in enumerate(self.blocks):
            x = blk(x, y)
            if i == self.attention_after:
                x = self.attention(x)
        if self.block == "sngan":
            x = F.relu(self.out_norm(x, y))
        return torch.tanh(self.out_conv(x))


@DISCRIMINATORS.register("resnet")
class ResNetDiscriminator(Discriminator):
    """Residual discriminator (SNGAN): down-blocks to 8x8, two blocks at 8x8, ReLU, sum pool, linear.

    Args:
        in_shape: ``(C, R, R)``, ``R`` in ``gankit.nn.resolution.SUPPORTED_RESOLUTIONS``.
        num_classes: ``K`` (0 = unconditional).
        width: channels of every block (SNGAN CIFAR-10: 128).
        norm: ``"batch"``, ``"layer"``, ``"instance"`` or ``"none"``; None = the block's textbook
            choice (``none`` for sngan, ``batch`` for plain).
        block: ``"sngan"`` or ``"plain"``.
        conditioning: ``"none"``, ``"concat"``, ``"projection"`` (the projection discriminator) or
            ``"acgan"``.
        spectral_norm: spectrally normalise every conv/linear/embedding layer (SNGAN: on).
        minibatch_std: minibatch-std group size, applied before the last block; 0 = off.
        pack: PacGAN pack size; the output has ``N / pack`` logits.
        attention: side of the maps (R/2 .. 8) after whose first block a SAGAN self-attention block
            sits; 0 = none.

    ``forward(x [N, C, R, R], y [N] | None)`` returns logits ``[N / pack]`` (AC-GAN: a dict).
    """

    def __init__(self, in_shape: Sequence[int], num_classes: int, width: int = 128, norm: Optional[str] = None,
                 block: str = "sngan", conditioning: str = "none", spectral_norm: bool = False,
                 minibatch_std: int = 0, pack: int = 1, attention: int = 0):
        super().__init__(in_shape, num_classes, conditioning, pack, minibatch_std, flat_input=False)
        s = self.setting
        resolution = image_resolution(self.in_shape, "resnet", "model.d.name")
        width = integer(width, f"{s}.width", 1)
        choice(block, BLOCKS, f"{s}.block")
        if norm is None:
            norm = "none" if block == "sngan" else "batch"
        choice(norm, NORMS_2D, f"{s}.norm")
        self.block = block
        downs = num_doublings(resolution) - 1  # down to 8x8
        plan = [True] * downs + [False] * D_BLOCKS_AT_8
        attention = check_attention(attention, [resolution >> (i + 1) for i in range(downs)], f"{s}.attention")
        if block == "sngan":
            def make(i, cin, cout, down):
                return SNGANDownBlock(cin, cout, down, optimized=i == 0, norm=norm)
        else:
            def make(i, cin, cout, down):
                return PlainDownBlock(cin, cout, down, norm)
        self.blocks, features = down_trunk(self, [(width, down) for down in plan], make, attention, resolution)
        self.add_head(features)
        self.finish(_init_resnet, spectral_norm)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x)
        if self.block == "sngan":
            h = F.relu(h)  # plain blocks end in a ReLU already
        return h.sum(dim=(2, 3))  # global sum pooling, as in SNGAN
