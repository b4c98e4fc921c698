"""PixelShuffle upsampling: output shapes, and ICNR initialisation (nearest upsampling at the start)."""

import pytest
import torch
import torch.nn.functional as F

from gankit.models import build_generator
from gankit.nn.upsample import PixelShuffleUp


@pytest.mark.parametrize("cin, cout, side", [(3, 5, 1), (8, 4, 4), (16, 16, 7)])
def test_output_doubles_the_side(cin, cout, side):
    up = PixelShuffleUp(cin, cout)
    assert up(torch.randn(2, cin, side, side)).shape == (2, cout, 2 * side, 2 * side)


def test_icnr_start_equals_nearest_upsampling_of_one_conv():
    torch.manual_seed(0)
    up = PixelShuffleUp(4, 3)
    x = torch.randn(2, 4, 5, 5)
    one = F.conv2d(x, up.conv.weight[::4], up.conv.bias[::4], padding=1)  # the first sub-pixel filter of each channel
    assert torch.allclose(up(x), F.interpolate(one, scale_factor=2, mode="nearest"), atol=1e-6)


def test_dcgan_generator_keeps_icnr_after_its_own_init():
    torch.manual_seed(0)
    G = build_generator("dcgan", {"width": 4, "upsample": "pixelshuffle"}, 8, (1, 32, 32), 0)
    ups = [m for m in G.modules() if isinstance(m, PixelShuffleUp)]
    assert len(ups) == 3  # 4 -> 8 -> 16 -> 32
    for m in ups:
        w = m.conv.weight
        assert all(torch.equal(w[i::4], w[::4]) for i in range(1, 4))
        assert w.std().item() == pytest.approx(0.02, rel=0.3)  # DCGAN's N(0, 0.02), not PyTorch's default
    assert G(torch.randn(2, 8)).shape == (2, 1, 32, 32)
