"""Image-to-image generators (translators) for CycleGAN and pix2pix, any suitable resolution.

* ``"resnet"``: CycleGAN's ``ResnetGenerator`` (Johnson et al. 2016 as used by Zhu et al. 2017):
  reflection pad + 7x7 conv stem, two 3x3 stride-2 downsamplings (``width -> 2 width -> 4 width``),
  ``n_blocks`` residual blocks at a quarter of the resolution (9 for 256 px, 6 for 128 px and
  below, as in the paper), two 3x3 stride-2 transposed convs back up, reflection pad + 7x7 conv,
  tanh. Instance norm by default. Needs ``R`` divisible by 4.
* ``"unet"``: pix2pix's ``UnetGenerator`` (Isola et al. 2017): ``n_down`` 4x4 stride-2 convs
  (LeakyReLU 0.2) down to ``R / 2^n_down`` (1x1 by default), mirrored by 4x4 stride-2 transposed
  convs (ReLU), each decoder level concatenating the encoder features of its resolution (the skip
  connections); channels ``width * min(2^i, 8)``. Batch norm by default, never on the outermost
  layers or the innermost encoder conv. Dropout 0.5 on the ``dropout_levels`` innermost decoder
  levels (the paper's "CD512-CD1024-CD1024", its only source of noise). Needs ``R`` divisible by
  ``2^n_down``.

The convolutional layout follows junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``;
weights are drawn from N(0, 0.02) and norm gains from N(1, 0.02) (the reference's
``init_type="normal"``). Deliberate differences: a conv gets a bias exactly when no
mean-subtracting norm follows it (the reference keeps redundant biases before instance norm and
drops useful ones before the un-normalised outermost and innermost U-Net encoder convs); instance
norm has a learned affine (gankit's :class:`~gankit.nn.norm.Norm`; the reference's has none); and
U-Net dropout sits on the innermost decoder levels as the paper's appendix says, where the reference
code puts it on the ``num_downs - 5`` levels just outside the innermost one (for ``unet_256``: levels
2-4 counted from the bottom instead of 1-3).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from gankit.models import TRANSLATORS
from gankit.nn.init import dcgan_init
from gankit.nn.norm import NORMS_2D, Norm, absorbs_bias
from gankit.nn.options import choice, integer, number
from gankit.registry import ConfigError

#: Channel multiplier cap of the U-Net (the reference's ``ngf * 8``).
MAX_MULT = 8
_SETTING = "model.g.args"


def _norm(kind: str, channels: int) -> List[nn.Module]:
    return [] if kind == "none" else [Norm(kind, channels)]


def _check_shapes(in_shape: Sequence[int], out_shape: Sequence[int], family: str) -> int:
    """Check that both shapes are images of one square size; return that side ``R``."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if len(in_shape) != 3 or len(out_shape) != 3:
        raise ConfigError(
            f"translator {family} maps images of shape (C, H, W), but got in_shape {in_shape} and out_shape "
            f"{out_shape}; translators need image data in both domains"
        )
    if in_shape[1:] != out_shape[1:] or in_shape[1] != in_shape[2]:
        raise ConfigError(
            f"translator {family} keeps the image size, so both domains need the same square "
            f"data.resolution; got in_shape {in_shape} and out_shape {out_shape}"
        )
    return int(in_shape[1])


class _Translator(nn.Module):
    """Shared contract: ``in_shape``/``out_shape`` attributes and a shape-checked ``forward``."""

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int]):
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)
        self.out_shape = tuple(int(s) for s in out_shape)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, *in_shape]`` in [-1, 1]. Returns: ``[N, *out_shape]`` in [-1, 1] (tanh)."""
        who = type(self).__name__
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"{who} expects x of shape [N, {', '.join(map(str, self.in_shape))}], got {tuple(x.shape)}")
        out = self.translate(x)
        assert out.shape == (x.shape[0], *self.out_shape), (
            f"{who} produced {tuple(out.shape)}, expected {(x.shape[0], *self.out_shape)}")
        return out


class ResnetBlock(nn.Module):
    """``x + conv3(norm(relu(norm(conv3(x)))))`` at constant size, reflection-padded.

    Args:
        channels: ``C`` of the ``[N, C, s, s]`` maps.
        norm: one of ``NORMS_2D``.
        dropout: dropout probability between the two convs (the reference's ``use_dropout``: 0.5).
    """

    def __init__(self, channels: int, norm: str, dropout: float):
        super().__init__()
        bias = not absorbs_bias(norm)
        layers: List[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias)]
        layers += _norm(norm, channels) + [nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias)] + _norm(norm, channels)
        self.residual = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual(x)


@TRANSLATORS.register("resnet")
class ResnetTranslator(_Translator):
    """CycleGAN's ResNet generator: 7x7 stem, 2 downsamplings, ``n_blocks`` residual blocks, 2 upsamplings.

    Args:
        in_shape: ``(C_in, R, R)``, ``R`` a multiple of 4, at least 8.
        out_shape: ``(C_out, R, R)``.
        width: channels of the stem; the residual blocks have ``4 * width``.
        n_blocks: residual blocks (CycleGAN: 9 at 256 px, 6 at 128 px).
        norm: ``"instance"`` (the paper), ``"batch"``, ``"layer"`` or ``"none"``.
        dropout: dropout probability inside each residual block (CycleGAN trains without; 0.5 is the
            reference's ``use_dropout``).

    ``forward(x [N, C_in, R, R])`` returns ``[N, C_out, R, R]`` in [-1, 1].
    """

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], width: int = 64, n_blocks: int = 9,
                 norm: str = "instance", dropout: float = 0.0):
        super().__init__(in_shape, out_shape)
        resolution = _check_shapes(in_shape, out_shape, "resnet")
        # Two stride-2 convs then two exact 2x transposed convs return to R only if 4 divides it; the
        # residual blocks' reflection padding needs maps of at least 2x2.
        if resolution % 4 or resolution < 8:
            valid = ", ".join(str(r) for r in range(8, 36, 4))
            raise ConfigError(
                f"translator resnet needs data.resolution to be a multiple of 4 and at least 8 ({valid}, ... "
                f"e.g. 64, 128, 256), got {resolution}; set data.resolution={max(8, 4 * round(resolution / 4))}"
            )
        width = integer(width, f"{_SETTING}.width", 1)
        self.n_blocks = integer(n_blocks, f"{_SETTING}.n_blocks", 0)
        choice(norm, NORMS_2D, f"{_SETTING}.norm")
        dropout = number(dropout, f"{_SETTING}.dropout", 0.0, 1.0, high_inclusive=False)
        bias = not absorbs_bias(norm)
        layers: List[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(self.in_shape[0], width, 7, bias=bias)]
        layers += _norm(norm, width) + [nn.ReLU()]
        for mult in (1, 2):
            layers += [nn.Conv2d(width * mult, width * mult * 2, 3, stride=2, padding=1, bias=bias)]
            layers += _norm(norm, width * mult * 2) + [nn.ReLU()]
        layers += [ResnetBlock(4 * width, norm, dropout) for _ in range(self.n_blocks)]
        for mult in (4, 2):
            # output_padding=1 makes the 3x3 stride-2 transposed conv an exact doubling.
            layers += [nn.ConvTranspose2d(width * mult, width * mult // 2, 3, stride=2, padding=1,
                                          output_padding=1, bias=bias)]
            layers += _norm(norm, width * mult // 2) + [nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, self.out_shape[0], 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class UnetLevel(nn.Module):
    """One U-Net level: ``down`` halves the size, ``inner`` (the deeper levels, None at the bottom)
    works at half size, ``up`` doubles it back; except at the outermost level the result is the
    level's input concatenated with ``up``'s output (the skip connection).

    Shapes: ``[N, cin, s, s] -> [N, cin + cout, s, s]`` (outermost: ``[N, cout, s, s]``).

    Args:
        cin: channels entering the level.
        inner_channels: channels after ``down`` (and returned by ``inner``, before its concat).
        cout: channels ``up`` produces.
        inner: the next level, or None for the innermost.
        outermost: the level that sees the image and ends in tanh.
        norm: one of ``NORMS_2D``.
        dropout: dropout probability after ``up`` (0 = none).
    """

    def __init__(self, cin: int, inner_channels: int, cout: int, inner: Optional["UnetLevel"], outermost: bool,
                 norm: str, dropout: float):
        super().__init__()
        self.outermost = outermost
        innermost = inner is None
        # Normalise neither the image-facing layers nor the innermost 1x1 code (the reference's
        # layout: batch statistics of a 1x1 map of batch size 1 are degenerate).
        down_norm = "none" if outermost or innermost else norm
        up_in = inner_channels if innermost else 2 * inner_channels  # the deeper level concatenates its skip
        down: List[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2)]
        down += [nn.Conv2d(cin, inner_channels, 4, stride=2, padding=1, bias=not absorbs_bias(down_norm))]
        down += _norm(down_norm, inner_channels)
        up: List[nn.Module] = [nn.ReLU()]
        if outermost:
            up += [nn.ConvTranspose2d(up_in, cout, 4, stride=2, padding=1), nn.Tanh()]
        else:
            up += [nn.ConvTranspose2d(up_in, cout, 4, stride=2, padding=1, bias=not absorbs_bias(norm))]
            up += _norm(norm, cout)
            if dropout:
                up.append(nn.Dropout(dropout))
        self.down = nn.Sequential(*down)
        self.inner = inner
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.down(x)
        if self.inner is not None:
            h = self.inner(h)
        h = self.up(h)
        return h if self.outermost else torch.cat([x, h], dim=1)


@TRANSLATORS.register("unet")
class UnetTranslator(_Translator):
    """pix2pix's U-Net generator: ``n_down`` stride-2 levels with skip connections, dropout inside.

    Args:
        in_shape: ``(C_in, R, R)``, ``R`` divisible by ``2^n_down``.
        out_shape: ``(C_out, R, R)``.
        width: channels after the first conv; level ``i`` (1 = outermost) has ``width * min(2^(i-1), 8)``.
        n_down: number of levels (stride-2 convs), ``>= 2``; None = ``log2(R)``, down to 1x1 (8 at
            256 px, the paper's ``unet_256``), which needs ``R`` a power of two.
        norm: ``"batch"`` (the paper), ``"instance"``, ``"layer"`` or ``"none"``.
        dropout: dropout probability in the innermost decoder levels (the paper: 0.5).
        dropout_levels: how many decoder levels, counted from the innermost, get dropout (the paper:
            3); never the outermost, so at most ``n_down - 1`` are used.

    ``forward(x [N, C_in, R, R])`` returns ``[N, C_out, R, R]`` in [-1, 1]. ``levels`` lists the
    :class:`UnetLevel` modules from the outermost to the innermost.
    """

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], width: int = 64,
                 n_down: Optional[int] = None, norm: str = "batch", dropout: float = 0.5, dropout_levels: int = 3):
        super().__init__(in_shape, out_shape)
        resolution = _check_shapes(in_shape, out_shape, "unet")
        self.n_down = _levels(resolution, n_down)
        width = integer(width, f"{_SETTING}.width", 1)
        choice(norm, NORMS_2D, f"{_SETTING}.norm")
        dropout = number(dropout, f"{_SETTING}.dropout", 0.0, 1.0, high_inclusive=False)
        dropout_levels = integer(dropout_levels, f"{_SETTING}.dropout_levels", 0)

        def channels(level: int) -> int:
            return width * min(2 ** (level - 1), MAX_MULT)

        level: Optional[UnetLevel] = None
        for i in range(self.n_down, 0, -1):  # built from the innermost out: each wraps the deeper one
            outer = self.out_shape[0] if i == 1 else channels(i - 1)
            cin = self.in_shape[0] if i == 1 else channels(i - 1)
            dropped = i > 1 and i > self.n_down - dropout_levels
            level = UnetLevel(cin, channels(i), outer, level, outermost=i == 1, norm=norm,
                              dropout=dropout if dropped else 0.0)
        self.net = level
        dcgan_init(self)

    @property
    def levels(self) -> Tuple[UnetLevel, ...]:
        out, level = [], self.net
        while level is not None:
            out.append(level)
            level = level.inner
        return tuple(out)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _levels(resolution: int, n_down: Optional[int]) -> int:
    """Resolve ``n_down`` for ``resolution`` (None = down to 1x1) and check that it divides."""
    if n_down is None:
        if resolution < 4 or resolution & (resolution - 1):
            powers = ", ".join(str(2 ** k) for k in range(2, 9))
            raise ConfigError(
                f"translator unet goes down to 1x1 by default, which needs data.resolution to be a power of two "
                f"({powers}, ...), got {resolution}; set data.resolution to one of them, or set "
                f"{_SETTING}.n_down to a depth that divides it"
            )
        return resolution.bit_length() - 1
    n_down = integer(n_down, f"{_SETTING}.n_down", 2)
    if resolution % 2 ** n_down:
        deepest = (resolution & -resolution).bit_length() - 1  # the power of two in R
        valid = ", ".join(str(2 ** n_down * k) for k in range(1, 6))
        fix = f"{_SETTING}.n_down <= {deepest}" if deepest >= 2 else "a data.resolution divisible by 4"
        raise ConfigError(
            f"translator unet with {_SETTING}.n_down={n_down} halves the image {n_down} times, so "
            f"data.resolution must be a multiple of {2 ** n_down} ({valid}, ...), got {resolution}; "
            f"use {fix}"
        )
    return n_down
