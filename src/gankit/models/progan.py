"""Progressive growing of GANs (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation"): a G and a D that start at 4x4 and grow to the image size.

Both networks hold every level from the start; a *stage* ``(level, alpha)`` says how much of them
is in use. Level ``k`` works at side ``4 * 2**k`` (level ``L = log2(R / 4)`` is the image size). While
level ``k`` fades in (``0 <= alpha < 1``) its new block is blended with the previous level's path:

* G: ``rgb = lerp(up2(to_rgb[k-1](h[k-1])), to_rgb[k](block[k](h[k-1])), alpha)``, then tanh;
* D: ``h = lerp(from_rgb[k-1](avgpool2(x_k)), block[k](from_rgb[k](x_k)), alpha)``.

At ``alpha = 0`` the output is exactly the previous level's, at ``alpha = 1`` exactly the new
block's. The stage is set from outside (:meth:`Growing.set_stage`; the ``progan`` objective does it
from the step, so it is a pure function of the step) and is saved with the weights, so a loaded
checkpoint samples at the stage it was trained at.

So that sampling, metrics, grids and the model contract keep working at every stage, G always
returns ``[N, C, R, R]``: the current level's image nearest-upsampled (the grids show the current
level, enlarged). D takes ``[N, C, R, R]`` and reads the current level's pixels (every ``R / side``-th
pixel), which is exact for G's nearest-upsampled output and for the real images that the
``progan`` objective has downsampled and faded the same way; its gradient norms are those of the
level's own pixels, as the gradient penalty of the paper sees them. Fed a full-resolution image
it would alias, so train these networks with ``objective.name=progan``.

Layers: equalised learning rate everywhere (:mod:`gankit.nn.equalized`), pixel norm after every
conv of G (:mod:`gankit.nn.pixel_norm`), leaky ReLU 0.2, minibatch standard deviation before D's
last conv (``minibatch_std=4``, the paper's group size). G's output is tanh (the model contract's
[-1, 1]; the paper's is linear). Channels follow the dcgan family: ``width`` next to the image,
doubling per halving up to ``8 * width`` (the paper: 512 at 4x4 to 32x32, then halving).
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.models.dcgan import channels
from gankit.nn.base import Discriminator, Generator
from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear
from gankit.nn.options import integer
from gankit.nn.pixel_norm import PixelNorm
from gankit.nn.resolution import BASE_RESOLUTION, SUPPORTED_RESOLUTIONS, image_resolution, num_doublings
from gankit.registry import ConfigError

SLOPE = 0.2
#: ProGAN grows from 4x4, so it also trains 4x4 and 8x8 images.
RESOLUTIONS = (4, 8, *SUPPORTED_RESOLUTIONS)


def level_side(level: int) -> int:
    """Side of the images of ``level`` (0 -> 4, 1 -> 8, ...)."""
    return BASE_RESOLUTION << level


def fade(old: torch.Tensor, new: torch.Tensor, alpha: float) -> torch.Tensor:
    """``old`` at ``alpha = 0``, ``new`` at ``alpha = 1`` (both exactly), linear in between."""
    if alpha >= 1.0:
        return new
    return torch.lerp(old, new, alpha)


def up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class Growing:
    """The stage of a growing network: ``level`` (0 = 4x4) and fade-in ``alpha``.

    Mixed into the ProGAN G and D. The stage lives in Python attributes (no host sync in the
    forward pass) mirrored in a float64 buffer ``stage`` (exact for Python floats), so it travels
    with ``state_dict`` into checkpoints, EMA copies and exports; loading a state dict restores it.
    """

    def init_stage(self, levels: int) -> None:
        self.levels = levels
        self.register_buffer("stage", torch.tensor([levels - 1, 1.0], dtype=torch.float64))
        self.level, self.alpha = levels - 1, 1.0  # the full network until a schedule says otherwise
        self.register_load_state_dict_post_hook(lambda module, _keys: module.sync_stage())

    def set_stage(self, level: int, alpha: float) -> None:
        """Use levels ``0..level``, the newest one faded in by ``alpha`` in [0, 1]."""
        if not (0 <= level < self.levels and 0.0 <= alpha <= 1.0):
            raise ValueError(f"stage (level {level}, alpha {alpha}) is outside levels 0..{self.levels - 1}, alpha 0..1")
        self.level, self.alpha = int(level), float(alpha)
        with torch.no_grad():
            self.stage.copy_(torch.tensor([self.level, self.alpha], dtype=torch.float64))

    def sync_stage(self) -> None:
        """Take the stage from the ``stage`` buffer (after it was loaded or copied)."""
        if self.stage.device.type == "meta":
            return
        level, alpha = self.stage.tolist()
        self.level, self.alpha = int(level), float(alpha)


def _g_block(cin: int, cout: int) -> nn.Sequential:
    """One G level above 4x4: ``[N, cin, s, s] -> [N, cout, 2s, 2s]`` (up, 2 x (conv3, lrelu, pixel norm))."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         EqualizedConv2d(cin, cout, 3), nn.LeakyReLU(SLOPE), PixelNorm(),
                         EqualizedConv2d(cout, cout, 3), nn.LeakyReLU(SLOPE), PixelNorm())


@GENERATORS.register("progan")
class ProGANGenerator(Growing, Generator):
    """ProGAN generator: pixel-normalised z -> 4x4 (dense + conv) -> one up-block per level, a to-RGB
    1x1 conv per level; the newest level is faded in (see the module docstring).

    Args:
        z_dim: latent size (the paper: 512).
        out_shape: ``(C, R, R)``, ``R`` a power of two from 4 to 256.
        num_classes: ``K`` (0 = unconditional).
        width: channels of the maps next to the image; deeper maps have up to ``8 * width``.
        conditioning: ``"none"``, ``"concat"`` or ``"acgan"`` (the label joins z; pixel norm
            normalises both, as in the paper's conditional runs).
        embed_dim: label embedding size for concat/acgan; 0 = one-hot.

    ``forward(z [N, z_dim], y [N] | None)`` returns ``[N, C, R, R]`` in [-1, 1] at the current stage.
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], num_classes: int, width: int = 32,
                 conditioning: str = "none", embed_dim: int = 0):
        super().__init__(z_dim, out_shape, num_classes, conditioning, embed_dim)
        s = self.setting
        self.resolution = image_resolution(self.out_shape, "progan", "model.g.name", RESOLUTIONS)
        if self.conditioning == "projection":
            raise ConfigError(f"{s}.conditioning=projection needs conditional norms, which ProGAN's G (pixel norm) "
                              "does not have; use concat")
        width = integer(width, f"{s}.width", 1)
        levels = num_doublings(self.resolution) + 1
        ch = [channels(width, self.resolution, level_side(k)) for k in range(levels)]
        self.base_channels = ch[0]
        # The paper's dense 4x4 layer has gain sqrt(2)/4 (its output is reshaped to 16 pixels).
        self.first = nn.Sequential(PixelNorm(), EqualizedLinear(self.input_dim, ch[0] * BASE_RESOLUTION ** 2,
                                                                 gain=math.sqrt(2) / 4))
        self.first_conv = nn.Sequential(nn.LeakyReLU(SLOPE), PixelNorm(), EqualizedConv2d(ch[0], ch[0], 3),
                                        nn.LeakyReLU(SLOPE), PixelNorm())
        self.blocks = nn.ModuleList(_g_block(ch[k - 1], ch[k]) for k in range(1, levels))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, self.out_shape[0], 1, gain=1.0) for c in ch)
        self.init_stage(levels)

    def synthesize(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        level, alpha = self.level, self.alpha
        h = self.first(z).view(z.shape[0], self.base_channels, BASE_RESOLUTION, BASE_RESOLUTION)
        h = self.first_conv(h)
        prev = h
        for k in range(1, level + 1):
            prev, h = h, self.blocks[k - 1](h)
        rgb = self.to_rgb[level](h)
        if level > 0 and alpha < 1.0:
            rgb = fade(up2(self.to_rgb[level - 1](prev)), rgb, alpha)
        rgb = torch.tanh(rgb)
        scale = self.resolution // level_side(level)
        return F.interpolate(rgb, scale_factor=scale, mode="nearest") if scale > 1 else rgb


def _d_block(cin: int, cout: int) -> nn.Sequential:
    """One D level above 4x4: ``[N, cin, s, s] -> [N, cout, s/2, s/2]`` (2 x (conv3, lrelu), avg pool)."""
    return nn.Sequential(EqualizedConv2d(cin, cin, 3), nn.LeakyReLU(SLOPE),
                         EqualizedConv2d(cin, cout, 3), nn.LeakyReLU(SLOPE), nn.AvgPool2d(2))


@DISCRIMINATORS.register("progan")
class ProGANDiscriminator(Growing, Discriminator):
    """ProGAN discriminator: a from-RGB 1x1 conv per level, one down-block per level, then at 4x4
    minibatch std, conv3, dense and the logit; the newest level is faded in (see the module docstring).

    Args:
        in_shape: ``(C, R, R)``, ``R`` a power of two from 4 to 256.
        num_classes: ``K`` (0 = unconditional).
        width: channels next to the image; deeper maps have up to ``8 * width``.
        conditioning: ``"none"``, ``"concat"``, ``"projection"`` or ``"acgan"`` (the paper's
            conditional runs used an auxiliary classifier).
        minibatch_std: minibatch-std group size (the paper: 4); 0 = off.
        pack: PacGAN pack size.

    ``forward(x [N, C, R, R], y [N] | None)`` returns logits ``[N / pack]`` at the current stage.
    """

    def __init__(self, in_shape: Sequence[int], num_classes: int, width: int = 32, conditioning: str = "none",
                 minibatch_std: int = 4, pack: int = 1):
        super().__init__(in_shape, num_classes, conditioning, pack, minibatch_std, flat_input=False)
        s = self.setting
        self.resolution = image_resolution(self.in_shape, "progan", "model.d.name", RESOLUTIONS)
        width = integer(width, f"{s}.width", 1)
        levels = num_doublings(self.resolution) + 1
        ch = [channels(width, self.resolution, level_side(k)) for k in range(levels)]
        self.from_rgb = nn.ModuleList(nn.Sequential(EqualizedConv2d(self.trunk_shape[0], c, 1), nn.LeakyReLU(SLOPE))
                                      for c in ch)
        self.blocks = nn.ModuleList(_d_block(ch[k], ch[k - 1]) for k in range(1, levels))
        last: List[nn.Module] = self.minibatch_std_layers()
        last += [EqualizedConv2d(ch[0] + self.minibatch_std_channels, ch[0], 3), nn.LeakyReLU(SLOPE), nn.Flatten(),
                 EqualizedLinear(ch[0] * BASE_RESOLUTION ** 2, ch[0]), nn.LeakyReLU(SLOPE)]
        self.last = nn.Sequential(*last)
        self.add_head(ch[0])
        self.init_stage(levels)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        level, alpha = self.level, self.alpha
        step = self.resolution // level_side(level)
        x = x[:, :, ::step, ::step] if step > 1 else x  # the level's pixels (see the module docstring)
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.blocks[level - 1](h)
            if alpha < 1.0:
                h = fade(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), h, alpha)
            for k in range(level - 1, 0, -1):
                h = self.blocks[k - 1](h)
        return self.last(h)
