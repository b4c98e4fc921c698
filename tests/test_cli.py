"""The command line end to end on a tiny config: train, resume, sample, export, load_generator."""

import json
import shutil
import subprocess
import sys

import torch
from PIL import Image

import gankit
from gankit.cli import main


def test_train_resume_sample_export_load(tmp_path, tiny_overrides, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--quiet", *tiny_overrides, "train.steps=4"]) == 0
    out = capsys.readouterr().out
    assert f"run folder: {run}" in out
    for name in ("config.yaml", "meta.json", "stats.jsonl", "samples.png", "checkpoints/step-0000004.pt",
                 "samples/step-0000004.png"):
        assert (run / name).is_file(), name
    meta = json.loads((run / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["versions"]["torch"] == torch.__version__

    assert main(["train", "--resume", str(run), "--quiet", "train.steps=6"]) == 0
    assert "resumed" in (run / "log.txt").read_text()
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]

    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "--n", "9", "--seed", "3", "--out", str(grid)]) == 0
    img = Image.open(grid)
    assert img.size == (3 * 16 + 4 * 2, 3 * 16 + 4 * 2)  # 3x3 grid of 16 px with 2 px padding

    export = tmp_path / "export"
    assert main(["export", str(run), "--out", str(export)]) == 0
    G = gankit.load_generator(export)
    G_run = gankit.load_generator(run)
    z = torch.randn(5, G.z_dim)
    with torch.no_grad():
        x = G(z)
        assert x.shape == (5, 1, 16, 16)
        assert torch.equal(x, G_run(z))
    assert float(x.abs().max()) <= 1.0


def test_sample_is_deterministic_per_seed(tmp_path, tiny_overrides):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--quiet", *tiny_overrides, "train.steps=2"]) == 0
    a, b, c = (tmp_path / f"{k}.png" for k in "abc")
    main(["sample", str(run), "--n", "4", "--seed", "1", "--out", str(a)])
    main(["sample", str(run), "--n", "4", "--seed", "1", "--out", str(b)])
    main(["sample", str(run), "--n", "4", "--seed", "2", "--out", str(c)])
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_existing_run_folder_is_never_overwritten(tmp_path, tiny_overrides):
    first = gankit.train(overrides=tiny_overrides + ["train.steps=2", "name=x"], quiet=True)
    second = gankit.train(overrides=tiny_overrides + ["train.steps=2", "name=x"], quiet=True)
    assert first.run_dir.name == "x" and second.run_dir.name == "x-2"


def test_config_errors_reach_the_user_with_the_fix(tmp_path, capsys):
    assert main(["train", "train.stpes=3", f"out={tmp_path}"]) == 2
    assert "Did you mean 'steps'" in capsys.readouterr().err
    assert main(["train", "--preset", "nope"]) == 2
    assert "gankit presets" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_presets_command_lists_every_preset(capsys):
    from gankit.config import preset_names

    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in preset_names():
        assert name in out
    assert "source: Radford et al. 2016" in out


def test_console_script_runs(tmp_path):
    exe = shutil.which("gankit")
    cmd = [exe] if exe else [sys.executable, "-m", "gankit.cli"]
    res = subprocess.run(cmd + ["presets"], capture_output=True, text=True, check=True)
    assert "dcgan-mnist" in res.stdout
