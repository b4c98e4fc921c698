"""Equalised learning rate: weights stored as N(0, 1), scaled at run time by the He constant."""

import math

import pytest
import torch
import torch.nn.functional as F

from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, he_constant


def test_conv_scales_its_weight_by_the_he_constant_at_run_time():
    torch.manual_seed(0)
    conv = EqualizedConv2d(6, 5, 3)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(6 * 3 * 3))
    # the stored weights are N(0, 1) draws (not He-scaled), the biases 0
    big = EqualizedConv2d(64, 64, 3)
    assert big.weight.detach().std().item() == pytest.approx(1.0, abs=0.02)
    assert float(big.bias.detach().abs().max()) == 0.0
    x = torch.randn(2, 6, 7, 7)
    expected = F.conv2d(x, conv.weight * (math.sqrt(2) / math.sqrt(54)), conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    # a gradient step moves the effective weight by scale * lr: the same relative rate at any fan-in
    conv(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.shape == (5, 6, 3, 3)


def test_linear_scales_by_gain_over_root_fan_in():
    torch.manual_seed(1)
    lin = EqualizedLinear(10, 3, gain=1.0)
    assert lin.scale == pytest.approx(1 / math.sqrt(10)) == he_constant(10, 1.0)
    x = torch.randn(4, 10)
    assert torch.allclose(lin(x), x @ (lin.weight / math.sqrt(10)).T, atol=1e-6)
    # the output variance of a unit-variance input is gain^2, whatever the fan-in (He init)
    wide = EqualizedLinear(4096, 256)
    assert wide(torch.randn(512, 4096)).var().item() == pytest.approx(2.0, rel=0.05)
