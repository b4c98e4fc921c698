"""gankit.tools.arithmetic and `gankit arithmetic`: one-seed groups give exactly the latent sum, group
means, neighbours, the grid's rows (and the class row of a conditional model)."""

import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.priors import latents
from gankit.tools.arithmetic import arithmetic_grid, group_latent, latent_arithmetic, neighbours
from tools_fixtures import tiny_run  # noqa: F401  (session fixture)


class ScaleG(torch.nn.Module):
    """G(z) = the first 4 latent values as a 1 x 2 x 2 image (conditional: plus y / 10)."""

    def __init__(self, num_classes=0):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))
        self.z_dim, self.num_classes, self.out_shape = 6, num_classes, (1, 2, 2)

    def forward(self, z, y=None):
        x = z[:, :4].reshape(-1, 1, 2, 2) + self.p
        return x + y.view(-1, 1, 1, 1) / 10 if y is not None else x


def test_one_seed_groups_give_the_latent_sum():
    G = ScaleG()
    z = latent_arithmetic(G, [3], [5], [8])
    assert torch.equal(z, latents(G, 1, 3) - latents(G, 1, 5) + latents(G, 1, 8))


def test_groups_are_averaged_and_neighbours_stay_within_the_noise():
    G = ScaleG()
    assert torch.allclose(group_latent(G, [1, 2, 4]), (latents(G, 1, 1) + latents(G, 1, 2) + latents(G, 1, 4)) / 3)
    z = torch.zeros(1, 6)
    near = neighbours(z, 5, noise=0.25, seed=0)
    assert near.shape == (6, 6) and torch.equal(near[0], z[0])
    assert float(near[1:].abs().max()) <= 0.25 and float(near[1:].abs().max()) > 0.1
    with pytest.raises(ValueError, match="at least one seed"):
        group_latent(G, [])


def test_grid_rows_groups_then_result_then_every_class():
    G = ScaleG(num_classes=3)
    x, cols, captions = arithmetic_grid(G, [1, 2], [3], [4], k=2, label=1)
    assert cols == 3 and x.shape == (5 * 3, 1, 2, 2) and len(captions) == 5
    rows = x.view(5, 3, 1, 2, 2)
    with torch.no_grad():
        assert torch.allclose(rows[0, 2], G(group_latent(G, [1, 2]), torch.tensor([1]))[0])  # A's mean, class 1
        assert torch.equal(rows[1, 0], rows[1, 1])  # B: one seed, whose mean is itself
        assert torch.equal(rows[1, 2], torch.ones(1, 2, 2))  # short rows end in blank (white) tiles
        result = latent_arithmetic(G, [1, 2], [3], [4])
        assert torch.allclose(rows[3, 0], G(result, torch.tensor([1]))[0])
        assert torch.allclose(rows[4], G(result.repeat(3, 1), torch.arange(3)))  # same noise, each class


def test_arithmetic_command_draws_the_grid(tiny_run, tmp_path):
    out = tmp_path / "arith.png"
    assert main(["arithmetic", str(tiny_run), "--a", "1", "2", "--b", "3", "--c", "4", "--neighbours", "3",
                 "--out", str(out)]) == 0
    # 5 rows (A, B, C, result + 3 neighbours, the 10 classes) of max(3, 4, 10) = 10 tiles of 16 px
    assert Image.open(out).size == (10 * 18 + 2, 5 * 18 + 2)
    assert main(["arithmetic", str(tiny_run), "--a", "1", "--b", "3", "--c", "4", "--label", "12",
                 "--out", str(out)]) == 2
