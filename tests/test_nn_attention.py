"""SAGAN self-attention: the identity at initialisation (gamma 0), non-local once gamma moves, shapes at
every size, and the ``attention`` option of the dcgan, resnet and biggan families."""

import pytest
import torch

from gankit.models import build_discriminator, build_generator
from gankit.nn.attention import SelfAttention
from gankit.registry import ConfigError


@pytest.mark.parametrize("side", [1, 2, 4, 5, 8, 16, 32, 64])
def test_gamma_zero_is_the_identity_and_shapes_hold(side):
    torch.manual_seed(0)
    block = SelfAttention(16)
    assert block.gamma.item() == 0.0
    x = torch.randn(2, 16, side, side)
    assert torch.equal(block(x), x)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    y = block(x)
    assert y.shape == x.shape and not torch.equal(y, x)


def test_each_position_sees_distant_ones():
    torch.manual_seed(1)
    block = SelfAttention(8)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(1, 8, 8, 8)
    far = x.clone()
    far[:, :, 7, 7] += 5.0  # change one corner
    # a 3x3 conv stack would need many layers to carry this to the opposite corner
    assert not torch.allclose(block(x)[:, :, 0, 0], block(far)[:, :, 0, 0])


def _count(net):
    return sum(isinstance(m, SelfAttention) for m in net.modules())


@pytest.mark.parametrize("family, g_sides, d_sides", [
    ("dcgan", [4, 8, 16], [16, 8, 4]), ("resnet", [8, 16, 32], [16, 8]), ("biggan", [8, 16, 32], [16, 8]),
])
def test_families_place_one_block_at_every_valid_side(family, g_sides, d_sides):
    for side in g_sides:
        G = build_generator(family, {"width": 4, "attention": side}, 8, (3, 32, 32), 0)
        assert _count(G) == 1 and G(torch.randn(2, 8)).shape == (2, 3, 32, 32)
    for side in d_sides:
        D = build_discriminator(family, {"width": 4, "attention": side}, (3, 32, 32), 0)
        assert _count(D) == 1 and D(torch.randn(2, 3, 32, 32)).shape == (2,)
    assert _count(build_generator(family, {"width": 4}, 8, (3, 32, 32), 0)) == 0


def test_a_side_the_network_lacks_is_a_config_error():
    with pytest.raises(ConfigError, match=r"model\.d\.args\.attention .* maps of side 4, 8, 16, got 32"):
        build_discriminator("dcgan", {"width": 4, "attention": 32}, (3, 32, 32), 0)
