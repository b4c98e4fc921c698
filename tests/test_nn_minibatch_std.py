"""Minibatch standard-deviation layer and its use in the discriminators."""

import pytest
import torch

from gankit.models import build_discriminator
from gankit.nn.minibatch_std import MinibatchStd


def test_layer_appends_group_std():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 2, 2)
    out = MinibatchStd(2)(x)
    assert out.shape == (4, 4, 2, 2)
    torch.testing.assert_close(out[:, :3], x)
    # Groups take samples i and i + N/G: {0, 2} and {1, 3}.
    for members in ([0, 2], [1, 3]):
        std = x[members].std(dim=0, unbiased=False).mean()
        for i in members:
            torch.testing.assert_close(out[i, 3], torch.full((2, 2), std.item()), rtol=1e-5, atol=1e-5)


def test_vectors_and_small_batches():
    x = torch.tensor([[0.0, 2.0], [2.0, 4.0]])
    # A batch smaller than the group size is one group; std of (0, 2) and of (2, 4) is 1.
    torch.testing.assert_close(MinibatchStd(4)(x), torch.tensor([[0.0, 2.0, 1.0], [2.0, 4.0, 1.0]]))
    with pytest.raises(ValueError, match=r"batch of 6 is not divisible by the group size 4"):
        MinibatchStd(4)(torch.randn(6, 2))


@pytest.mark.parametrize("family,args,check", [
    ("dcgan", {"width": 4}, lambda D: D.head.linear.in_features == (8 + 1) * 16),
    ("resnet", {"width": 4}, lambda D: D.blocks[-1].conv1.in_channels == 5),
    ("mlp", {"hidden": 8}, lambda D: D.trunk[-2].in_features == 9),
])
def test_discriminator_output_depends_on_the_batch(family, args, check):
    torch.manual_seed(0)
    norm = {"norm": "none"}
    with_std = build_discriminator(family, {**args, **norm, "minibatch_std": 4}, (1, 16, 16), 0).eval()
    without = build_discriminator(family, {**args, **norm}, (1, 16, 16), 0).eval()
    assert check(with_std)
    x = torch.randn(4, 1, 16, 16)
    other = x.clone()
    other[1:] = torch.randn(3, 1, 16, 16)  # same first sample, different company
    assert not torch.isclose(with_std(x)[0], with_std(other)[0])
    torch.testing.assert_close(without(x)[0], without(other)[0])


def test_bad_group_size():
    from gankit.registry import ConfigError

    with pytest.raises(ConfigError, match=r"model\.d\.args\.minibatch_std must be an integer >= 0"):
        build_discriminator("dcgan", {"minibatch_std": -1}, (1, 16, 16), 0)
