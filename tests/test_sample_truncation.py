"""The truncation trick (BigGAN): values beyond the threshold are redrawn, nothing else changes; and
``gankit sample --truncation`` for every generator with a gaussian prior."""

import math

import pytest
import torch

import gankit
from gankit.cli import main
from gankit.priors import build_prior
from gankit.training.checkpoint import load_run_generator
from gankit.viz.grid import save_grid


def test_truncation_keeps_values_within_the_threshold_and_the_rest_unchanged():
    prior = build_prior("gaussian", {}, 8)
    t = 0.7
    plain = prior.sample(20000, torch.Generator().manual_seed(4))
    cut = prior.truncated(t).sample(20000, torch.Generator().manual_seed(4))
    assert float(cut.abs().max()) <= t
    inside = plain.abs() <= t
    assert torch.equal(cut[inside], plain[inside])  # values already inside are kept as drawn
    # the redrawn values follow N(0, 1) restricted to [-t, t]: bin frequencies proportional to the normal's mass
    edges = torch.linspace(-t, t, 8)
    mass = torch.tensor([0.5 * (math.erf(b / math.sqrt(2)) - math.erf(a / math.sqrt(2)))
                         for a, b in zip(edges[:-1].tolist(), edges[1:].tolist())])
    hist = torch.histc(cut, bins=7, min=-t, max=t)
    assert torch.allclose(hist / hist.sum(), mass / mass.sum(), atol=0.004)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("trunc")
    common = ["data.source=mnist5k", "data.resolution=16", "model.z_dim=8", "train.batch_size=8", "train.steps=1",
              "train.n_samples=4", "train.threads=1", "train.device=cpu",
              "optim.g.lr=2e-4", "optim.d.lr=2e-4"]
    out = {}
    for name, extra in {"dcgan": ["model.g.args.width=4", "model.d.args.width=4"],
                        "biggan": ["model.g.name=biggan", "model.d.name=biggan", "model.g.args.width=2",
                                   "model.d.args.width=2", "model.conditional=true", "loss.name=hinge"],
                        "uniform": ["model.g.args.width=4", "model.d.args.width=4",
                                    "model.latent.name=uniform"]}.items():
        out[name] = gankit.train(overrides=common + extra, run_dir=root / name, quiet=True).run_dir
    return out


@pytest.mark.parametrize("family", ["dcgan", "biggan"])
def test_sample_draws_truncated_latents(family, runs, tmp_path):
    G, _ = load_run_generator(runs[family])
    got, want = tmp_path / "got.png", tmp_path / "want.png"
    assert main(["sample", str(runs[family]), "--truncation", "0.5", "--n", "4", "--seed", "3", "--out", str(got)]) == 0
    g = torch.Generator().manual_seed(3)
    y = torch.randint(G.num_classes, (4,), generator=g) if G.num_classes else None
    z = build_prior("gaussian", {}, G.z_dim).truncated(0.5).sample(4, g)
    assert float(z.abs().max()) <= 0.5
    with torch.no_grad():
        save_grid(G(z, y) if y is not None else G(z), want, nrow=2)
    assert got.read_bytes() == want.read_bytes()
    # and truncation did change the picture
    plain = tmp_path / "plain.png"
    assert main(["sample", str(runs[family]), "--n", "4", "--seed", "3", "--out", str(plain)]) == 0
    assert plain.read_bytes() != got.read_bytes()


def test_priors_without_a_truncated_form_and_bad_thresholds_are_clear_errors(runs, tmp_path, capsys):
    out = str(tmp_path / "x.png")
    assert main(["sample", str(runs["uniform"]), "--truncation", "0.5", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "uniform prior has no truncated form" in err and "sample without --truncation" in err
    assert main(["sample", str(runs["dcgan"]), "--truncation", "0", "--out", out]) == 2
    assert "--truncation must be > 0" in capsys.readouterr().err
