"""Image-to-image translators (CycleGAN ResNet, pix2pix U-Net): shapes, tanh, skips, layout, errors."""

import pytest
import torch
from torch import nn

from gankit.models import build_translator
from gankit.models.translators import ResnetBlock
from gankit.registry import ConfigError

TINY = {"resnet": {"width": 4, "n_blocks": 2}, "unet": {"width": 4}}


def last_weight_layer(G):
    return [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]


@pytest.mark.parametrize("name", ["resnet", "unet"])
@pytest.mark.parametrize("resolution", [16, 32])
@pytest.mark.parametrize("cin,cout", [(1, 1), (1, 3), (3, 3)])
def test_shapes(name, resolution, cin, cout):
    G = build_translator(name, TINY[name], (cin, resolution, resolution), (cout, resolution, resolution))
    out = G(torch.randn(2, cin, resolution, resolution))
    assert out.shape == (2, cout, resolution, resolution)
    assert (G.in_shape, G.out_shape) == ((cin, resolution, resolution), (cout, resolution, resolution))
    assert float(out.detach().abs().max()) <= 1.0


@pytest.mark.parametrize("name", ["resnet", "unet"])
def test_output_is_tanh(name):
    # Saturating the last pre-activation shows the output is tanh: exactly +1 / -1.
    G = build_translator(name, TINY[name], (3, 16, 16), (3, 16, 16)).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        last_weight_layer(G).bias.fill_(100.0)
        torch.testing.assert_close(G(x), torch.ones(2, 3, 16, 16))
        last_weight_layer(G).bias.fill_(-100.0)
        torch.testing.assert_close(G(x), -torch.ones(2, 3, 16, 16))


def test_resnet_layout():
    G = build_translator("resnet", {"width": 2, "n_blocks": 3}, (3, 32, 32), (1, 32, 32))
    convs = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [(type(c).__name__, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == (
        [("Conv2d", 2, 7, 1), ("Conv2d", 4, 3, 2), ("Conv2d", 8, 3, 2)]
        + [("Conv2d", 8, 3, 1)] * 6
        + [("ConvTranspose2d", 4, 3, 2), ("ConvTranspose2d", 2, 3, 2), ("Conv2d", 1, 7, 1)])
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in G.modules()) == 2 + 2 * 3
    # Instance norm by default: after the stem, both downsamplings, both convs of each block, both ups.
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in G.modules()) == 5 + 2 * 3
    assert sum(isinstance(m, ResnetBlock) for m in G.modules()) == 3


def test_resnet_default_is_nine_blocks():
    G = build_translator("resnet", {"width": 2}, (3, 16, 16), (3, 16, 16))
    assert G.n_blocks == 9 and sum(isinstance(m, ResnetBlock) for m in G.modules()) == 9


def test_resnet_block_is_residual():
    # With the residual branch's last conv zeroed (its instance norm maps zeros to zeros) a block is x.
    block = ResnetBlock(4, "instance", 0.0)
    with torch.no_grad():
        block.residual[-2].weight.zero_()
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(block(x), x)


def test_unet_levels_and_channels():
    G = build_translator("unet", {"width": 1}, (3, 256, 256), (3, 256, 256))
    assert G.n_down == 8  # the paper's unet_256: down to 1x1
    downs = [[m for m in level.down if isinstance(m, nn.Conv2d)][0] for level in G.levels]
    assert [c.out_channels for c in downs] == [1, 2, 4, 8, 8, 8, 8, 8]
    ups = [[m for m in level.up if isinstance(m, nn.ConvTranspose2d)][0] for level in G.levels]
    # Every decoder level but the innermost takes the deeper level's output concatenated with its skip.
    assert [c.in_channels for c in ups] == [2, 4, 8, 16, 16, 16, 16, 8]
    # Batch norm: every level's encoder conv but the outermost and innermost, every decoder but the outermost.
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 6 + 7


@pytest.mark.parametrize("resolution,n_down,inner", [(16, None, 1), (32, None, 1), (16, 2, 4), (24, 3, 3)])
def test_unet_depth(resolution, n_down, inner):
    options = {"width": 4} if n_down is None else {"width": 4, "n_down": n_down}
    G = build_translator("unet", options, (1, resolution, resolution), (1, resolution, resolution)).eval()
    seen = {}
    G.levels[-1].down.register_forward_hook(lambda m, i, o: seen.update(shape=o.shape))
    assert G(torch.randn(2, 1, resolution, resolution)).shape == (2, 1, resolution, resolution)
    assert seen["shape"][2:] == (inner, inner)


def test_unet_every_level_concatenates_its_input():
    G = build_translator("unet", {"width": 4}, (1, 32, 32), (1, 32, 32)).eval()
    seen = []
    for level in G.levels[1:]:
        level.register_forward_hook(lambda m, i, o: seen.append((i[0], o)))
    G(torch.randn(2, 1, 32, 32))
    assert len(seen) == 4
    for x, out in seen:
        assert out.shape[1] == 2 * x.shape[1]
        assert torch.equal(out[:, : x.shape[1]], x)


@pytest.mark.parametrize("cut", [1, 3])
def test_unet_skips_carry_the_input_around_the_bottleneck(cut):
    # Zero what a level's decoder returns: with cut=3 (the innermost of 4) nothing passes the 1x1 code, with
    # cut=1 nothing passes below the outermost level. The output still follows the input, which only
    # the skip connections can carry; the check fails for an encoder-decoder without skips.
    torch.manual_seed(0)
    G = build_translator("unet", {"width": 4}, (1, 16, 16), (1, 16, 16)).eval()
    G.levels[cut].up.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
    x1, x2 = torch.randn(2, 1, 1, 16, 16)
    with torch.no_grad():
        difference = (G(x1) - G(x2)).abs()
    assert float(difference.mean()) > 1e-3
    # Cut at the outermost level's own inner path the output no longer depends on the input.
    G.levels[0].inner.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
    with torch.no_grad():
        torch.testing.assert_close(G(x1), G(x2))


def test_unet_dropout_on_innermost_decoder_levels():
    G = build_translator("unet", {"width": 4}, (1, 32, 32), (1, 32, 32))
    drops = [[m.p for m in level.up if isinstance(m, nn.Dropout)] for level in G.levels]
    assert drops == [[], [], [0.5], [0.5], [0.5]]  # the paper's three innermost decoder layers
    x = torch.randn(2, 1, 32, 32)
    assert not torch.equal(G(x), G(x))  # dropout is pix2pix's noise: training outputs vary
    G.eval()
    assert torch.equal(G(x), G(x))
    shallow = build_translator("unet", {"width": 4, "dropout_levels": 9}, (1, 16, 16), (1, 16, 16))
    assert [sum(isinstance(m, nn.Dropout) for m in level.up) for level in shallow.levels] == [0, 1, 1, 1]
    none = build_translator("unet", {"width": 4, "dropout": 0.0}, (1, 16, 16), (1, 16, 16))
    assert not any(isinstance(m, nn.Dropout) for m in none.modules())


@pytest.mark.parametrize("name", ["resnet", "unet"])
def test_initialisation_is_normal_002(name):
    torch.manual_seed(0)
    G = build_translator(name, {"width": 8, "norm": "batch"}, (3, 16, 16), (3, 16, 16))
    layers = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    w = torch.cat([m.weight.flatten() for m in layers])
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    assert abs(w.mean().item()) < 1e-3
    gains = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert gains.mean().item() == pytest.approx(1.0, abs=0.01)
    assert gains.std().item() == pytest.approx(0.02, rel=0.25)
    assert all(torch.count_nonzero(m.bias) == 0 for m in layers if m.bias is not None)


@pytest.mark.parametrize("name,norm,layer", [("resnet", "batch", nn.BatchNorm2d), ("unet", "instance", nn.InstanceNorm2d),
                                             ("resnet", "none", None), ("unet", "none", None)])
def test_norm_options(name, norm, layer):
    G = build_translator(name, {**TINY[name], "norm": norm}, (1, 16, 16), (1, 16, 16))
    kinds = (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)
    found = {type(m) for m in G.modules() if isinstance(m, kinds)}
    assert found == ({layer} if layer else set())
    assert G(torch.randn(2, 1, 16, 16)).shape == (2, 1, 16, 16)


def test_errors():
    with pytest.raises(ConfigError, match=r"translator resnet needs data\.resolution to be a multiple of 4 .*got 18; "
                                          r"set data\.resolution=16"):
        build_translator("resnet", {}, (3, 18, 18), (3, 18, 18))
    with pytest.raises(ConfigError, match=r"at least 8 .*got 4"):
        build_translator("resnet", {}, (3, 4, 4), (3, 4, 4))
    with pytest.raises(ConfigError, match=r"needs data\.resolution to be a power of two .*got 24.*model\.g\.args\.n_down"):
        build_translator("unet", {}, (3, 24, 24), (3, 24, 24))
    with pytest.raises(ConfigError, match=r"n_down=5 .*data\.resolution must be a multiple of 32 .*got 16; "
                                          r"use model\.g\.args\.n_down <= 4"):
        build_translator("unet", {"n_down": 5}, (3, 16, 16), (3, 16, 16))
    with pytest.raises(ConfigError, match=r"model\.g\.args\.n_down must be an integer >= 2, got 1"):
        build_translator("unet", {"n_down": 1}, (3, 16, 16), (3, 16, 16))
    with pytest.raises(ConfigError, match=r"same square data\.resolution"):
        build_translator("resnet", {}, (3, 16, 16), (3, 32, 32))
    with pytest.raises(ConfigError, match=r"need image data in both domains"):
        build_translator("unet", {}, (64,), (64,))
    with pytest.raises(ConfigError, match=r"model\.g\.args\.norm .*Did you mean 'instance'\?"):
        build_translator("resnet", {"norm": "instanse"}, (3, 16, 16), (3, 16, 16))
    with pytest.raises(ConfigError, match=r"unknown setting model\.g\.args\.nblocks\. Did you mean 'n_blocks'\?"):
        build_translator("resnet", {"nblocks": 6}, (3, 16, 16), (3, 16, 16))
    G = build_translator("unet", TINY["unet"], (1, 16, 16), (3, 16, 16))
    with pytest.raises(ValueError, match=r"expects x of shape \[N, 1, 16, 16\]"):
        G(torch.randn(1, 3, 16, 16))
