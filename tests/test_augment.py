"""DiffAugment: shapes, identity, differentiability, determinism and the effect of each policy."""

import pytest
import torch

from gankit.augment import diff_augment, parse_policy
from gankit.registry import ConfigError


def images(n=4, c=3, h=16, w=16):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_parse_policy():
    assert parse_policy("") == []
    assert parse_policy(" color, translation ,cutout") == ["color", "translation", "cutout"]


@pytest.mark.parametrize("policy", ["colour", "color,flip", "color,,cutout"])
def test_unknown_policy_names_the_setting_and_valid_ones(policy):
    with pytest.raises(ConfigError, match=r"train\.augment.*color, translation, cutout"):
        diff_augment(images(), policy)


def test_empty_policy_is_identity():
    x = images()
    assert diff_augment(x, "") is x


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_shape_determinism_and_exact_gradient(policy):
    """For fixed random draws every policy is affine in x: out(x) = L x + out(0).

    So <grad of <v, out(x)>, x> must equal <v, out(x) - out(0)> exactly (up to rounding).
    """
    x = images().requires_grad_(True)
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(9))
    torch.manual_seed(1)
    out = diff_augment(x, policy)
    assert out.shape == x.shape
    assert not torch.equal(out, x)
    (grad,) = torch.autograd.grad((v * out).sum(), x)
    torch.manual_seed(1)
    torch.testing.assert_close(diff_augment(x, policy), out, rtol=0, atol=0)  # same seed, same output
    torch.manual_seed(1)
    at_zero = diff_augment(torch.zeros_like(x), policy)
    torch.testing.assert_close((grad * x).sum(), (v * (out - at_zero)).sum())


def shifted(img, dy, dx):
    """Reference translation of one image [C, H, W]: out[:, i, j] = img[:, i - dy, j - dx], 0 outside."""
    out = torch.zeros_like(img)
    h, w = img.shape[1:]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[:, i, j] = img[:, i - dy, j - dx]
    return out


def test_translation_matches_a_reference_shift_with_zero_fill():
    """Distinct pixel values reveal each sample's shift; the whole image must match that shift."""
    x = torch.arange(1, 2 * 16 * 16 + 1, dtype=torch.float32).reshape(1, 2, 16, 16).repeat(32, 1, 1, 1)
    torch.manual_seed(2)
    out = diff_augment(x, "translation")
    shifts = set()
    for n in range(32):
        src = int(x[0, 0, 8, 8])
        i, j = [int(k) for k in (out[n, 0] == src).nonzero()[0]]
        shifts.add((i - 8, j - 8))
        torch.testing.assert_close(out[n], shifted(x[0], i - 8, j - 8), rtol=0, atol=0)
    # ratio 1/8 of 16 pixels: shifts in [-2, 2] on each axis, and both signs occur
    assert {dy for dy, _ in shifts} == set(range(-2, 3)) and {dx for _, dx in shifts} == set(range(-2, 3))


def test_cutout_zeroes_a_half_size_square_clipped_at_the_border():
    x = torch.ones(256, 2, 8, 8)
    torch.manual_seed(4)
    out = diff_augment(x, "cutout")
    assert torch.equal(out[:, 0], out[:, 1])  # one square per sample, shared by the channels
    erased = out[:, 0] == 0
    rows, cols = erased.any(2), erased.any(1)
    # the erased set is exactly the product of its rows and columns: a rectangle
    assert torch.equal(erased, rows[:, :, None] & cols[:, None, :])
    heights, widths = rows.sum(1), cols.sum(1)
    assert set(heights.tolist()) == {2, 3, 4} and set(widths.tolist()) == {2, 3, 4}


def test_color_matches_a_reference_with_one_draw_per_sample():
    """Brightness, saturation, contrast in that order, each with one U(0, 1) draw per sample."""
    x = images(n=8)
    torch.manual_seed(5)
    out = diff_augment(x, "color")
    torch.manual_seed(5)
    b, s, c = torch.rand(8, 1, 1, 1) - 0.5, 2 * torch.rand(8, 1, 1, 1), torch.rand(8, 1, 1, 1) + 0.5
    ref = x + b
    gray = ref.mean(1, keepdim=True)
    ref = (ref - gray) * s + gray
    mean = ref.mean((1, 2, 3), keepdim=True)
    torch.testing.assert_close(out, (ref - mean) * c + mean)


def test_vector_data_is_rejected_with_a_fix():
    with pytest.raises(ValueError, match="train.augment"):
        diff_augment(torch.zeros(4, 2), "color")
