"""gankit.tools.sensitivity and `gankit sensitivity`: known answers on hand-built generators (an ignored
dimension scores 0, a linear G scores its column norms), the walk grid, and the command on a run."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.priors import build_prior, latents
from gankit.tools.sensitivity import latent_sensitivity, walk_grid
from gankit.viz.sensitivity import sensitivity_maps
from tools_fixtures import tiny_run  # noqa: F401  (session fixture)


class LinearG(torch.nn.Module):
    """G(z) = tanh-free linear map of z onto a 1 x 4 x 4 image; column i is dimension i's effect."""

    def __init__(self, weight):
        super().__init__()
        self.weight = torch.nn.Parameter(weight)  # [16, z_dim]
        self.z_dim, self.num_classes, self.out_shape = weight.shape[1], 0, (1, 4, 4)

    def forward(self, z, y=None):
        return (z @ self.weight.T).view(-1, 1, 4, 4)


class IgnoresLast(LinearG):
    """Non-linear in the first dimensions and blind to the last one."""

    def forward(self, z, y=None):
        return torch.tanh(z[:, :-1] @ self.weight[:, :-1].T).view(-1, 1, 4, 4) ** 3


def test_a_dimension_the_generator_ignores_has_zero_sensitivity():
    G = IgnoresLast(torch.randn(16, 5, generator=torch.Generator().manual_seed(0)))
    result = latent_sensitivity(G, n=10, seed=1)
    assert result.names == ["z0", "z1", "z2", "z3", "z4"]
    assert float(result.scores[4]) == 0.0 and bool((result.maps[4] == 0).all())
    assert bool((result.scores[:4] > 0).all())
    assert result.ranking()[-1] == 4


def test_linear_generator_scores_are_its_column_norms_and_maps_their_absolute_values():
    w = torch.randn(16, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64).float()
    result = latent_sensitivity(LinearG(w), n=7, seed=0, step=0.5)
    assert result.scores.tolist() == pytest.approx(w.norm(dim=0).tolist(), rel=1e-5)
    assert torch.allclose(result.maps, w.T.abs().view(6, 4, 4), atol=1e-5)
    assert result.ranking() == sorted(range(6), key=lambda i: -float(w[:, i].norm()))
    maps = sensitivity_maps(result, k=2)  # each map scaled to its own peak: the peak pixel is white
    assert maps.shape == (2, 1, 4, 4) and maps.flatten(1).amax(1).tolist() == pytest.approx([1.0, 1.0])


def test_infogan_codes_are_directions_and_a_categorical_code_scores_its_value_change():
    G = LinearG(torch.randn(16, 2 + 3 + 1, generator=torch.Generator().manual_seed(3)))
    G.prior = build_prior("infogan", {"categorical": [3], "continuous": 1}, 2)
    result = latent_sensitivity(G, n=6, seed=0)
    assert result.names == ["z0", "z1", "cat0", "cont0"]
    z = latents(G, 6, 0)
    v = z[:, 2:5].argmax(1)
    # moving one-hot value v to v + 1 changes the output by column(v + 1) - column(v)
    change = (G.weight[:, 2 + (v + 1) % 3] - G.weight[:, 2 + v]).detach().T.norm(dim=1).mean()
    assert float(result.scores[2]) == pytest.approx(float(change), rel=1e-5)
    assert float(result.scores[3]) == pytest.approx(float(G.weight[:, 5].detach().norm()), rel=1e-4)


def test_walk_grid_rows_set_one_direction_each():
    w = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5])).repeat(4, 1)  # [16, 4]: z0 strongest, z3 weakest
    G = LinearG(w)
    result = latent_sensitivity(G, n=4)
    x, names = walk_grid(G, result, k=1, steps=3, span=2.0, seed=7)
    assert names == ["z0", "z3"] and x.shape == (6, 1, 4, 4)
    base = latents(G, 1, 7)
    expected = base.repeat(3, 1)
    expected[:, 0] = torch.tensor([-2.0, 0.0, 2.0])
    assert torch.allclose(x[:3], G(expected).detach(), atol=1e-6)


def test_sensitivity_command_writes_chart_walk_maps_and_scores(tiny_run, tmp_path):
    out = tmp_path / "sens"
    assert main(["sensitivity", str(tiny_run), "--n", "4", "--walk", "2", "--steps", "3", "--maps", "4",
                 "--out", str(out)]) == 0
    scores = json.loads((out / "sensitivity.json").read_text())["scores"]
    assert sorted(scores) == sorted(f"z{i}" for i in range(8))
    values = list(scores.values())
    assert values == sorted(values, reverse=True) and values[-1] > 0
    walk = Image.open(out / "walk.png")
    assert walk.size == (3 * 18 + 2, 4 * 18 + 2)  # 4 rows (2 most, 2 least sensitive) of 3 tiles of 16 px
    assert len(np.unique(np.asarray(Image.open(out / "bars.png").convert("L")))) > 10  # a drawn chart, not a blank
    assert main(["sensitivity", str(tiny_run), "--n", "0", "--out", str(out)]) == 2
