"""The infogan latent prior: layout, documented distributions, reading and setting codes, option errors."""

import pytest
import torch

from gankit.priors import build_prior
from gankit.registry import ConfigError

N = 30000


def _draw(args, z_dim=5, n=N, seed=0):
    prior = build_prior("infogan", args, z_dim)
    return prior, prior.sample(n, torch.Generator().manual_seed(seed))


def test_layout_is_noise_then_one_hot_codes_then_continuous_codes():
    prior, z = _draw({"categorical": [3, 4], "continuous": 2, "continuous_range": 1.5})
    assert prior.dim == 5 + 3 + 4 + 2 and z.shape == (N, 14) and z.dtype == torch.float32
    assert [(c.name, c.kind, c.offset, c.size) for c in prior.code_list] == [
        ("cat0", "categorical", 5, 3), ("cat1", "categorical", 8, 4),
        ("cont0", "continuous", 12, 1), ("cont1", "continuous", 13, 1)]
    for lo, hi in ((5, 8), (8, 12)):  # exactly one-hot: every entry 0 or 1, one 1 per row
        block = z[:, lo:hi]
        assert set(block.unique().tolist()) == {0.0, 1.0}
        assert torch.equal(block.sum(dim=1), torch.ones(N))
    codes = prior.codes(z)
    assert set(codes) == {"cat0", "cat1", "cont0", "cont1"}
    assert codes["cat0"].shape == (N,) and codes["cat0"].dtype == torch.int64
    assert torch.equal(codes["cat1"], z[:, 8:12].argmax(dim=1))
    assert torch.equal(codes["cont1"], z[:, 13])


def test_codes_have_the_documented_distributions():
    prior, z = _draw({"categorical": [4], "continuous": 2, "continuous_range": 1.5})
    codes = prior.codes(z)
    freq = torch.bincount(codes["cat0"], minlength=4).float() / N
    # Uniform over 4 values: each frequency 0.25 with standard error sqrt(0.25 * 0.75 / N) = 0.0025.
    assert freq.tolist() == pytest.approx([0.25] * 4, abs=0.01)
    for name in ("cont0", "cont1"):
        c = codes[name]
        assert float(c.min()) >= -1.5 and float(c.max()) <= 1.5
        assert float(c.min()) < -1.45 and float(c.max()) > 1.45  # the whole interval is used
        assert c.mean().item() == pytest.approx(0.0, abs=0.02)
        assert c.var().item() == pytest.approx(3.0 ** 2 / 12, abs=0.02)  # U(a, b): (b - a)^2 / 12
        hist = torch.histc(c, bins=6, min=-1.5, max=1.5) / N
        assert hist.tolist() == pytest.approx([1 / 6] * 6, abs=0.01)
    # The two continuous codes and the categorical code are drawn independently.
    corr = torch.corrcoef(torch.stack([codes["cont0"], codes["cont1"], codes["cat0"].float()]))
    assert corr[0, 1:].abs().max() < 0.03 and corr[1, 2].abs() < 0.03


def test_noise_is_standard_gaussian_or_uniform_and_comes_first():
    prior, z = _draw({}, z_dim=8)
    noise = z[:, :8]
    assert noise.mean().item() == pytest.approx(0.0, abs=0.01) and noise.std().item() == pytest.approx(1.0, abs=0.01)
    assert ((noise ** 4).mean() / noise.var() ** 2).item() == pytest.approx(3.0, abs=0.1)  # gaussian kurtosis
    # Noise is drawn before the codes: the same seed gives the same noise whatever the codes are.
    other = build_prior("infogan", {"categorical": [2, 7], "continuous": 0}, 8)
    other = other.sample(N, torch.Generator().manual_seed(0))
    assert torch.equal(other[:, :8], noise)
    assert torch.equal(noise, torch.randn(N, 8, generator=torch.Generator().manual_seed(0)))
    _, u = _draw({"noise": "uniform"}, z_dim=8)
    assert float(u[:, :8].min()) >= -1.0 and float(u[:, :8].max()) <= 1.0
    assert u[:, :8].var().item() == pytest.approx(4.0 / 12, abs=0.01)
    # Defaults: one categorical(10) code and two continuous codes on U(-1, 1).
    assert prior.dim == 8 + 10 + 2 and [c.name for c in prior.code_list] == ["cat0", "cont0", "cont1"]


def test_with_code_sets_one_code_and_keeps_everything_else():
    prior, z = _draw({"categorical": [3], "continuous": 2}, n=6)
    out = prior.with_code(z, "cat0", torch.tensor([2, 0, 1, 2, 0, 1]))
    assert prior.codes(out)["cat0"].tolist() == [2, 0, 1, 2, 0, 1]
    assert torch.equal(out[:, 5:8].sum(dim=1), torch.ones(6))
    keep = [i for i in range(prior.dim) if not 5 <= i < 8]
    assert torch.equal(out[:, keep], z[:, keep])
    far = prior.with_code(z, "cont1", 2.5)  # one value for every row; outside the training range is allowed
    assert far[:, 9].tolist() == [2.5] * 6 and torch.equal(far[:, :9], z[:, :9])
    assert torch.equal(z, _draw({"categorical": [3], "continuous": 2}, n=6)[1])  # the input is not modified
    with pytest.raises(ValueError, match="cat0 takes values 0..2"):
        prior.with_code(z, "cat0", 3)
    with pytest.raises(ValueError, match=r"unknown code 'cat1'.*cat0 \(categorical, 3 values\), cont0 \(continuous\)"):
        prior.with_code(z, "cat1", 0)
    assert "infogan(z_dim=5" in prior.describe() and "dim=10" in prior.describe()


@pytest.mark.parametrize("args, match", [
    ({"categorical": [10, 1]}, r"model\.latent\.args\.categorical.*>= 2"),
    ({"categorical": 10}, r"model\.latent\.args\.categorical must be a list"),
    ({"categorical": [2.5]}, r"model\.latent\.args\.categorical"),
    ({"continuous": -1}, r"model\.latent\.args\.continuous must be an integer >= 0"),
    ({"categorical": [], "continuous": 0}, r"at least one code.*model\.latent\.name=gaussian"),
    ({"continuous_range": 0}, r"model\.latent\.args\.continuous_range must be a number > 0"),
    ({"noise": "normal"}, r"model\.latent\.args\.noise must be one of gaussian, uniform"),
    ({"categorcal": [10]}, r"model\.latent\.args\.categorcal.*categorical"),
])
def test_bad_options_name_the_setting(args, match):
    with pytest.raises(ConfigError, match=match):
        build_prior("infogan", args, 4)
