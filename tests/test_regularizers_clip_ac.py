"""Weight clipping and the AC-GAN auxiliary classifier loss."""

import pytest
import torch
import torch.nn.functional as F

from gankit.registry import ConfigError
from gankit.regularizers import REGULARIZERS, StepContext, build_regularizers


def test_clip_clamps_every_parameter_and_leaves_inside_values_unchanged():
    D = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 1))
    with torch.no_grad():
        for p in D.parameters():
            p.copy_(torch.linspace(-0.05, 0.05, p.numel()).reshape(p.shape))
    before = [p.detach().clone() for p in D.parameters()]
    clip = build_regularizers({"clip": {"value": 0.02}})["clip"]
    clip.after_d_step(D)
    for old, new in zip(before, D.parameters()):
        torch.testing.assert_close(new.detach(), old.clamp(-0.02, 0.02))
    assert any(bool((old.abs() > 0.02).any()) for old in before)  # the fixture does exercise clamping


def test_clip_adds_no_penalty_and_defaults_to_001():
    clip = build_regularizers({"clip": {}})["clip"]
    assert clip.value == 0.01
    assert clip.d_penalty(None) is None and clip.g_penalty(None) is None


@pytest.mark.parametrize("value", [0.0, -0.01])
def test_clip_rejects_non_positive_value(value):
    with pytest.raises(ConfigError, match="regularizers.clip.value"):
        build_regularizers({"clip": {"value": value}})


def test_disabled_entries_are_skipped():
    assert list(build_regularizers({"clip": None, "gp": False, "r1": True})) == ["r1"]


def _ac_context(real_out, fake_out, y_real, y_fake):
    D = torch.nn.Identity()
    return StepContext(D=D, G=D, d_forward=D, real=torch.zeros(4, 1), y_real=y_real, fake=torch.zeros(4, 1),
                       y_fake=y_fake, real_out=real_out, fake_out=fake_out, step=0)


def test_ac_equals_manual_cross_entropy():
    g = torch.Generator().manual_seed(0)
    real_cls, fake_cls = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    y_real, y_fake = torch.tensor([0, 2, 1, 1]), torch.tensor([2, 2, 0, 1])
    ctx = _ac_context({"logits": torch.zeros(4), "class_logits": real_cls},
                      {"logits": torch.zeros(4), "class_logits": fake_cls}, y_real, y_fake)
    ac = build_regularizers({"ac": {"weight": 0.5}})["ac"]
    ce_real = -torch.log_softmax(real_cls, 1)[torch.arange(4), y_real].mean()
    ce_fake = -torch.log_softmax(fake_cls, 1)[torch.arange(4), y_fake].mean()
    torch.testing.assert_close(ac.d_penalty(ctx), 0.5 * (ce_real + ce_fake))
    torch.testing.assert_close(ac.g_penalty(ctx), 0.5 * ce_fake)
    torch.testing.assert_close(ce_fake, F.cross_entropy(fake_cls, y_fake))


def test_ac_requires_a_class_head():
    ac = build_regularizers({"ac": {}})["ac"]
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ConfigError, match="conditioning: acgan"):
        ac.d_penalty(_ac_context(torch.zeros(4), torch.zeros(4), y, y))
    with pytest.raises(ConfigError, match="conditioning: acgan"):
        ac.g_penalty(_ac_context(None, {"logits": torch.zeros(4)}, y, y))


def test_ac_requires_labels():
    ac = build_regularizers({"ac": {}})["ac"]
    out = {"logits": torch.zeros(4), "class_logits": torch.zeros(4, 3)}
    with pytest.raises(ConfigError, match="model.conditional"):
        ac.d_penalty(_ac_context(out, out, None, None))


def test_registered_names():
    build_regularizers({})
    assert {"clip", "gp", "dragan", "r1", "r2", "ac"} <= set(REGULARIZERS.names())
