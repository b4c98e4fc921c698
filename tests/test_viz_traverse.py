"""`gankit traverse` and gankit.viz.traverse: rows of fixed noise, columns of one code's values; the
report's traversal section; errors for runs without codes and unknown code names."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from conftest import TINY
from gankit.cli import main
from gankit.priors import latents, prior_of
from gankit.viz.grid import save_grid
from gankit.viz.report import _Run, _section_codes
from gankit.viz.traverse import code_values, traverse

INFO = ["objective.name=infogan", "model.latent.name=infogan", "objective.args.q_hidden=8", "train.steps=2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("traverse")
    info = gankit.train(overrides=TINY + INFO, run_dir=root / "info", quiet=True)
    plain = gankit.train(overrides=TINY + ["train.steps=2"], run_dir=root / "plain", quiet=True)
    return info.run_dir, plain.run_dir, info.G


def _cells(x, rows, cols):
    return x.view(rows, cols, *x.shape[1:])


def test_categorical_traversal_columns_are_the_code_values_rows_the_noise(runs):
    _, _, G = runs
    x, values = traverse(G, "cat0", rows=3, seed=5)
    assert values.tolist() == list(range(10)) and x.shape == (30, *G.out_shape)
    cells = _cells(x, 3, 10)
    prior = prior_of(G)
    for i in range(3):
        z = prior.with_code(latents(G, 1, 5 + i).repeat(10, 1), "cat0", torch.arange(10))
        with torch.no_grad():
            assert torch.allclose(cells[i], G(z), atol=1e-6)  # row i: seed 5 + i with cat0 = column
        assert prior.codes(z)["cat0"].tolist() == list(range(10))
    # Columns differ by the code (within a row) and rows by the noise (within a column).
    assert all(not torch.equal(cells[0, j], cells[0, j + 1]) for j in range(9))
    assert all(not torch.equal(cells[i, 0], cells[i + 1, 0]) for i in range(2))


def test_continuous_traversal_spans_twice_the_training_range(runs):
    _, _, G = runs
    assert code_values(G, "cont1", steps=5).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert code_values(G, "cont0", steps=3, span=1.0).tolist() == [-1.0, 0.0, 1.0]
    x, values = traverse(G, "cont1", rows=2, steps=4, seed=0)
    cells = _cells(x, 2, 4)
    z = prior_of(G).with_code(latents(G, 1, 1).repeat(4, 1), "cont1", values)
    with torch.no_grad():
        assert torch.allclose(cells[1], G(z), atol=1e-6)
    assert prior_of(G).codes(z)["cont1"].tolist() == pytest.approx([-2, -2 / 3, 2 / 3, 2])


def test_cli_writes_the_grid_it_describes(runs, tmp_path, capsys):
    run_dir, _, G = runs
    out = tmp_path / "cat.png"
    assert main(["traverse", str(run_dir), "--code", "cat0", "--rows", "3", "--seed", "5", "--out", str(out)]) == 0
    assert "3 rows of fixed noise (seeds 5..7) x 10 values of cat0" in capsys.readouterr().out
    expected = save_grid(traverse(G, "cat0", rows=3, seed=5)[0], tmp_path / "expected.png", nrow=10)
    got, want = np.asarray(Image.open(out)), np.asarray(Image.open(expected))
    H, W = G.out_shape[1:]
    assert got.shape == want.shape == (3 * (H + 2) + 2, 10 * (W + 2) + 2)
    assert np.array_equal(got, want) and got.std() > 0
    out2 = tmp_path / "cont.png"
    assert main(["traverse", str(run_dir), "--code", "cont0", "--steps", "5", "--rows", "2", "--out", str(out2)]) == 0
    assert "5 values of cont0 (-2, -1, 0, 1, 2)" in capsys.readouterr().out
    assert Image.open(out2).size == (5 * (W + 2) + 2, 2 * (H + 2) + 2)


@pytest.mark.parametrize("args, match", [
    (["--code", "cat3"], r"unknown code 'cat3'; this prior's codes are: cat0 \(categorical, 10 values\), "
                         r"cont0 \(continuous\), cont1 \(continuous\)"),
    (["--code", "cat0", "--steps", "4"], r"cat0 is categorical: a traversal shows all of its 10 values"),
    (["--code", "cont0", "--steps", "1"], r"steps >= 2"),
    (["--code", "cat0", "--rows", "0"], r"--rows must be >= 1"),
])
def test_bad_arguments_are_named(runs, tmp_path, capsys, args, match):
    run_dir = runs[0]
    assert main(["traverse", str(run_dir), *args, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert not (tmp_path / "x.png").exists()


def test_a_run_without_codes_is_refused_with_the_fix(runs, tmp_path, capsys):
    plain = runs[1]
    assert main(["traverse", str(plain), "--code", "cat0", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "gaussian(z_dim=8) has no codes to traverse" in err and "model.latent.name=infogan" in err


def test_report_section_shows_one_traversal_per_code(runs, tmp_path):
    info_dir, plain_dir, G = runs
    html = _section_codes(_Run(info_dir, tmp_path, print, G=G), seed=0)
    assert html.count("<img") == 3 and "cat0 (categorical, 10 values): columns all 10 values" in html
    assert "cont1 (continuous): columns 10 values from -2 to 2" in html
    plain = gankit.load_generator(plain_dir)
    assert "Not applicable" in _section_codes(_Run(plain_dir, tmp_path, print, G=plain), seed=0)
