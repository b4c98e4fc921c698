"""`gankit translate` and gankit.translate: files written, outputs equal to the library's, clean
errors; noise-GAN commands refuse translation runs."""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.data.batches import to_model_range
from gankit.translate import load_translators, read_images, translate, write_images
from test_objectives_cyclegan import TINY_CYCLEGAN


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cyclegan")
    return gankit.train("cyclegan-mnist", overrides=TINY_CYCLEGAN + ["train.steps=2", f"out={root}"],
                        run_dir=root / "run", quiet=True).run_dir


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Five 28x28 grey digits (as users have them: MNIST's own size), two in a sub-folder."""
    folder = tmp_path_factory.mktemp("inputs")
    digits = torch.randint(0, 256, (5, 1, 28, 28), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    write_images(to_model_range(digits[:3]), ["d0.png", "d1.png", "d2.png"], folder)
    write_images(to_model_range(digits[3:]), ["d0.png", "d3.png"], folder / "more")
    return folder


def test_translate_writes_one_png_per_input_equal_to_the_library(cyclegan_run, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["translate", str(cyclegan_run), "--direction", "a2b", "--input", str(inputs), "--out", str(out)]) == 0
    assert "wrote 5 image(s)" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["d0.png", "d1.png", "d2.png", "more_d0.png", "more_d3.png"]  # no sub-folder overwrites another
    written = np.asarray(Image.open(out / "more_d3.png"))
    assert written.shape == (16, 16)  # the run's resolution and channels
    nets = load_translators(cyclegan_run)
    x = read_images([inputs / "more" / "d3.png"], nets.records["a2b"]["in_shape"])
    assert x.shape == (1, 1, 16, 16)
    expected = ((translate(nets["a2b"], x)[0, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    assert np.array_equal(written, expected)
    # A single file, the other direction.
    assert main(["translate", str(cyclegan_run), "--direction", "b2a", "--input", str(inputs / "d1.png"),
                 "--out", str(tmp_path / "one")]) == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["d1.png"]


def test_translators_load_from_a_checkpoint_file_with_the_trained_weights(cyclegan_run):
    from gankit.training import checkpoint as ckpt

    path, state = ckpt.newest_valid_checkpoint(cyclegan_run)
    nets = load_translators(path)
    assert (nets.objective, nets.step, sorted(nets.networks)) == ("cyclegan", 2, ["a2b", "b2a"])
    for direction, player in (("a2b", "G_ab"), ("b2a", "G_ba")):
        weights = state["players"][player]["module"]
        assert all(torch.equal(v, weights[k]) for k, v in nets.networks[direction].state_dict().items())
    assert nets.fixed["a"].shape == (2, 1, 16, 16)


@pytest.mark.parametrize("args, message", [
    (["--direction", "a2c"], "--direction a2c: this 'cyclegan' run translates a2b, b2a; choose one of them"),
    (["--input", "EMPTY"], "holds no images"),
    (["--input", "MISSING"], "does not exist; give an image file or a folder of images"),
    (["--input", "TEXT"], "is not an image file"),
    (["--input", "BROKEN"], "cannot read"),
])
def test_translate_errors_are_one_clean_line(cyclegan_run, inputs, tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.png").write_bytes(b"not a png")
    where = {"EMPTY": tmp_path / "empty", "MISSING": tmp_path / "nope", "TEXT": tmp_path / "notes.txt",
             "BROKEN": tmp_path / "broken"}
    given = dict(zip(args[::2], args[1::2]))
    base = {"--direction": "a2b", "--input": str(inputs), "--out": str(tmp_path / "out")}
    base.update({k: str(where.get(v, v)) for k, v in given.items()})
    code = main(["translate", str(cyclegan_run), *[x for kv in base.items() for x in kv]])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_translate_refuses_a_noise_gan_run(tmp_path, tiny_overrides, inputs, capsys):
    run = gankit.train(overrides=tiny_overrides + ["train.steps=2"], run_dir=tmp_path / "dcgan", quiet=True).run_dir
    code = main(["translate", str(run), "--direction", "a2b", "--input", str(inputs), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "is a 'adversarial' run with players ['D', 'G']: it generates from noise" in err
    assert f"gankit sample {run}" in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize("command", [["sample", "--out", "grid.png"], ["export", "--out", "export"]])
def test_noise_commands_point_a_translation_run_at_translate(cyclegan_run, tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    code = main([command[0], str(cyclegan_run), *command[1:]])
    err = capsys.readouterr().err
    assert code == 2
    assert "no noise generator G to sample from" in err
    assert f"gankit translate {cyclegan_run} --direction a2b|b2a" in err
    assert "Traceback" not in err
