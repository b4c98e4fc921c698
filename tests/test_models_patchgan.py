"""PatchGAN discriminator: map sizes, measured receptive field, layer layout, norms, errors."""

import pytest
import torch
from torch import nn

from gankit.models import build_discriminator
from gankit.models.patchgan import patch_map_size, receptive_field
from gankit.registry import ConfigError

# The module docstring's table: (resolution, n_layers) -> output map side.
MAP_SIZES = {
    (16, 1): 6, (32, 1): 14, (64, 1): 30, (128, 1): 62, (256, 1): 126,
    (16, 2): 2, (32, 2): 6, (64, 2): 14, (128, 2): 30, (256, 2): 62,
    (32, 3): 2, (64, 3): 6, (128, 3): 14, (256, 3): 30,
}


def test_receptive_field_formula():
    assert [receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]


def test_patch_map_size_table():
    assert {key: patch_map_size(*key) for key in MAP_SIZES} == MAP_SIZES
    assert patch_map_size(16, 3) == 0
    assert patch_map_size(28, 2) == 5  # odd intermediate sizes round down, as Conv2d does


@pytest.mark.parametrize("resolution,n_layers", [(16, 1), (16, 2), (32, 1), (32, 2), (32, 3), (64, 3)])
def test_output_shape_per_resolution(resolution, n_layers):
    D = build_discriminator("patchgan", {"width": 4, "n_layers": n_layers}, (3, resolution, resolution), 0)
    out = D(torch.randn(2, 3, resolution, resolution))
    side = MAP_SIZES[resolution, n_layers]
    assert out.shape == (2, side, side)
    assert (D.map_size, D.receptive_field) == (side, receptive_field(n_layers))
    assert (D.in_shape, D.num_classes) == ((3, resolution, resolution), 0)


def test_reference_layout_at_256():
    # The 70x70 PatchGAN of pix2pix: C64 (no norm) - C128 - C256 - C512 (stride 1) - 1, LeakyReLU 0.2.
    D = build_discriminator("patchgan", {"norm": "batch"}, (3, 256, 256), 0)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.stride[0], c.kernel_size[0]) for c in convs] == [
        (64, 2, 4), (128, 2, 4), (256, 2, 4), (512, 1, 4), (1, 1, 4)]
    assert [c.bias is not None for c in convs] == [True, False, False, False, True]  # BN absorbs biases
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert sum(p.numel() for p in D.parameters()) == 2_765_633  # the reference's "2.765 M"


def test_channel_multiplier_is_capped_at_8():
    D = build_discriminator("patchgan", {"width": 2, "n_layers": 5}, (1, 256, 256), 0)
    assert [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)] == [2, 4, 8, 16, 16, 16, 1]


def _positive_weights(D):
    """Make every path from input to output contribute a positive amount, so no gradient cancels."""
    with torch.no_grad():
        for m in D.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.uniform_(0.5, 1.0)
                if m.bias is not None:
                    m.bias.zero_()


@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("norm", ["none", "batch"])
def test_receptive_field_is_measured(n_layers, norm):
    # One logit's input gradient is non-zero on exactly a receptive_field-wide window, placed at
    # stride 2^n minus the padding of all layers (3 * 2^n - 1). Batch norm in eval mode acts per
    # channel, so it keeps the field; in training (or instance norm) the statistics couple all pixels.
    R = 128
    D = build_discriminator("patchgan", {"width": 4, "n_layers": n_layers, "norm": norm}, (1, R, R), 0)
    D = D.double().eval()
    _positive_weights(D)
    x = torch.randn(1, 1, R, R, dtype=torch.float64, requires_grad=True)
    i, j = D.map_size // 2, D.map_size // 2 + 1
    D(x)[0, i, j].backward()
    nonzero = x.grad[0, 0] != 0
    rows = nonzero.any(dim=1).nonzero().flatten().tolist()
    cols = nonzero.any(dim=0).nonzero().flatten().tolist()
    field, stride, offset = receptive_field(n_layers), 2 ** n_layers, 3 * 2 ** n_layers - 1
    assert rows == list(range(i * stride - offset, i * stride - offset + field))
    assert cols == list(range(j * stride - offset, j * stride - offset + field))
    assert bool(nonzero[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all())  # the full square, no holes


@pytest.mark.parametrize("norm,layer", [("instance", nn.InstanceNorm2d), ("batch", nn.BatchNorm2d),
                                        ("layer", nn.GroupNorm), ("none", None)])
def test_norm_options(norm, layer):
    D = build_discriminator("patchgan", {"width": 4, "norm": norm}, (3, 32, 32), 0)
    norms = [m for m in D.modules() if isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d, nn.GroupNorm))]
    # One norm after each of the convs 2..n_layers+1 (none on the first conv or the logit conv).
    assert [type(m) for m in norms] == ([layer] * 3 if layer else [])
    first = list(D.net)[:2]
    assert isinstance(first[0], nn.Conv2d) and isinstance(first[1], nn.LeakyReLU)
    assert D(torch.randn(2, 3, 32, 32)).shape == (2, 2, 2)


def test_default_norm_is_instance():
    D = build_discriminator("patchgan", {"width": 4}, (3, 32, 32), 0)
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in D.modules()) == 3


def test_initialisation_is_normal_002():
    torch.manual_seed(0)
    D = build_discriminator("patchgan", {"width": 16}, (3, 64, 64), 0)
    w = torch.cat([m.weight.flatten() for m in D.modules() if isinstance(m, nn.Conv2d)])
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    assert abs(w.mean().item()) < 1e-3
    assert all(torch.count_nonzero(m.bias) == 0 for m in D.modules() if isinstance(m, nn.Conv2d) and m.bias is not None)


def test_spectral_norm_option():
    D = build_discriminator("patchgan", {"width": 4, "spectral_norm": True}, (3, 32, 32), 0)
    assert all(hasattr(m, "parametrizations") for m in D.modules() if isinstance(m, nn.Conv2d))


def test_errors():
    with pytest.raises(ConfigError, match=r"model\.d\.args\.n_layers=3 needs images of at least 24x24, but "
                                          r"data\.resolution=16 .* use model\.d\.args\.n_layers=2"):
        build_discriminator("patchgan", {}, (3, 16, 16), 0)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.n_layers=1 .*data\.resolution=4 .*data\.resolution >= 6"):
        build_discriminator("patchgan", {"n_layers": 1}, (3, 4, 4), 0)
    with pytest.raises(ConfigError, match=r"patchgan is unconditional.*set model\.conditional=false"):
        build_discriminator("patchgan", {}, (3, 32, 32), 10)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.norm .*Did you mean 'batch'\?"):
        build_discriminator("patchgan", {"norm": "bach"}, (3, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.n_layers must be an integer >= 1, got 0"):
        build_discriminator("patchgan", {"n_layers": 0}, (3, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"unknown setting model\.d\.args\.nlayers\. Did you mean 'n_layers'\?"):
        build_discriminator("patchgan", {"nlayers": 2}, (3, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"model\.d\.name=patchgan needs image data"):
        build_discriminator("patchgan", {}, (64,), 0)
    with pytest.raises(ConfigError, match=r"square"):
        build_discriminator("patchgan", {}, (3, 32, 64), 0)
    D = build_discriminator("patchgan", {"width": 4}, (3, 32, 32), 0)
    with pytest.raises(ValueError, match=r"expects x of shape \[N, 3, 32, 32\]"):
        D(torch.randn(1, 1, 32, 32))
