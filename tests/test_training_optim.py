"""LR schedules (optim.*.lr_decay): their factors, and that the config accepts exactly them."""

import pytest
import torch
from omegaconf import OmegaConf

from gankit.config import load_config
from gankit.registry import ConfigError
from gankit.training.optim import LR_DECAYS, build_scheduler


def _lrs(decay: str, total: int) -> list:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = build_scheduler(opt, OmegaConf.create({"lr_decay": decay}), total)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out + [opt.param_groups[0]["lr"]]


def test_schedules_give_the_documented_factors():
    assert _lrs("none", 4) == [1.0] * 5
    assert _lrs("linear", 4) == [1.0, 0.75, 0.5, 0.25, 0.0]
    # CycleGAN's: constant over the first half, then linear to 0 at the last step.
    assert _lrs("linear_second_half", 8) == pytest.approx([1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0])
    assert _lrs("linear_second_half", 5) == pytest.approx([1, 1, 1, 2 / 3, 1 / 3, 0])


def test_config_accepts_exactly_the_schedules():
    for name in LR_DECAYS:
        assert load_config("dcgan-mnist", overrides=[f"optim.g.lr_decay={name}"]).optim.g.lr_decay == name
    with pytest.raises(ConfigError, match="optim.d.lr_decay must be one of none, linear, linear_second_half"):
        load_config("dcgan-mnist", overrides=["optim.d.lr_decay=linear_2nd_half"])
