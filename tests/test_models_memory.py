"""Networks too large for the machine are refused before any memory is allocated."""

import pytest
import torch

import gankit.models as models
from gankit.models import GENERATORS, build_discriminator, build_generator
from gankit.registry import ConfigError


def test_absurd_width_is_refused_with_the_memory_it_would_need():
    with pytest.raises(ConfigError, match=r"1\.6e\+12 parameters: 5\.8 TiB of weights and about 23\.3 TiB to train.*"
                                          r"lower its size \(model\.g\.args\.width=100000, model\.z_dim=64\)"):
        build_generator("dcgan", {"width": 100000}, z_dim=64, out_shape=(1, 32, 32), num_classes=0)


def test_absurd_z_dim_is_refused():
    with pytest.raises(ConfigError, match=r"model\.z_dim=1000000000"):
        build_generator("mlp", {"hidden": 64}, z_dim=10**9, out_shape=(2,), num_classes=0)


def test_the_limit_is_the_available_memory(monkeypatch):
    d_args = {"width": 8}
    d = build_discriminator("dcgan", d_args, in_shape=(1, 16, 16), num_classes=0)
    weights = sum(p.numel() * p.element_size() for p in [*d.parameters(), *d.buffers()])
    monkeypatch.setattr(models, "available_memory", lambda: 4 * weights)  # weights, grads, Adam: just fits
    build_discriminator("dcgan", d_args, in_shape=(1, 16, 16), num_classes=0)
    monkeypatch.setattr(models, "available_memory", lambda: 4 * weights - 1)
    with pytest.raises(ConfigError, match=r"discriminator 'dcgan'.*model\.d\.args\.width=8"):
        build_discriminator("dcgan", d_args, in_shape=(1, 16, 16), num_classes=0)


def test_the_size_probe_draws_no_random_numbers():
    """The probe builds on the meta device; the real network gets the seed's usual weights."""
    torch.manual_seed(5)
    checked = build_generator("dcgan", {"width": 4, "spectral_norm": True}, z_dim=8, out_shape=(1, 16, 16),
                              num_classes=0)
    torch.manual_seed(5)
    plain = GENERATORS.build("dcgan", {"width": 4, "spectral_norm": True}, z_dim=8, out_shape=(1, 16, 16),
                             num_classes=0)
    assert checked.state_dict().keys() == plain.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(checked.state_dict().values(), plain.state_dict().values()))
