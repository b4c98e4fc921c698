"""The recipe zoo: every shipped preset builds and trains a few tiny steps through the CLI.

Each preset is shrunk (tiny widths, batch 8, 16x16 images, 2 steps) but keeps its loss, regularisers,
optimisers, n_critic, EMA and conditioning, so a broken recipe or component fails here. Presets are
discovered with ``preset_names()``: a new preset is covered without editing this file. Presets that
need a data set on disk (CIFAR-10) get a tiny labelled ``npz`` file instead.
"""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.config import from_yaml_text, load_config, preset_names
from gankit.data.sources.toy2d import modes_of
from gankit.models import build_discriminator
from gankit.training.checkpoint import load_checkpoint, load_run_generator
from gankit.viz.grid import save_grid

PRESETS = preset_names()
CONDITIONAL = [name for name in PRESETS if load_config(name).model.conditional]
STEPS = 2
RES = 16
NPZ_CLASSES = 3  # not 10, so a class count taken from the wrong place (MNIST / CIFAR-10) shows up
# Family -> the option that shrinks it. An unlisted family trains at its preset width (slower, still covered).
TINY_NET = {"dcgan": "width=4", "resnet": "width=4", "mlp": "hidden=8", "progan": "width=4", "biggan": "width=4"}
# Sources that read files: replaced by a tiny generated npz archive.
NEEDS_FILES = {"cifar10", "image-folder", "npz", "mnist-idx"}


def tiny_npz(folder) -> str:
    """32 random RGB 16x16 images with labels 0..2, as ``x`` uint8 [32, 3, 16, 16] and ``y`` [32]."""
    rng = np.random.default_rng(0)
    path = folder / "tiny.npz"
    np.savez(path, x=rng.integers(0, 256, (32, 3, RES, RES), dtype=np.uint8), y=np.arange(32) % NPZ_CLASSES)
    return str(path)


def tiny_domains(folder, a_dir: str, b_dir: str) -> str:
    """A root holding ``a_dir/`` and ``b_dir/`` with 8 random RGB 16x16 PNGs each (unpaired two-domain data)."""
    rng = np.random.default_rng(1)
    root = folder / "domains"
    for sub in (a_dir, b_dir):
        (root / sub).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(rng.integers(0, 256, (RES, RES, 3), dtype=np.uint8)).save(root / sub / f"{i}.png")
    return str(root)


def tiny_overrides(name: str, folder) -> list:
    """Overrides that shrink preset ``name`` to a 2-step CPU run (its recipe otherwise unchanged)."""
    cfg = load_config(name)
    out = ["model.z_dim=8", "train.batch_size=8", f"train.steps={STEPS}", "train.log_every=1",
           f"train.sample_every={STEPS}", f"train.checkpoint_every={STEPS}", "train.n_samples=4",
           "train.device=cpu"]
    for side in ("g", "d"):
        if cfg.model[side].name in TINY_NET:
            out.append(f"model.{side}.args.{TINY_NET[cfg.model[side].name]}")
        if cfg.model[side].args.get("attention"):  # self-attention on maps that exist at 16x16
            out.append(f"model.{side}.args.attention={RES // 2}")
    if modes_of(cfg.data.source)[0] is not None:  # 2-D toy mixtures: fewer points to draw
        out.append("data.args.n=256")
    if cfg.data.resolution is not None:
        out.append(f"data.resolution={RES}")
    if cfg.data.source in NEEDS_FILES and cfg.data.path is None:
        out += ["data.source=npz", f"data.path={tiny_npz(folder)}"]
    if cfg.data.source == "unpaired":  # the preset's own domain folders, under a generated root
        out.append(f"data.path={tiny_domains(folder, cfg.data.args.a_dir, cfg.data.args.b_dir)}")
    return out


@pytest.fixture(scope="module")
def preset_run(tmp_path_factory):
    """``get(name) -> (exit code, run folder)``; each preset is trained once per module and shared."""
    runs = {}

    def get(name: str):
        if name not in runs:
            folder = tmp_path_factory.mktemp(name)
            run = folder / "run"
            argv = ["train", "--preset", name, "--out", str(run), "--quiet", *tiny_overrides(name, folder)]
            runs[name] = (main(argv), run)
        return runs[name]

    return get


@pytest.mark.parametrize("name", PRESETS)
def test_preset_trains_a_few_tiny_steps(name, preset_run):
    code, run = preset_run(name)
    assert code == 0
    preset = load_config(name)
    saved = from_yaml_text((run / "config.yaml").read_text())
    # The run used the preset's recipe (not the defaults) and the preset's critic schedule.
    assert saved.loss.name == preset.loss.name
    assert saved.train.n_critic == preset.train.n_critic
    assert dict(saved.regularizers) == dict(preset.regularizers)
    assert (saved.model.g.name, saved.model.d.name) == (preset.model.g.name, preset.model.d.name)

    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    players = load_checkpoint(run / "checkpoints" / f"step-{STEPS:07d}.pt")["players"]  # G, D; G_ab, ... (cyclegan)
    for row in rows:  # every player was updated, and the objective reported its loss terms
        assert {f"grad_norm/{p}" for p in players} <= row.keys()
        assert any(k.startswith("loss/") for k in row)
        bad = {k: v for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)}
        assert bad == {}, f"{name}: non-finite statistics at step {row['step']}"
    # the final picture holds drawn tiles, not only the white padding of an empty grid (after 2 steps a
    # tiny G may still paint flat grey), and the checkpoint holds this run's step
    # (2-D presets draw a scatter instead, whose content tests/test_viz_toy2d.py checks)
    pixels = np.asarray(Image.open(run / "samples.png").convert("L"), dtype=np.float32)
    assert modes_of(preset.data.source)[0] is not None or (pixels < 250).mean() > 0.3
    assert load_checkpoint(run / "checkpoints" / f"step-{STEPS:07d}.pt")["step"] == STEPS


@pytest.mark.parametrize("name", CONDITIONAL)
def test_conditional_preset_samples_the_class_asked_for(name, preset_run, tmp_path, capsys):
    code, run = preset_run(name)
    assert code == 0
    num_classes = json.loads((run / "meta.json").read_text())["data"]["num_classes"]
    G, _ = load_run_generator(run)
    assert G.num_classes == num_classes
    channels = G.out_shape[0]
    pad = 2  # the grids' padding in pixels

    # The training grid of fixed noise has one row per class (4 samples / K classes -> one per row).
    height = num_classes * RES + (num_classes + 1) * pad
    k = -(-64 // RES)  # the final grid is enlarged to at least 64 px per image
    assert Image.open(run / "samples.png").size == (k * (RES + 2 * pad), k * height)

    # Python API: the label reaches the output (same z, different class -> different images).
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        per_class = [G(z, torch.full((4,), k, dtype=torch.long)) for k in range(num_classes)]
    for x in per_class:
        assert x.shape == (4, channels, RES, RES)
        assert float(x.abs().max()) <= 1.0
    assert not torch.equal(per_class[0], per_class[-1])

    # `gankit sample --class k` draws exactly G(z, k) with the seed's noise.
    k = num_classes - 1
    asked, expected = tmp_path / "asked.png", tmp_path / "expected.png"
    assert main(["sample", str(run), "--class", str(k), "--n", "4", "--seed", "3", "--out", str(asked)]) == 0
    save_grid(per_class[k], expected, nrow=2)
    assert asked.read_bytes() == expected.read_bytes()

    # `--class-grid`: one row of n samples per class, class k in row k, the same noise in every row.
    grid, expected_grid = tmp_path / "grid.png", tmp_path / "expected_grid.png"
    assert main(["sample", str(run), "--class-grid", "--n", "2", "--seed", "5", "--out", str(grid)]) == 0
    z2 = torch.randn(2 * num_classes, G.z_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        rows = G(z2, torch.arange(num_classes).repeat_interleave(2))
    save_grid(rows, expected_grid, nrow=2)
    assert grid.read_bytes() == expected_grid.read_bytes()
    assert Image.open(grid).size == (2 * RES + 3 * pad, height)

    # A class outside 0..K-1 is a clear error naming the valid range.
    capsys.readouterr()
    assert main(["sample", str(run), "--class", str(num_classes), "--out", str(tmp_path / "bad.png")]) == 2
    assert f"--class must be in 0..{num_classes - 1}" in capsys.readouterr().err


def test_weight_clipping_holds_in_the_saved_critic(preset_run):
    """wgan-mnist clips every critic parameter to [-0.01, 0.01] after each D step (Arjovsky et al. 2017)."""
    code, run = preset_run("wgan-mnist")
    assert code == 0
    state = load_checkpoint(run / "checkpoints" / f"step-{STEPS:07d}.pt")
    cfg = from_yaml_text((run / "config.yaml").read_text())
    clip = cfg.regularizers.clip.value
    assert clip == 0.01
    D = build_discriminator(cfg.model.d.name, dict(cfg.model.d.args), tuple(state["data_shape"]),
                            state["num_classes"])
    names = [n for n, _ in D.named_parameters()]  # parameters only: batch-norm running stats are not clipped
    assert names and set(names) <= state["players"]["D"]["module"].keys()
    largest = max(float(state["players"]["D"]["module"][n].abs().max()) for n in names)
    # Clipping was binding (the initial weights exceed 0.01) and nothing escaped it.
    assert largest == float(torch.tensor(clip, dtype=torch.float32))
