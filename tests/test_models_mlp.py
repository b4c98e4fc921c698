"""MLP family (vanilla GAN): any data shape, widths, output activation, options."""

import pytest
import torch
from torch import nn

from gankit.models import build_discriminator, build_generator
from gankit.registry import ConfigError

Z = 8


def linears(net):
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28), (3, 8, 8)])
def test_any_shape(shape):
    G = build_generator("mlp", {"hidden": 16}, Z, shape, 0)
    D = build_discriminator("mlp", {"hidden": 16}, shape, 0)
    x = G(torch.randn(4, Z))
    assert x.shape == (4, *shape)
    assert D(x).shape == (4,)
    assert (G.out_shape, D.in_shape) == (shape, shape)


def test_images_use_tanh_and_vectors_stay_linear():
    image = build_generator("mlp", {"hidden": 8}, Z, (1, 4, 4), 0).eval()
    vector = build_generator("mlp", {"hidden": 8}, Z, (2,), 0).eval()
    with torch.no_grad():
        linears(image)[-1].bias.fill_(100.0)
        torch.testing.assert_close(image(torch.randn(3, Z)), torch.ones(3, 1, 4, 4))
        linears(vector)[-1].weight.zero_()
        linears(vector)[-1].bias.copy_(torch.tensor([5.0, -7.0]))
        torch.testing.assert_close(vector(torch.randn(3, Z)), torch.tensor([[5.0, -7.0]] * 3))


def test_widths_and_layers():
    G = build_generator("mlp", {"hidden": [128, 256, 512, 1024]}, 100, (1, 28, 28), 0)
    D = build_discriminator("mlp", {"hidden": [512, 256]}, (1, 28, 28), 0)
    assert [(m.in_features, m.out_features) for m in linears(G)] == [
        (100, 128), (128, 256), (256, 512), (512, 1024), (1024, 784)]
    assert [(m.in_features, m.out_features) for m in linears(D)] == [(784, 512), (512, 256), (256, 1)]
    G2 = build_generator("mlp", {"hidden": 16, "layers": 2}, Z, (2,), 0)
    assert [m.out_features for m in linears(G2)] == [16, 16, 2]


@pytest.mark.parametrize("norm,layer", [("batch", nn.BatchNorm1d), ("layer", nn.GroupNorm), ("none", None)])
def test_norms(norm, layer):
    G = build_generator("mlp", {"hidden": 8, "norm": norm}, Z, (2,), 0)
    D = build_discriminator("mlp", {"hidden": 8, "norm": norm}, (2,), 0)
    for net in (G, D):
        found = [type(m) for m in net.modules() if isinstance(m, (nn.BatchNorm1d, nn.GroupNorm))]
        assert found == ([layer] * 3 if layer else [])
    assert D(G(torch.randn(4, Z))).shape == (4,)


def test_discriminator_dropout_and_slope():
    D = build_discriminator("mlp", {"hidden": 8, "dropout": 0.5, "slope": 0.1}, (2,), 0)
    assert [m.p for m in D.modules() if isinstance(m, nn.Dropout)] == [0.5] * 3
    assert [m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)] == [0.1] * 3


def test_bad_options():
    with pytest.raises(ConfigError, match=r"model\.g\.args\.layers=3 contradicts model\.g\.args\.hidden"):
        build_generator("mlp", {"hidden": [8, 8], "layers": 3}, Z, (2,), 0)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.norm .*got 'instance'"):
        build_discriminator("mlp", {"norm": "instance"}, (2,), 0)
    with pytest.raises(ConfigError, match=r"model\.g\.args\.hidden must be an integer >= 1"):
        build_generator("mlp", {"hidden": [8, 0]}, Z, (2,), 0)
    with pytest.raises(ConfigError, match=r"unknown setting model\.d\.args\.hiden\. Did you mean 'hidden'\?"):
        build_discriminator("mlp", {"hiden": 8}, (2,), 0)
