"""Each adversarial loss against values computed by hand."""

import math

import pytest
import torch

from gankit.losses import LOSSES, build_loss
from gankit.registry import ConfigError

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def log_sigmoid(x):
    return -math.log1p(math.exp(-x))


def test_bce_matches_hand_computation():
    loss = build_loss("bce", {})
    want_d = -(log_sigmoid(2.0) + log_sigmoid(-1.0)) / 2 - (log_sigmoid(-0.5) + log_sigmoid(3.0)) / 2
    want_g = -(log_sigmoid(0.5) + log_sigmoid(-3.0)) / 2
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(want_d, rel=1e-6)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(want_g, rel=1e-6)


def test_bce_one_sided_label_smoothing_changes_only_real_targets():
    loss = build_loss("bce", {"label_smoothing": 0.1})
    t = 0.9
    real_term = sum(-(t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x)) for x in (2.0, -1.0)) / 2
    fake_term = -(log_sigmoid(-0.5) + log_sigmoid(3.0)) / 2
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(real_term + fake_term, rel=1e-6)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(build_loss("bce", {}).g_loss(FAKE, REAL).item())


def test_minimax_generator_loss_is_log_one_minus_d():
    loss = build_loss("minimax", {})
    want = (math.log(1 - 1 / (1 + math.exp(-0.5))) + math.log(1 - 1 / (1 + math.exp(3.0)))) / 2
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(want, rel=1e-6)


def test_wasserstein():
    loss = build_loss("wasserstein", {})
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx((0.5 - 3.0) / 2 - (2.0 - 1.0) / 2)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(-(0.5 - 3.0) / 2)


def test_hinge():
    loss = build_loss("hinge", {})
    # relu(1-2)=0, relu(1+1)=2 -> 1 ; relu(1+0.5)=1.5, relu(1-3)=0 -> 0.75
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(1.0 + 0.75)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(1.25)


def test_lsgan():
    loss = build_loss("lsgan", {})
    want_d = 0.5 * ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + 0.5 * (0.5 ** 2 + 3.0 ** 2) / 2
    want_g = 0.5 * ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(want_d)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(want_g)


def test_unknown_loss_and_bad_option_name_the_fix():
    with pytest.raises(ConfigError, match="Did you mean 'hinge'"):
        build_loss("hinje", {})
    with pytest.raises(ConfigError, match="loss.args.label_smothing.*label_smoothing"):
        build_loss("bce", {"label_smothing": 0.1})
    with pytest.raises(ConfigError, match="label_smoothing must be in"):
        build_loss("bce", {"label_smoothing": 0.7})
    assert set(LOSSES.names()) >= {"bce", "minimax", "wasserstein", "hinge", "lsgan"}
