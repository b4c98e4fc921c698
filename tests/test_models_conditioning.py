"""Conditional variants (concat / projection / acgan) across the model families."""

import pytest
import torch
from torch import nn

from gankit.models import build_discriminator, build_generator
from gankit.nn.norm import Norm
from gankit.registry import ConfigError

Z, K, N = 8, 3, 4
FAMILIES = {"mlp": {"hidden": 8}, "dcgan": {"width": 4}, "resnet": {"width": 4}}
SHAPE = (1, 16, 16)
MODES = ["concat", "projection", "acgan"]


def build(family, mode, **extra):
    torch.manual_seed(0)
    args = {**FAMILIES[family], "conditioning": mode}
    G = build_generator(family, {**args, **extra}, Z, SHAPE, K).eval()
    D = build_discriminator(family, args, SHAPE, K).eval()
    return G, D


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("mode", MODES)
def test_output_shapes_and_label_dependence(family, mode):
    G, D = build(family, mode)
    if mode == "projection":
        # Conditional norms start as the identity for every class (gain 1, bias 0), so at
        # initialisation G cannot depend on y; give the classes different affines as training would.
        with torch.no_grad():
            for m in G.modules():
                if isinstance(m, Norm):
                    m.gain.normal_(1.0, 0.5)
                    m.bias.normal_(0.0, 0.5)
    z = torch.randn(N, Z)
    y, y2 = torch.tensor([0, 1, 2, 0]), torch.tensor([1, 2, 0, 1])
    x = G(z, y)
    assert x.shape == (N, *SHAPE)
    assert (G.num_classes, D.num_classes) == (K, K)
    assert not torch.allclose(G(z, y2), x), "the generator ignores y"
    if mode == "acgan":
        out = D(x)  # the AC-GAN discriminator takes no label
        assert set(out) == {"logits", "class_logits"}
        assert out["logits"].shape == (N,) and out["class_logits"].shape == (N, K)
        torch.testing.assert_close(D(x, y2)["logits"], out["logits"])
    else:
        logits = D(x, y)
        assert logits.shape == (N,)
        changed = D(x, y2)
        assert not torch.isclose(changed, logits).any(), "the discriminator ignores y"


@pytest.mark.parametrize("family", FAMILIES)
def test_projection_discriminator_formula(family):
    G, D = build(family, "projection")
    x, y = torch.randn(N, *SHAPE), torch.tensor([2, 0, 1, 2])
    captured = {}
    D.head.register_forward_hook(lambda mod, inp, out: captured.update(h=inp[0]))
    logits = D(x, y)
    h = captured["h"]
    expected = D.head.linear(h).squeeze(1) + (D.head.embed.weight[y] * h).sum(1)
    torch.testing.assert_close(logits, expected)


@pytest.mark.parametrize("family", FAMILIES)
def test_projection_generator_uses_conditional_norms(family):
    G, _ = build(family, "projection")
    norms = [m for m in G.modules() if isinstance(m, Norm)]
    assert norms and all(m.num_classes == K for m in norms)
    for m in norms:  # identity start: every class gets gain 1 and bias 0
        torch.testing.assert_close(m.gain, torch.ones_like(m.gain))
        torch.testing.assert_close(m.bias, torch.zeros_like(m.bias))


def test_concat_generator_input_and_embedding():
    onehot, _ = build("dcgan", "concat")
    learned, _ = build("dcgan", "concat", embed_dim=5)
    assert onehot.project.in_features == Z + K
    assert learned.project.in_features == Z + 5
    assert isinstance(learned.label_input.embed, nn.Embedding)


def test_concat_discriminator_sees_label_maps():
    _, dcgan_d = build("dcgan", "concat")
    _, mlp_d = build("mlp", "concat")
    assert dcgan_d.trunk[0].in_channels == 1 + K
    assert next(m for m in mlp_d.modules() if isinstance(m, nn.Linear)).in_features == 16 * 16 + K


def test_unconditional_models_ignore_y():
    G = build_generator("dcgan", {"width": 4}, Z, SHAPE, 0).eval()
    D = build_discriminator("dcgan", {"width": 4}, SHAPE, 0).eval()
    z, y = torch.randn(N, Z), torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(G(z, y), G(z))
    torch.testing.assert_close(D(G(z), y), D(G(z)))


def test_missing_labels_are_reported():
    G, D = build("dcgan", "concat")
    with pytest.raises(ValueError, match=r"needs labels y of shape \[4\]"):
        G(torch.randn(N, Z))
    with pytest.raises(ValueError, match=r"expects integer labels y of shape \[4\]"):
        D(torch.randn(N, *SHAPE), torch.zeros(N))


def test_conditioning_config_errors():
    with pytest.raises(ConfigError, match=r"model\.conditional=true .* set model\.g\.args\.conditioning"):
        build_generator("dcgan", {}, Z, SHAPE, K)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.conditioning=acgan needs class labels: set model\.conditional=true"):
        build_discriminator("resnet", {"conditioning": "acgan"}, SHAPE, 0)
    with pytest.raises(ConfigError, match=r"model\.g\.args\.conditioning=projection .* model\.g\.args\.norm=none"):
        build_generator("mlp", {"conditioning": "projection", "norm": "none"}, Z, SHAPE, K)
    with pytest.raises(ConfigError, match=r"model\.d\.args\.pack=2 .*conditioning=projection"):
        build_discriminator("dcgan", {"conditioning": "projection", "pack": 2}, SHAPE, K)
    with pytest.raises(ConfigError, match=r"model\.g\.args\.embed_dim .* remove it"):
        build_generator("dcgan", {"conditioning": "projection", "embed_dim": 4}, Z, SHAPE, K)
    with pytest.raises(ConfigError, match=r"Did you mean 'projection'\?"):
        build_generator("resnet", {"conditioning": "projecton"}, Z, SHAPE, K)


def test_concat_with_pack_keeps_per_sample_labels():
    torch.manual_seed(0)
    D = build_discriminator("dcgan", {"width": 4, "conditioning": "concat", "pack": 2}, SHAPE, K).eval()
    x, y = torch.randn(N, *SHAPE), torch.tensor([0, 1, 2, 0])
    assert D(x, y).shape == (N // 2,)
    assert D.trunk[0].in_channels == 2 * (1 + K)
    # Changing only the second sample's label changes only the first packed logit.
    out, out2 = D(x, y), D(x, torch.tensor([0, 2, 2, 0]))
    assert not torch.isclose(out[0], out2[0])
    torch.testing.assert_close(out[1], out2[1])
