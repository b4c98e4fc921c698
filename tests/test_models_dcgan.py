"""DCGAN family: shapes per resolution, output range, options, initialisation, errors."""

import pytest
import torch
from torch import nn

from gankit.models import build_discriminator, build_generator
from gankit.registry import ConfigError

Z = 8


def final_bias(G):
    """The bias of the generator's last weight layer (the one before tanh)."""
    last = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
    return last.bias


@pytest.mark.parametrize("resolution", [16, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_per_resolution(resolution, channels):
    G = build_generator("dcgan", {"width": 4}, Z, (channels, resolution, resolution), 0)
    D = build_discriminator("dcgan", {"width": 4}, (channels, resolution, resolution), 0)
    x = G(torch.randn(3, Z))
    assert x.shape == (3, channels, resolution, resolution)
    assert D(x).shape == (3,)
    assert (G.z_dim, G.num_classes, G.out_shape) == (Z, 0, (channels, resolution, resolution))
    assert (D.in_shape, D.num_classes) == ((channels, resolution, resolution), 0)


def test_resolution_128_generator():
    G = build_generator("dcgan", {"width": 2}, Z, (3, 128, 128), 0)
    assert G(torch.randn(2, Z)).shape == (2, 3, 128, 128)


def test_output_is_tanh():
    # Saturating the last pre-activation shows the output is tanh: exactly +1 / -1, not a sigmoid.
    G = build_generator("dcgan", {"width": 4}, Z, (3, 16, 16), 0).eval()
    with torch.no_grad():
        final_bias(G).fill_(100.0)
        torch.testing.assert_close(G(torch.randn(2, Z)), torch.ones(2, 3, 16, 16))
        final_bias(G).fill_(-100.0)
        torch.testing.assert_close(G(torch.randn(2, Z)), -torch.ones(2, 3, 16, 16))


def test_channel_schedule_matches_the_paper_at_64():
    G = build_generator("dcgan", {}, 100, (3, 64, 64), 0)
    D = build_discriminator("dcgan", {}, (3, 64, 64), 0)
    assert G.project.out_features == 512 * 16
    assert [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)] == [256, 128, 64, 3]
    assert [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)] == [64, 128, 256, 512]
    assert D.head.linear.in_features == 512 * 16


@pytest.mark.parametrize("norm,layer", [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm),
                                        ("instance", nn.InstanceNorm2d), ("none", None)])
def test_norm_options(norm, layer):
    G = build_generator("dcgan", {"width": 4, "norm": norm}, Z, (1, 32, 32), 0)
    D = build_discriminator("dcgan", {"width": 4, "norm": norm}, (1, 32, 32), 0)
    kinds = (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)
    g_norms = [m for m in G.modules() if isinstance(m, kinds)]
    d_norms = [m for m in D.modules() if isinstance(m, kinds)]
    # G: after the 4x4 projection and each of the 2 hidden up-blocks; D: all convs but the first.
    assert [type(m) for m in g_norms] == ([layer] * 3 if layer else [])
    assert [type(m) for m in d_norms] == ([layer] * 2 if layer else [])
    if norm == "layer":
        assert all(m.num_groups == 1 for m in g_norms + d_norms)
    assert G(torch.randn(2, Z)).shape == (2, 1, 32, 32)
    assert D(torch.randn(2, 1, 32, 32)).shape == (2,)


def test_first_discriminator_layer_has_no_norm():
    D = build_discriminator("dcgan", {"width": 4}, (3, 32, 32), 0)
    layers = list(D.trunk)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert layers[1].negative_slope == 0.2


def test_nearest_upsample():
    G = build_generator("dcgan", {"width": 4, "upsample": "nearest"}, Z, (3, 32, 32), 0)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in G.modules())
    assert sum(isinstance(m, nn.Upsample) for m in G.modules()) == 3
    assert G(torch.randn(2, Z)).shape == (2, 3, 32, 32)


def test_dropout_and_slope_in_discriminator():
    D = build_discriminator("dcgan", {"width": 4, "dropout": 0.3, "slope": 0.1}, (1, 16, 16), 0)
    assert [m.p for m in D.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)} == {0.1}


def test_dcgan_initialisation_statistics():
    torch.manual_seed(0)
    G = build_generator("dcgan", {"width": 32}, 100, (3, 32, 32), 0)
    D = build_discriminator("dcgan", {"width": 32}, (3, 32, 32), 0)
    for net in (G, D):
        weights = torch.cat([m.weight.flatten() for m in net.modules()
                             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))])
        gains = torch.cat([m.weight for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
        biases = [m.bias for m in net.modules() if getattr(m, "bias", None) is not None]
        assert weights.std().item() == pytest.approx(0.02, rel=0.02)
        assert weights.mean().item() == pytest.approx(0.0, abs=1e-3)
        assert gains.mean().item() == pytest.approx(1.0, abs=0.01)
        assert gains.std().item() == pytest.approx(0.02, rel=0.3)
        for b in biases:
            torch.testing.assert_close(b, torch.zeros_like(b))


def test_unsupported_resolution_names_data_resolution():
    with pytest.raises(ConfigError, match=r"data\.resolution must be one of 16, 32, 64, 128, 256"):
        build_generator("dcgan", {}, Z, (1, 28, 28), 0)
    with pytest.raises(ConfigError, match=r"data\.resolution"):
        build_discriminator("dcgan", {}, (3, 32, 64), 0)
    with pytest.raises(ConfigError, match=r"model\.d\.name=dcgan needs image data"):
        build_discriminator("dcgan", {}, (2,), 0)


def test_bad_options_name_the_setting():
    with pytest.raises(ConfigError, match=r"model\.g\.args\.widht\. Did you mean 'width'\?"):
        build_generator("dcgan", {"widht": 8}, Z, (1, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.norm .*Did you mean 'batch'\?"):
        build_discriminator("dcgan", {"norm": "btach"}, (1, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"model\.g\.args\.upsample .*Did you mean 'nearest'\?"):
        build_generator("dcgan", {"upsample": "neares"}, Z, (1, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.dropout must be a number in \[0\.0, 1\.0\)"):
        build_discriminator("dcgan", {"dropout": 1.0}, (1, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"model\.g\.args\.width must be an integer >= 1"):
        build_generator("dcgan", {"width": 0}, Z, (1, 32, 32), 0)


def test_wrong_input_shape_is_reported():
    G = build_generator("dcgan", {"width": 4}, Z, (1, 16, 16), 0)
    D = build_discriminator("dcgan", {"width": 4}, (1, 16, 16), 0)
    with pytest.raises(ValueError, match=r"expects z of shape \[N, 8\]"):
        G(torch.randn(2, Z + 1))
    with pytest.raises(ValueError, match=r"expects x of shape \[N, 1, 16, 16\]"):
        D(torch.randn(2, 3, 16, 16))
