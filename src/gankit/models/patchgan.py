"""PatchGAN discriminator (Isola et al. 2017, pix2pix; used by CycleGAN, Zhu et al. 2017).

A fully convolutional D that classifies every ``receptive_field x receptive_field`` patch of the
image as real or fake, returning a map of logits instead of one. It is the reference
``NLayerDiscriminator`` (junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``): 4x4 convs
with padding 1, stride 2 for the first ``n_layers`` and stride 1 for the last two, LeakyReLU(0.2)
after every conv but the last, a norm after every conv but the first and the last, and channels
``width * min(2^i, 8)``. ``n_layers=3`` is the paper's "70x70 PatchGAN" (C64-C128-C256-C512 at
``width=64``).

Receptive field (pixels one logit sees, ``9 * 2^n - 2``) and output map side per image side
(``floor(R / 2^n) - 2``; "-" = refused, the map would be empty):

=========  ===========  ====  ====  ====  =====  =====
n_layers   receptive     16    32    64   128    256
=========  ===========  ====  ====  ====  =====  =====
1           16            6    14    30    62    126
2           34            2     6    14    30     62
3           70            -     2     6    14     30
=========  ===========  ====  ====  ====  =====  =====

Where the receptive field exceeds the image (70 at 32 or 64 px, 34 at 16 or 32 px) each logit sees
the whole image plus zero padding and the "patch" view is lost: at small resolutions choose
``n_layers`` so that the window is a fraction of the image (pix2pix's 70 px at 256 px is about a
quarter of the side).

pix2pix's conditional D judges (source, target) pairs: build it with ``in_shape`` holding the
concatenated channels ``(C_source + C_target, R, R)``; that conditioning is the objective's job.
Class labels are not supported (``model.conditional`` must be false).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from torch import nn

from gankit.models import DISCRIMINATORS
from gankit.nn.init import dcgan_init
from gankit.nn.norm import NORMS_2D, Norm, absorbs_bias
from gankit.nn.options import choice, flag, integer
from gankit.nn.spectral_norm import apply_spectral_norm
from gankit.registry import ConfigError

#: Channel multiplier cap: the deepest maps have at most ``8 * width`` channels (the reference's).
MAX_MULT = 8
#: LeakyReLU negative slope of the reference.
SLOPE = 0.2
_KERNEL, _PAD = 4, 1
_SETTING = "model.d.args"


def receptive_field(n_layers: int) -> int:
    """Side in pixels of the input window that one output logit depends on.

    Args:
        n_layers: number of stride-2 convs (``model.d.args.n_layers``), ``>= 1``.

    Returns:
        ``9 * 2^n_layers - 2``: 16, 34, 70 for ``n_layers`` 1, 2, 3.
    """
    n_layers = integer(n_layers, f"{_SETTING}.n_layers", 1)
    # Walking back from one logit: each 4x4 conv of stride s turns a window r into s*(r - 1) + 4;
    # two stride-1 convs give 7, then each stride-2 conv r -> 2r + 2.
    field = 1
    for stride in [1, 1] + [2] * n_layers:
        field = stride * (field - 1) + _KERNEL
    return field


def patch_map_size(resolution: int, n_layers: int) -> int:
    """Side of the logit map for ``resolution x resolution`` inputs (``<= 0`` means none).

    Args:
        resolution: image side ``R``.
        n_layers: number of stride-2 convs, ``>= 1``.

    Returns:
        ``floor(R / 2^n_layers) - 2`` (30 for ``R=256, n_layers=3``).
    """
    size = integer(resolution, "data.resolution", 1)
    for stride in [2] * integer(n_layers, f"{_SETTING}.n_layers", 1) + [1, 1]:
        size = (size + 2 * _PAD - _KERNEL) // stride + 1
    return size


def _check_input(in_shape: Sequence[int], n_layers: int) -> int:
    """Check that ``in_shape`` is a square image that leaves a non-empty map; return its side."""
    shape = tuple(in_shape)
    if len(shape) != 3:
        raise ConfigError(
            f"model.d.name=patchgan needs image data of shape (C, H, W), but the data have shape {shape}; "
            f"use the mlp family for vector data"
        )
    _, height, width = shape
    if height != width:
        raise ConfigError(f"patchgan needs square images, got {height}x{width}: set data.resolution to one size")
    if patch_map_size(height, n_layers) < 1:
        smallest = 3 * 2 ** n_layers  # the side whose last stride-2 conv leaves a 3x3 map
        fits = [n for n in range(1, n_layers) if patch_map_size(height, n) >= 1]
        fix = f"set data.resolution >= {smallest}"
        if fits:
            fix = f"use {_SETTING}.n_layers={fits[-1]} (receptive field {receptive_field(fits[-1])}) or {fix}"
        raise ConfigError(
            f"patchgan with {_SETTING}.n_layers={n_layers} needs images of at least {smallest}x{smallest}, "
            f"but data.resolution={height} would leave no output logits; {fix}"
        )
    return int(height)


@DISCRIMINATORS.register("patchgan")
class PatchGANDiscriminator(nn.Module):
    """PatchGAN D (pix2pix / CycleGAN): a map of logits, one per ``receptive_field``-px patch.

    Args:
        in_shape: ``(C, R, R)`` with ``R >= 3 * 2^n_layers`` (any side, not only powers of two).
        num_classes: must be 0: class-conditional PatchGAN is not supported.
        width: channels after the first conv; layer ``i`` has ``width * min(2^i, 8)``.
        n_layers: stride-2 convs; 3 = the 70x70 PatchGAN, 1 = a 16x16 "PixelGAN"-like local D.
        norm: ``"instance"`` (CycleGAN), ``"batch"`` (pix2pix), ``"layer"`` or ``"none"``; never on
            the first or the last conv.
        spectral_norm: spectrally normalise every conv.

    ``forward(x [N, C, R, R], y=None)`` returns raw logits ``[N, h, h]``, ``h = patch_map_size(R,
    n_layers)``; ``y`` is ignored (the model is unconditional).
    """

    def __init__(self, in_shape: Sequence[int], num_classes: int, width: int = 64, n_layers: int = 3,
                 norm: str = "instance", spectral_norm: bool = False):
        super().__init__()
        if num_classes:
            raise ConfigError(
                f"patchgan is unconditional, but model.conditional=true gives it {num_classes} classes; set "
                f"model.conditional=false (pix2pix conditions D on the source image through its input "
                f"channels, not on labels) or choose model.d.name=dcgan or resnet for class conditioning"
            )
        width = integer(width, f"{_SETTING}.width", 1)
        self.n_layers = integer(n_layers, f"{_SETTING}.n_layers", 1)
        choice(norm, NORMS_2D, f"{_SETTING}.norm")
        resolution = _check_input(in_shape, self.n_layers)
        self.in_shape = tuple(int(s) for s in in_shape)
        self.num_classes = 0
        #: Pixels one logit sees, and the side of the logit map.
        self.receptive_field = receptive_field(self.n_layers)
        self.map_size = patch_map_size(resolution, self.n_layers)

        def conv(cin: int, cout: int, stride: int, layer_norm: str) -> List[nn.Module]:
            layers: List[nn.Module] = [nn.Conv2d(cin, cout, _KERNEL, stride, _PAD, bias=not absorbs_bias(layer_norm))]
            if layer_norm != "none":
                layers.append(Norm(layer_norm, cout))
            return layers + [nn.LeakyReLU(SLOPE)]

        mults = [min(2 ** i, MAX_MULT) for i in range(self.n_layers + 1)]
        # The first conv has no norm, as in DCGAN's D: normalising the input layer hurts.
        modules = conv(self.in_shape[0], width, 2, "none")
        for prev, mult in zip(mults[:-2], mults[1:-1]):
            modules += conv(width * prev, width * mult, 2, norm)
        modules += conv(width * mults[-2], width * mults[-1], 1, norm)
        modules.append(nn.Conv2d(width * mults[-1], 1, _KERNEL, 1, _PAD))
        self.net = nn.Sequential(*modules)
        dcgan_init(self)  # the reference's init_type="normal", gain 0.02
        # After init: the spectral-norm parametrisation wraps the initialised weights.
        if flag(spectral_norm, f"{_SETTING}.spectral_norm"):
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args: x ``[N, C, R, R]``; y ignored. Returns: logits ``[N, h, h]`` (no sigmoid)."""
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"PatchGANDiscriminator expects x of shape [N, {', '.join(map(str, self.in_shape))}], "
                             f"got {tuple(x.shape)}")
        out = self.net(x).squeeze(1)
        assert out.shape == (x.shape[0], self.map_size, self.map_size), (
            f"PatchGANDiscriminator produced {tuple(out.shape)}, expected {(x.shape[0], self.map_size, self.map_size)}")
        return out
