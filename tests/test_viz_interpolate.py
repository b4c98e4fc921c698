"""Latent interpolation: exact end points, slerp geometry, soft-label class walks."""

import math

import pytest
import torch
from torch import nn

from gankit.models import build_generator
from gankit.viz.interpolate import class_interpolation, lerp, seed_interpolation, slerp

def noise(n, z_dim, seed):
    """gankit's fixed noise for a generator without a prior: a CPU standard gaussian seeded with ``seed``."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))



@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _generator(num_classes=0, conditioning="none", **extra):
    torch.manual_seed(0)
    return build_generator("mlp", {"hidden": 16, "layers": 2, "conditioning": conditioning, **extra}, z_dim=6,
                           out_shape=(1, 5, 5), num_classes=num_classes).eval()


@pytest.mark.parametrize("mode", ["lerp", "slerp"])
def test_end_points_are_exactly_the_seed_samples(mode):
    G = _generator()
    seeds = [3, 0, 7]
    x = seed_interpolation(G, seeds, steps=5, mode=mode)
    assert x.shape == (2 * 5, 1, 5, 5)
    with torch.no_grad():
        own = [G(noise(1, G.z_dim, s))[0] for s in seeds]
    assert torch.equal(x[0], own[0]) and torch.equal(x[4], own[1])
    assert torch.equal(x[5], own[1]) and torch.equal(x[9], own[2])


def test_slerp_keeps_the_norm_of_equal_norm_end_points():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, generator=g), torch.randn(64, generator=g)
    b = b * (a.norm() / b.norm())
    path = slerp(a, b, 11)
    torch.testing.assert_close(path.norm(dim=1), a.norm().expand(11), atol=1e-5, rtol=0)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)


def test_slerp_of_orthogonal_unit_vectors_follows_the_circle():
    path = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 3)
    h = math.sqrt(0.5)
    torch.testing.assert_close(path, torch.tensor([[1.0, 0.0], [h, h], [0.0, 1.0]]))


def test_slerp_of_parallel_vectors_is_lerp():
    a = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(slerp(a, 3 * a, 3), lerp(a, 3 * a, 3))
    torch.testing.assert_close(lerp(a, 3 * a, 3), torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]))


class EmbeddingG(nn.Module):
    """G(z, y) = tanh(W z + E[y]): affine in the one-hot label, so its soft-label output is known."""

    def __init__(self):
        super().__init__()
        self.z_dim, self.num_classes, self.out_shape = 3, 4, (1, 2, 2)
        self.lin = nn.Linear(3, 4)
        self.embed = nn.Embedding(4, 4)

    def forward(self, z, y=None):
        return torch.tanh(self.lin(z) + self.embed(y)).view(-1, 1, 2, 2)


def test_class_walk_blends_soft_labels():
    torch.manual_seed(0)
    G = EmbeddingG().eval()
    x = class_interpolation(G, seeds=[2], classes=[1, 3], steps=5)
    z = noise(1, 3, 2)
    with torch.no_grad():
        for i, t in enumerate([0.0, 0.25, 0.5, 0.75, 1.0]):
            soft = (1 - t) * G.embed.weight[1] + t * G.embed.weight[3]
            torch.testing.assert_close(x[i], torch.tanh(G.lin(z) + soft).view(1, 2, 2))
        assert torch.equal(x[0], G(z, torch.tensor([1]))[0]) and torch.equal(x[4], G(z, torch.tensor([3]))[0])


@pytest.mark.parametrize("conditioning, extra", [("concat", {}), ("concat", {"embed_dim": 3}), ("projection", {})])
def test_class_walk_on_gankit_generators(conditioning, extra):
    G = _generator(3, conditioning, **extra)
    with torch.no_grad():
        for m in G.modules():  # conditional norms start as the identity for every class: make classes differ
            if hasattr(m, "gain"):
                m.gain.normal_()
                m.bias.normal_()
    x = class_interpolation(G, seeds=[0, 1], classes=[0, 2, 1], steps=4)
    assert x.shape == (2 * 2 * 4, 1, 5, 5)
    z0 = noise(1, 6, 0)
    with torch.no_grad():
        ends = [G(z0, torch.tensor([c]))[0] for c in (0, 2, 1)]
    assert torch.equal(x[0], ends[0]) and torch.equal(x[3], ends[1]) and torch.equal(x[7], ends[2])
    assert not torch.equal(x[1], x[0])  # the labels really are blended in between


def test_conditional_seed_walk_uses_given_labels():
    G = _generator(3, "concat")
    x = seed_interpolation(G, [0, 1], steps=3, labels=[2])
    with torch.no_grad():
        assert torch.equal(x[0], G(noise(1, 6, 0), torch.tensor([2]))[0])


def test_bad_requests_say_what_to_do():
    G = _generator()
    with pytest.raises(ValueError, match="conditional"):
        class_interpolation(G, [0], [0, 1])
    with pytest.raises(ValueError, match="at least two seeds"):
        seed_interpolation(G, [0])
    with pytest.raises(ValueError, match="steps"):
        seed_interpolation(G, [0, 1], steps=1)
    with pytest.raises(ValueError, match="lerp, slerp"):
        seed_interpolation(G, [0, 1], mode="cubic")
    with pytest.raises(ValueError, match="out of range"):
        class_interpolation(_generator(3, "concat"), [0], [0, 5])
