"""Gradient penalties (gp, dragan, r1, r2) against values computed by hand on D's with known gradients."""

import pytest
import torch

from gankit.penalties import interpolate
from gankit.registry import ConfigError
from gankit.regularizers import StepContext, build_regularizers

N, SHAPE = 6, (2, 3, 3)  # tiny images [N, 2, 3, 3]


class Linear(torch.nn.Module):
    """D(x) = <w, x>: the input gradient is w for every x, so ||grad|| = ||w||."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w.clone())

    def forward(self, x, y=None):
        return (x.flatten(1) * self.w).sum(1)


class Quadratic(torch.nn.Module):
    """D(x) = 0.5 * ||x||^2 per sample: the input gradient is x itself."""

    def forward(self, x, y=None):
        return 0.5 * x.flatten(1).pow(2).sum(1)


class PerClassLinear(torch.nn.Module):
    """Conditional D(x, y) = <w[y], x>: the input gradient is w[y]."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x, y):
        return (x.flatten(1) * self.w[y]).sum(1)


class PackedLinear(torch.nn.Module):
    """PacGAN-style D with packing 2: one logit <w, [x_2k, x_2k+1]> per pair of samples."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x, y=None):
        return (x.reshape(x.shape[0] // 2, -1) * self.w).sum(1)


def context(D, real, fake, y_real=None, y_fake=None, real_out=None, step=0):
    return StepContext(D=D, G=torch.nn.Identity(), d_forward=lambda x, y: D(x, y), real=real, y_real=y_real,
                       fake=fake, y_fake=y_fake, real_out=real_out, fake_out=None, step=step)


def batches(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, *SHAPE, generator=g), torch.randn(N, *SHAPE, generator=g)


def vector(norm, seed=1):
    w = torch.randn(18, generator=torch.Generator().manual_seed(seed))
    return w * (norm / w.norm())


@pytest.mark.parametrize("norm", [0.5, 3.0])
def test_gp_linear_critic_equals_weight_times_norm_deviation_squared(norm):
    real, fake = batches()
    D = Linear(vector(norm))
    gp = build_regularizers({"gp": {"weight": 7.0}})["gp"]
    assert gp.d_penalty(context(D, real, fake)).item() == pytest.approx(7.0 * (norm - 1) ** 2, rel=1e-5)


@pytest.mark.parametrize("norm, expected", [(0.5, 0.0), (3.0, 10.0 * 4.0)])
def test_gp_one_sided_penalises_only_norms_above_one(norm, expected):
    real, fake = batches()
    gp = build_regularizers({"gp": {"one_sided": True}})["gp"]
    assert gp.d_penalty(context(Linear(vector(norm)), real, fake)).item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_gp_center_option():
    real, fake = batches()
    gp = build_regularizers({"gp": {"weight": 2.0, "center": 0.0}})["gp"]
    assert gp.d_penalty(context(Linear(vector(1.5)), real, fake)).item() == pytest.approx(2.0 * 1.5 ** 2, rel=1e-5)


def test_gp_trains_d_through_the_penalty():
    """create_graph: d/dw [weight * (||w|| - 1)^2] = weight * 2 (||w|| - 1) w / ||w||."""
    real, fake = batches()
    w = vector(3.0)
    D = Linear(w)
    build_regularizers({"gp": {"weight": 10.0}})["gp"].d_penalty(context(D, real, fake)).backward()
    torch.testing.assert_close(D.w.grad, 10.0 * 2 * (3.0 - 1) * w / 3.0)


def test_interpolate_uses_one_alpha_per_sample():
    real, fake = batches()
    x_hat = interpolate(real, fake, generator=torch.Generator().manual_seed(3))
    alpha = torch.rand(N, 1, 1, 1, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(x_hat, alpha * real + (1 - alpha) * fake)
    assert interpolate(real[:, 0, 0], fake[:, 0, 0]).shape == (N, 3)  # vector data: alpha [N, 1]


def test_gp_quadratic_critic_matches_manual_interpolates():
    """With D = 0.5||x||^2 the gradient is x_hat itself, so the penalty depends on each alpha."""
    real, fake = batches()
    torch.manual_seed(5)
    alpha = torch.rand(N, 1, 1, 1)
    norms = (alpha * real + (1 - alpha) * fake).flatten(1).norm(dim=1)
    torch.manual_seed(5)
    gp = build_regularizers({"gp": {"weight": 3.0}})["gp"]
    got = gp.d_penalty(context(Quadratic(), real, fake))
    assert got.item() == pytest.approx(3.0 * ((norms - 1) ** 2).mean().item(), rel=1e-5)


def test_gp_conditional_d_sees_real_labels():
    real, fake = batches()
    w = torch.stack([vector(0.5), vector(2.0), vector(4.0)])
    y_real, y_fake = torch.tensor([0, 1, 2, 2, 1, 0]), torch.zeros(N, dtype=torch.long)
    expected = 10.0 * ((torch.tensor([0.5, 2.0, 4.0])[y_real] - 1) ** 2).mean().item()
    gp = build_regularizers({"gp": {}})["gp"]
    got = gp.d_penalty(context(PerClassLinear(w), real, fake, y_real=y_real, y_fake=y_fake))
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_gp_packed_d_gets_per_sample_gradients():
    """Sample 2k's gradient is w[:18], sample 2k+1's is w[18:]."""
    real, fake = batches()
    w = torch.cat([vector(0.5), vector(2.0, seed=2)])
    gp = build_regularizers({"gp": {"weight": 1.0}})["gp"]
    got = gp.d_penalty(context(PackedLinear(w), real, fake))
    assert got.item() == pytest.approx(((0.5 - 1) ** 2 + (2.0 - 1) ** 2) / 2, rel=1e-5)


def test_gp_and_dragan_read_logits_from_dict_outputs():
    real, fake = batches()
    D = Linear(vector(2.0))

    def dict_d(x, y):
        return {"logits": D(x), "class_logits": torch.zeros(x.shape[0], 3)}

    ctx = StepContext(D=D, G=D, d_forward=dict_d, real=real, y_real=None, fake=fake, y_fake=None,
                      real_out=None, fake_out=None, step=0)
    regs = build_regularizers({"gp": {}, "dragan": {}})
    assert regs["gp"].d_penalty(ctx).item() == pytest.approx(10.0, rel=1e-5)
    assert regs["dragan"].d_penalty(ctx).item() == pytest.approx(10.0, rel=1e-5)


def test_dragan_linear_critic():
    real, fake = batches()
    dragan = build_regularizers({"dragan": {"weight": 4.0, "c": 0.3}})["dragan"]
    assert dragan.d_penalty(context(Linear(vector(2.5)), real, fake)).item() == pytest.approx(4.0 * 1.5 ** 2, rel=1e-5)


def test_dragan_perturbs_real_data_with_per_sample_alpha():
    """Quadratic D: gradient = x_hat = x + alpha * c * std(x) * u; draws: u, then alpha."""
    real, fake = batches()
    torch.manual_seed(11)
    u = torch.rand(N, *SHAPE)
    alpha = torch.rand(N, 1, 1, 1)
    norms = (real + alpha * 0.5 * real.std() * u).flatten(1).norm(dim=1)
    torch.manual_seed(11)
    dragan = build_regularizers({"dragan": {}})["dragan"]
    got = dragan.d_penalty(context(Quadratic(), real, fake))
    assert got.item() == pytest.approx(10.0 * ((norms - 1) ** 2).mean().item(), rel=1e-5)


def test_r1_uses_real_out_without_an_extra_forward():
    real, fake = batches()
    r1 = build_regularizers({"r1": {"gamma": 3.0}})["r1"]
    assert r1.needs_real_grad is True and r1.every == 1
    real.requires_grad_(True)
    calls = []
    D = Quadratic()
    ctx = context(D, real, fake, real_out=D(real))
    ctx.d_forward = lambda x, y: calls.append(x)  # any extra forward would be recorded
    expected = 3.0 / 2 * real.detach().flatten(1).pow(2).sum(1).mean().item()
    assert r1.d_penalty(ctx).item() == pytest.approx(expected, rel=1e-5)
    assert calls == []


def test_r1_lazy_scaling_by_every():
    real, fake = batches()
    r1 = build_regularizers({"r1": {"gamma": 2.0, "every": 4}})["r1"]
    assert r1.every == 4
    real.requires_grad_(True)
    D = Quadratic()
    expected = 4 * 2.0 / 2 * real.detach().flatten(1).pow(2).sum(1).mean().item()
    got = r1.d_penalty(context(D, real, fake, real_out={"logits": D(real)}))
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_r1_without_real_grad_names_the_fix():
    real, fake = batches()
    D = Quadratic()
    r1 = build_regularizers({"r1": {}})["r1"]
    with pytest.raises(ValueError, match="needs_real_grad"):
        r1.d_penalty(context(D, real, fake, real_out=D(real)))


def test_r2_on_fake_with_lazy_scaling():
    real, fake = batches()
    r2 = build_regularizers({"r2": {"gamma": 1.0, "every": 2}})["r2"]
    assert r2.needs_real_grad is False
    expected = 2 * 1.0 / 2 * fake.flatten(1).pow(2).sum(1).mean().item()
    assert r2.d_penalty(context(Quadratic(), real, fake)).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("spec, match", [
    ({"gp": {"weight": -1.0}}, "regularizers.gp.weight"),
    ({"gp": {"center": -0.5}}, "regularizers.gp.center"),
    ({"gp": {"lambda": 10}}, "regularizers.gp.lambda"),
    ({"dragan": {"c": 0.0}}, "regularizers.dragan.c"),
    ({"dragan": {"weight": -2.0}}, "regularizers.dragan.weight"),
    ({"r1": {"every": 0}}, "regularizers.r1.every"),
    ({"r1": {"every": 2.5}}, "regularizers.r1.every"),
    ({"r1": {"gamma": -1.0}}, "regularizers.r1.gamma"),
    ({"r2": {"every": 0}}, "regularizers.r2.every"),
])
def test_bad_options_name_the_setting(spec, match):
    with pytest.raises(ConfigError, match=match):
        build_regularizers(spec)
