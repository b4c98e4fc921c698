"""ResNet (SNGAN) family: shapes per resolution, block types, structure, initialisation, errors."""

import math

import pytest
import torch
from torch import nn

from gankit.models import build_discriminator, build_generator
from gankit.models.resnet import PlainDownBlock, PlainUpBlock, SNGANDownBlock, SNGANUpBlock
from gankit.registry import ConfigError

Z = 8


@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("block", ["sngan", "plain"])
def test_shapes_per_resolution(resolution, block):
    G = build_generator("resnet", {"width": 4, "block": block}, Z, (3, resolution, resolution), 0)
    D = build_discriminator("resnet", {"width": 4, "block": block}, (3, resolution, resolution), 0)
    x = G(torch.randn(2, Z))
    assert x.shape == (2, 3, resolution, resolution)
    assert D(x).shape == (2,)
    # G: one up-block per doubling from 4x4; D: down-blocks to 8x8 plus two blocks at 8x8.
    doublings = int(math.log2(resolution // 4))
    assert len(G.blocks) == doublings
    assert [b.down for b in D.blocks] == [True] * (doublings - 1) + [False, False]


def test_resolution_128():
    G = build_generator("resnet", {"width": 2}, Z, (1, 128, 128), 0)
    D = build_discriminator("resnet", {"width": 2}, (1, 128, 128), 0)
    assert D(G(torch.randn(2, Z))).shape == (2,)


def test_output_is_tanh():
    G = build_generator("resnet", {"width": 4}, Z, (1, 32, 32), 0).eval()
    with torch.no_grad():
        G.out_conv.bias.fill_(-100.0)
        torch.testing.assert_close(G(torch.randn(2, Z)), -torch.ones(2, 1, 32, 32))


def test_block_types_and_default_norms():
    g_sn = build_generator("resnet", {"width": 4}, Z, (3, 32, 32), 0)
    d_sn = build_discriminator("resnet", {"width": 4}, (3, 32, 32), 0)
    g_plain = build_generator("resnet", {"width": 4, "block": "plain"}, Z, (3, 32, 32), 0)
    d_plain = build_discriminator("resnet", {"width": 4, "block": "plain"}, (3, 32, 32), 0)
    assert all(isinstance(b, SNGANUpBlock) for b in g_sn.blocks)
    assert all(isinstance(b, PlainUpBlock) for b in g_plain.blocks)
    assert [isinstance(b, SNGANDownBlock) and b.optimized for b in d_sn.blocks] == [True, False, False, False]
    assert all(isinstance(b, PlainDownBlock) for b in d_plain.blocks)
    # SNGAN's D has no normalisation; the textbook block uses batch norm.
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d_sn.modules()) == 0
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d_plain.modules()) == 8
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g_sn.modules()) == 3 * 2 + 1
    d_layer = build_discriminator("resnet", {"width": 4, "norm": "layer"}, (3, 32, 32), 0)
    # The optimised first block has no pre-activation norm: 1 + 2 * 3.
    assert sum(isinstance(m, nn.GroupNorm) for m in d_layer.modules()) == 7


def test_plain_generator_block_uses_identity_skip():
    # With zero residual-branch weights (and zero norm shift) a plain block is relu(up(x)).
    block = PlainUpBlock(2, "none", 0)
    with torch.no_grad():
        block.conv2.weight.zero_()
        block.conv2.bias.zero_()
    x = torch.randn(1, 2, 3, 3)
    expected = torch.relu(x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3))
    torch.testing.assert_close(block(x, None), expected)


def test_sngan_discriminator_sums_features():
    D = build_discriminator("resnet", {"width": 4}, (1, 16, 16), 0)
    x = torch.randn(2, 1, 16, 16)
    h = torch.relu(D.blocks(x)).sum(dim=(2, 3))
    torch.testing.assert_close(D(x), D.head.linear(h).squeeze(1))


def test_xavier_initialisation():
    torch.manual_seed(0)
    G = build_generator("resnet", {"width": 32}, Z, (3, 32, 32), 0)
    conv = G.blocks[0].conv1.weight  # residual branch: gain sqrt(2)
    shortcut = G.blocks[0].shortcut.weight  # gain 1
    for w, gain in ((conv, math.sqrt(2.0)), (shortcut, 1.0)):
        fan_in, fan_out = w.shape[1] * w[0, 0].numel(), w.shape[0] * w[0, 0].numel()
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        assert w.std().item() == pytest.approx(bound / math.sqrt(3.0), rel=0.1)
    torch.testing.assert_close(G.blocks[0].conv1.bias, torch.zeros(32))


def test_errors():
    with pytest.raises(ConfigError, match=r"resnet does not support 48x48 images: data\.resolution must be one of"):
        build_discriminator("resnet", {}, (3, 48, 48), 0)
    with pytest.raises(ConfigError, match=r"model\.g\.args\.block .*Did you mean 'plain'\?"):
        build_generator("resnet", {"block": "plan"}, Z, (3, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"unknown setting model\.d\.args\.blok\. Did you mean 'block'\?"):
        build_discriminator("resnet", {"blok": "plain"}, (3, 32, 32), 0)
