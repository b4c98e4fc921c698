"""gankit.tools.projection, `gankit project` and `gankit inpaint`: a generator's own images are
recovered from their latents; inpainting keeps the known pixels at most as far from the input as
the projection and fills the hole; the context weights and the feathered blend; the commands."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.priors import latents
from gankit.tools.projection import context_weights, feather_alpha, inpaint, masked_mse, project
from gankit.training.checkpoint import load_run_generator
from gankit.viz.grid import save_grid
from tools_fixtures import tiny_run  # noqa: F401  (session fixture)


class MLPG(torch.nn.Module):
    """A small random non-linear generator: z [N, 4] -> 1 x 8 x 8 images in [-1, 1]."""

    def __init__(self, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 64),
                                       torch.nn.Tanh())
        for p in self.net.parameters():
            p.data = torch.randn(p.shape, generator=g) * 0.8
        self.z_dim, self.num_classes, self.out_shape = 4, 0, (1, 8, 8)

    def forward(self, z, y=None):
        return self.net(z).view(-1, 1, 8, 8)


class LinearD(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(3)) * 0.1)

    def forward(self, x, y=None):
        return (x * self.w).flatten(1).sum(1)


@pytest.fixture(scope="module")
def known():
    """G, six of its images from known latents, and the mean squared distance between two random
    samples of G (what an unrelated image of G would score)."""
    G = MLPG()
    with torch.no_grad():
        x = G(latents(G, 6, 123))
        r = G(latents(G, 400, 5))
    return G, x, float(masked_mse(r[:200], r[200:]).mean())


def test_projection_recovers_images_that_g_made(known):
    G, x, pair = known
    result = project(G, x, steps=200, restarts=4, seed=0)
    # Bound: an unrelated sample of G scores `pair` (about 0.06) and the best single image, G's mean,
    # about pair / 2; an image of G itself is reachable exactly, so a converged search is at float
    # precision. 1e-3 x pair leaves three orders of magnitude for an imperfect optimiser.
    assert bool((result.error < 1e-3 * pair).all()) and pair > 0.03
    assert torch.allclose(result.error, masked_mse(result.images, x))
    assert result.z.shape == (6, 4) and result.y is None


def test_perceptual_loss_is_used_and_the_search_still_recovers(known):
    G, x, pair = known
    kernel = torch.randn(4, 1, 3, 3, generator=torch.Generator().manual_seed(1))
    features = lambda im: torch.relu(torch.nn.functional.conv2d(im, kernel))  # noqa: E731
    result = project(G, x, features=features, feature_weight=1.0, steps=200, restarts=4)
    assert bool((result.error < 1e-3 * pair).all())
    assert float(result.loss.max()) < 1e-3  # the reported loss includes the (now near-zero) feature term
    with pytest.raises(ValueError, match="feature function"):
        project(G, x, feature_weight=1.0, steps=1)


def test_inpainting_keeps_known_pixels_and_fills_the_hole(known):
    G, x, pair = known
    mask = torch.ones(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 0
    damaged = x * mask - (1 - mask)  # the hole holds -1: nothing of the truth
    result = inpaint(G, LinearD(), damaged, mask, steps=200, restarts=4, feather=1)
    assert bool((result.known_error <= result.projection.error + 1e-12).all())  # the blend never moves away
    plain = project(G, damaged, steps=200, restarts=4)  # a projection that does not know about the hole
    assert bool((result.known_error <= masked_mse(plain.images, damaged, mask)).all())
    hole = 1 - mask
    filled = masked_mse(result.images, x, hole)
    placeholder = masked_mse(damaged, x, hole)
    assert bool((filled < 1e-3 * placeholder).all())  # the hole now holds the true pixels
    assert torch.equal(result.images * hole, result.generated * hole)  # the hole is G's
    far = feather_alpha(mask, 1) == 1
    assert torch.equal(result.images[far.expand_as(x)], damaged[far.expand_as(x)])  # far context untouched


def test_feather_and_context_weights():
    mask = torch.ones(1, 1, 1, 7)
    mask[..., 3] = 0
    assert feather_alpha(mask, 2)[0, 0, 0].tolist() == pytest.approx([1, 2 / 3, 1 / 3, 0, 1 / 3, 2 / 3, 1])
    assert feather_alpha(mask, 0)[0, 0, 0].tolist() == [1, 1, 1, 0, 1, 1, 1]
    w = context_weights(mask, window=3, floor=0.0)[0, 0, 0]
    # pixels next to the hole see 1 missing of 2 (edge) or 3 neighbours; others none; mean 1 over known
    assert w.tolist() == pytest.approx([0, 0, 3.0, 0, 3.0, 0, 0])
    with pytest.raises(ValueError, match="odd"):
        context_weights(mask, window=4)


def _written_input(tiny_run, tmp_path):
    G, _ = load_run_generator(tiny_run)
    with torch.no_grad():
        x = G(latents(G, 1, 3), torch.tensor([2]))
    path = save_grid(x, tmp_path / "digit.png", padding=0)
    return path, torch.from_numpy(np.asarray(Image.open(path), dtype=np.float32)) / 127.5 - 1


def test_project_command_reports_the_error_of_what_it_wrote(tiny_run, tmp_path):
    image, x = _written_input(tiny_run, tmp_path)
    out = tmp_path / "proj"
    assert main(["project", str(tiny_run), "--image", str(image), "--steps", "5", "--restarts", "1",
                 "--feature-weight", "0", "--out", str(out)]) == 0
    record = json.loads((out / "projection.json").read_text())["images"]["digit.png"]
    rec = torch.from_numpy(np.asarray(Image.open(out / "projected" / "digit.png"), dtype=np.float32)) / 127.5 - 1
    assert record["mse"] == pytest.approx(float((rec - x).pow(2).mean()), abs=5e-3)  # up to the PNG's rounding
    assert record["class"] in range(10) and len(record["z"]) == 8
    assert main(["project", str(tiny_run), "--image", str(tmp_path / "none.png"), "--out", str(out)]) == 2


def test_inpaint_command_box_and_mask_image(tiny_run, tmp_path):
    image, x = _written_input(tiny_run, tmp_path)
    out = tmp_path / "inp"
    assert main(["inpaint", str(tiny_run), "--image", str(image), "--mask", "box:4,4,8,8", "--steps", "5",
                 "--restarts", "1", "--feather", "1", "--out", str(out)]) == 0
    record = json.loads((out / "inpainting.json").read_text())
    assert record["missing_pixels"] == 64
    r = record["images"]["digit.png"]
    assert r["known_mse"] <= r["projection_known_mse"]
    done = np.asarray(Image.open(out / "completed" / "digit.png"))
    original = np.asarray(Image.open(image))
    assert (done[:2] == original[:2]).all()  # rows far from the box keep the input exactly
    mask = np.full((16, 16), 255, dtype=np.uint8)
    mask[4:12, 4:12] = 0
    Image.fromarray(mask, mode="L").save(tmp_path / "mask.png")
    assert main(["inpaint", str(tiny_run), "--image", str(image), "--mask", str(tmp_path / "mask.png"),
                 "--steps", "2", "--restarts", "1", "--prior-weight", "0", "--out", str(out)]) == 0
    assert json.loads((out / "inpainting.json").read_text())["missing_pixels"] == 64
    assert main(["inpaint", str(tiny_run), "--image", str(image), "--mask", "box:4,4,20,8", "--out", str(out)]) == 2
