"""gankit.tools.saliency and `gankit saliency`: a linear D's input gradient is its weights (plain,
SmoothGrad), gradient x input is weights times input, per-class saliency of an AC-GAN-style head
and of a label-conditioned D, patch maps averaged; the command on a run."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.tools.saliency import class_saliency, discriminator_saliency, saliency, score_fn
from tools_fixtures import tiny_run  # noqa: F401  (session fixture)

SHAPE = (1, 4, 4)


class LinearD(torch.nn.Module):
    """D(x) = <w, x> + b; with ``classes``, also AC-GAN class logits ``x . W_c``."""

    def __init__(self, seed=0, classes=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = torch.nn.Parameter(torch.randn(*SHAPE, generator=g))
        self.b = torch.nn.Parameter(torch.tensor(0.3))
        self.W = torch.nn.Parameter(torch.randn(classes, *SHAPE, generator=g)) if classes else None
        self.num_classes = classes

    def forward(self, x, y=None):
        logits = (x * self.w).flatten(1).sum(1) + self.b
        if self.W is None:
            return logits
        return {"logits": logits, "class_logits": x.flatten(1) @ self.W.flatten(1).T}


class LabelD(torch.nn.Module):
    """A label-conditioned linear D: D(x, y) = <w_y, x>."""

    def __init__(self, classes=3):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(classes, *SHAPE, generator=torch.Generator().manual_seed(4)))
        self.num_classes = classes

    def forward(self, x, y):
        return (x * self.w[y]).flatten(1).sum(1)


def _x(n=5):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_linear_discriminator_saliency_equals_its_weights():
    D, x = LinearD(), _x()
    out = discriminator_saliency(D, x, n_smooth=3, sigma=0.5)
    w = D.w.detach().expand_as(x)
    assert torch.allclose(out["gradient"], w, atol=1e-6)
    assert torch.allclose(out["smoothgrad"], w, atol=1e-6)  # noise does not move a constant gradient
    assert torch.allclose(out["gradient_x_input"], w * x, atol=1e-6)
    assert torch.allclose(out["logits"], (x * D.w).flatten(1).sum(1).detach() + 0.3, atol=1e-6)


def test_smoothgrad_averages_the_gradient_over_noisy_copies():
    score = lambda x: (x ** 2).flatten(1).sum(1)  # noqa: E731  gradient 2x: the noise mean is the only bias
    x = _x(2)
    g = torch.Generator().manual_seed(9)
    noise = [torch.randn(x.shape, generator=g) * 0.2 for _ in range(4)]
    expected = sum(2 * (x + e) for e in noise) / 4
    assert torch.allclose(saliency(score, x, "smoothgrad", n_smooth=4, sigma=0.1, seed=9), expected, atol=1e-6)


def test_patch_map_logits_are_averaged():
    class PatchD(LinearD):
        def forward(self, x, y=None):
            return (x * self.w).squeeze(1)  # [N, 4, 4] patch logits

    D, x = PatchD(), _x(3)
    assert torch.allclose(saliency(score_fn(D), x), D.w.detach().expand_as(x) / 16, atol=1e-7)


def test_per_class_saliency_of_acgan_head_and_of_label_conditioned_d():
    D, x = LinearD(classes=3), _x(2)
    maps = class_saliency(D, x, 3)
    assert maps.shape == (3, 2, *SHAPE)
    for c in range(3):
        assert torch.allclose(maps[c], D.W[c].detach().expand_as(x), atol=1e-6)
    L = LabelD()
    maps = class_saliency(L, x, 3)
    for c in range(3):
        assert torch.allclose(maps[c], L.w[c].detach().expand_as(x), atol=1e-6)
    with pytest.raises(ValueError, match="conditional"):
        class_saliency(LinearD(), x, 0)
    with pytest.raises(ValueError, match="unknown saliency method"):
        saliency(score_fn(L, torch.zeros(2, dtype=torch.long)), x, "occlusion")


def test_saliency_command_on_a_conditional_run(tiny_run, tmp_path):
    out = tmp_path / "sal"
    assert main(["saliency", str(tiny_run), "--n", "2", "--smooth-n", "2", "--out", str(out)]) == 0
    for name in ("saliency.png", "classes.png"):
        pixels = np.asarray(Image.open(out / name).convert("L"))
        assert len(np.unique(pixels)) > 20  # images and heat maps drawn, not a blank canvas
    assert main(["saliency", str(tiny_run), "--methods", "occlusion", "--out", str(out)]) == 2
