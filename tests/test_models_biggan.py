"""BigGAN: shapes at every resolution, the hierarchical latent (one z chunk per block), the shared class
embedding (one table, no spectral norm), widths after BigGAN-PyTorch, and conditioning."""

import pytest
import torch
from torch.nn.utils import parametrize

from gankit.models import build_discriminator, build_generator
from gankit.models.biggan import d_plan
from gankit.models.resnet import SNGANUpBlock
from gankit.nn.attention import SelfAttention
from gankit.registry import ConfigError
from gankit.regularizers.orthogonal import weight_matrices


@pytest.mark.parametrize("res, attention", [(16, 8), (32, 16), (64, 32)])
@pytest.mark.parametrize("classes", [0, 3])
def test_shapes_at_every_resolution(res, attention, classes):
    torch.manual_seed(0)
    G = build_generator("biggan", {"width": 2, "attention": attention}, 12, (3, res, res), classes)
    D = build_discriminator("biggan", {"width": 2, "attention": res // 2}, (3, res, res), classes)
    z, y = torch.randn(4, 12), (torch.arange(4) % classes if classes else None)
    x = G(z, y)
    assert x.shape == (4, 3, res, res) and float(x.detach().abs().max()) <= 1.0
    assert D(x, y).shape == (4,)
    assert sum(isinstance(m, SelfAttention) for m in (*G.modules(), *D.modules())) == 2


def test_each_block_reads_its_own_chunk_of_z():
    torch.manual_seed(0)
    G = build_generator("biggan", {"width": 2}, 10, (3, 32, 32), 3).eval()  # 3 blocks: 4 chunks of 3, 3, 2, 2
    assert G.chunks == [3, 3, 2, 2]
    assert [b.norm1.cond_dim for b in G.blocks] == [128 + 3, 128 + 2, 128 + 2]  # shared embedding + chunk
    z, y = torch.randn(2, 10), torch.tensor([0, 1])
    moved = z.clone()
    moved[:, -2:] += 1.0  # the last chunk only reaches the last block's norms
    seen = {}
    hook = G.blocks[2].register_forward_pre_hook(lambda m, args: seen.update({len(seen): args[1].clone()}))
    with torch.no_grad():
        a, b = G(z, y), G(moved, y)
    hook.remove()
    assert not torch.equal(a, b)
    assert torch.equal(seen[0][:, 128:], z[:, -2:]) and torch.equal(seen[1][:, 128:], moved[:, -2:])
    flat = build_generator("biggan", {"width": 2, "hier": False}, 10, (3, 32, 32), 3)
    assert flat.chunks == [10] and [b.norm1.cond_dim for b in flat.blocks] == [128] * 3


def test_one_shared_class_table_without_spectral_norm():
    G = build_generator("biggan", {"width": 2, "shared_dim": 16}, 8, (3, 32, 32), 5)
    assert G.shared.shape == (5, 16)
    assert not any(isinstance(m, torch.nn.Embedding) for m in G.modules())  # no per-norm class tables
    convs = [m for m in G.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)  # SN in G
    assert all(w is not G.shared for w in weight_matrices(G))  # orthogonal regularisation leaves it out
    with torch.no_grad():
        z = torch.randn(3, 8)
        G.eval()
        assert not torch.equal(G(z, torch.zeros(3, dtype=torch.long)), G(z, torch.ones(3, dtype=torch.long)))


def test_widths_follow_biggan_pytorch():
    G32 = build_generator("biggan", {"width": 64}, 128, (3, 32, 32), 10)
    assert [b.conv1.out_channels for b in G32.blocks] == [256] * 3  # the CIFAR network: 4 * ch everywhere
    assert d_plan(64, 32) == [(256, True), (256, True), (256, False), (256, False)]
    assert d_plan(1, 128) == [(1, True), (2, True), (4, True), (8, True), (16, True), (16, False)]
    G128 = build_generator("biggan", {"width": 1, "shared_dim": 4}, 12, (3, 128, 128), 2)
    assert [b.conv1.out_channels for b in G128.blocks] == [16, 8, 4, 2, 1]
    assert all(isinstance(b, SNGANUpBlock) for b in G128.blocks)


def test_bad_settings_name_the_option():
    with pytest.raises(ConfigError, match=r"model\.z_dim=3 is too small .* 4 chunks"):
        build_generator("biggan", {"width": 2}, 3, (3, 32, 32), 0)
    with pytest.raises(ConfigError, match=r"model\.g\.args\.conditioning must be one of none, projection"):
        build_generator("biggan", {"width": 2, "conditioning": "concat"}, 8, (3, 32, 32), 3)
