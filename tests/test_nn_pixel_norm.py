"""Pixel norm: every pixel's feature vector gets unit mean square over the channels."""

import pytest
import torch

from gankit.nn.pixel_norm import PixelNorm


def test_every_pixel_has_unit_mean_square_over_the_channels():
    x = torch.randn(3, 16, 5, 5, generator=torch.Generator().manual_seed(0)) * torch.linspace(0.1, 50, 25).view(5, 5)
    y = PixelNorm()(x)
    ms = y.pow(2).mean(dim=1)
    assert torch.allclose(ms, torch.ones(3, 5, 5), atol=1e-5)
    # it rescales each pixel's vector, keeping its direction
    ratio = y / x
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-5)


def test_vectors_are_normalised_too():
    z = torch.randn(8, 32) * 3
    assert PixelNorm()(z).pow(2).mean(dim=1).tolist() == pytest.approx([1.0] * 8, abs=1e-5)
