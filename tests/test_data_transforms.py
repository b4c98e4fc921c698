"""The shared resolution and channel policy (gankit.data.transforms)."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.transforms import (
    composite_on_white,
    convert_channels,
    plan_resize,
    rgb_to_luma,
    to_resolution,
)


def _random_uint8(shape, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8))


def test_luma_is_bit_identical_to_pil():
    x = _random_uint8((1, 3, 16, 16))
    expected = np.asarray(Image.fromarray(x[0].permute(1, 2, 0).numpy(), "RGB").convert("L"))
    assert torch.equal(rgb_to_luma(x)[0, 0], torch.from_numpy(expected.copy()))


def test_composite_matches_pil_alpha_composite_for_every_value_pair():
    c, a = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rgba = np.stack([c, 255 - c, c // 2, a], axis=-1).astype(np.uint8)  # [256, 256, 4]
    white = Image.new("RGBA", (256, 256), (255, 255, 255, 255))
    expected = np.asarray(Image.alpha_composite(white, Image.fromarray(rgba, "RGBA")).convert("RGB"))
    got = composite_on_white(torch.from_numpy(rgba).permute(2, 0, 1)[None])
    assert torch.equal(got[0].permute(1, 2, 0), torch.from_numpy(expected.copy()))


def test_convert_channels_policy():
    grey = _random_uint8((2, 1, 5, 5), seed=1)
    rgb = convert_channels(grey, 3)
    assert rgb.shape == (2, 3, 5, 5)
    for ch in range(3):
        assert torch.equal(rgb[:, ch], grey[:, 0])
    assert convert_channels(grey, None) is grey
    colour = _random_uint8((2, 3, 5, 5), seed=2)
    assert torch.equal(convert_channels(colour, 1), rgb_to_luma(colour))
    rgba = _random_uint8((2, 4, 5, 5), seed=3)
    assert torch.equal(convert_channels(rgba, None), composite_on_white(rgba))
    assert torch.equal(convert_channels(rgba, 1), rgb_to_luma(composite_on_white(rgba)))
    grey_alpha = _random_uint8((2, 2, 5, 5), seed=4)
    assert torch.equal(convert_channels(grey_alpha, None), composite_on_white(grey_alpha))
    with pytest.raises(ValueError, match="data.channels"):
        convert_channels(grey, 2)


def test_28_to_32_is_zero_padding():
    x = _random_uint8((3, 1, 28, 28), seed=5)
    y = to_resolution(x, 32)
    assert y.shape == (3, 1, 32, 32)
    assert torch.equal(y[:, :, 2:30, 2:30], x)
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert int(y[:, :, border].count_nonzero()) == 0


def test_none_and_same_size_keep_the_tensor():
    x = _random_uint8((2, 3, 7, 9), seed=6)
    assert to_resolution(x, None) is x
    square = _random_uint8((2, 3, 9, 9), seed=7)
    assert to_resolution(square, 9) is square


def test_short_side_already_right_is_a_centre_crop():
    x = _random_uint8((1, 3, 16, 24), seed=8)  # H=16, W=24 -> crop columns 4..19
    assert torch.equal(to_resolution(x, 16), x[:, :, :, 4:20])
    tall = _random_uint8((1, 1, 24, 16), seed=9)
    assert torch.equal(to_resolution(tall, 16), tall[:, :, 4:20, :])


def test_plan_resize_geometry():
    plan = plan_resize(30, 60, 15)  # scale 1/2 -> 15 x 30, crop the middle 15 columns
    assert (plan.pad, plan.resized, plan.crop) == (0, (15, 30), (0, 7))
    plan = plan_resize(28, 28, 32)
    assert (plan.pad, plan.resized, plan.crop) == (2, (28, 28), (0, 0))
    plan = plan_resize(28, 28, 64)  # only 28 -> 32 pads; other sizes resize
    assert (plan.pad, plan.resized, plan.crop) == (0, (64, 64), (0, 0))
    with pytest.raises(ValueError, match="resolution"):
        plan_resize(8, 8, 0)


def test_resize_agrees_with_pil_bilinear():
    x = _random_uint8((1, 3, 20, 40), seed=10)
    got = to_resolution(x, 10)  # 20 x 40 -> 10 x 20 -> crop columns 5..14
    img = Image.fromarray(x[0].permute(1, 2, 0).numpy(), "RGB").resize((20, 10), Image.Resampling.BILINEAR)
    expected = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[:, :, 5:15]
    assert got.shape == (1, 3, 10, 10)
    torch.testing.assert_close(got[0].int(), expected.int(), atol=1, rtol=0)


def test_upscale_shape_and_constant_image():
    x = torch.full((2, 1, 8, 8), 77, dtype=torch.uint8)
    y = to_resolution(x, 16)
    assert torch.equal(y, torch.full((2, 1, 16, 16), 77, dtype=torch.uint8))


def test_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        to_resolution(torch.zeros(1, 1, 4, 4), 8)
