"""PacGAN packing and its use in the discriminators."""

import pytest
import torch

from gankit.models import build_discriminator
from gankit.nn.pack import pack_samples
from gankit.registry import ConfigError


def test_pack_concatenates_consecutive_samples_along_channels():
    x = torch.randn(6, 2, 3, 3)
    packed = pack_samples(x, 3)
    assert packed.shape == (2, 6, 3, 3)
    torch.testing.assert_close(packed[1], torch.cat([x[3], x[4], x[5]], dim=0))
    v = torch.randn(4, 5)
    torch.testing.assert_close(pack_samples(v, 2), torch.stack([torch.cat([v[0], v[1]]), torch.cat([v[2], v[3]])]))
    assert pack_samples(v, 1) is v


@pytest.mark.parametrize("family,args,shape", [
    ("dcgan", {"width": 4}, (3, 16, 16)),
    ("resnet", {"width": 4}, (3, 16, 16)),
    ("mlp", {"hidden": 8}, (2,)),
])
def test_discriminator_returns_one_logit_per_pack(family, args, shape):
    torch.manual_seed(0)
    D = build_discriminator(family, {**args, "pack": 3}, shape, 0).eval()
    assert D.trunk_shape[0] == 3 * shape[0]
    x = torch.randn(6, *shape)
    out = D(x)
    assert out.shape == (2,)
    # Packed logit 0 depends on samples 0-2 only.
    other = x.clone()
    other[3:] = torch.randn(3, *shape)
    torch.testing.assert_close(D(other)[0], out[0])
    other[1] = torch.randn(*shape)
    assert not torch.isclose(D(other)[0], out[0])


def test_indivisible_batch_and_bad_option():
    D = build_discriminator("dcgan", {"width": 4, "pack": 2}, (1, 16, 16), 0)
    with pytest.raises(ValueError, match=r"got 5 samples, not divisible by model\.d\.args\.pack=2"):
        D(torch.randn(5, 1, 16, 16))
    with pytest.raises(ConfigError, match=r"model\.d\.args\.pack must be an integer >= 1"):
        build_discriminator("dcgan", {"pack": 0}, (1, 16, 16), 0)
