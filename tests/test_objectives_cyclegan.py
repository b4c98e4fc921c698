"""The cyclegan objective: CLI training, its loss terms by definition, which players each phase
moves, config errors, and exact resume in a fresh process."""

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import gankit
from conftest import SHARED_DATA as SHARED
from gankit.cli import main
from gankit.config import load_config
from gankit.losses import build_loss
from gankit.registry import ConfigError
from gankit.training import checkpoint as ckpt
from gankit.training.loop import Trainer

# cyclegan-mnist at 16 px with the smallest networks: a step takes milliseconds. The identity
# terms (off in the preset) are on, so that every term of the objective runs.
TINY_CYCLEGAN = [
    "objective.args.identity_weight=0.5", "data.resolution=16", "model.g.args.width=2", "model.g.args.n_blocks=1",
    "model.d.args.width=2", "model.d.args.n_layers=1", "train.batch_size=4", "train.n_samples=4", "train.log_every=2",
    "train.sample_every=4", "train.checkpoint_every=4", "train.threads=1",
]
PLAYERS = ["G_ab", "G_ba", "D_a", "D_b"]
TERMS = ["loss/G_ab", "loss/G_ba", "loss/cycle_a", "loss/cycle_b", "loss/idt_a", "loss/idt_b", "loss/G",
         "loss/D_a", "loss/D_b"]


def tiny(tmp_path, *extra):
    return TINY_CYCLEGAN + [f"out={tmp_path / 'runs'}", *extra]


def test_trains_through_the_cli(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--preset", "cyclegan-mnist", "--out", str(run), "--quiet", *tiny(tmp_path),
                 "train.steps=4"]) == 0
    assert f"next:       gankit translate {run} --direction a2b --input IMAGES --out DIR" in capsys.readouterr().out
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for term in TERMS:
        assert all(isinstance(r[term], float) for r in rows), term
    # The terms add up to the generators' loss (one batch per step, so the means add up too).
    parts = sum(rows[-1][t] for t in TERMS[:6])
    assert rows[-1]["loss/G"] == pytest.approx(parts, rel=1e-5)
    state = ckpt.load_checkpoint(run / "checkpoints" / "step-0000004.pt")
    assert list(state["players"]) == PLAYERS
    assert state["objective_name"] == "cyclegan"
    records = state["objective"]["translators"]
    assert records == {d: {"player": p, "network": "resnet", "args": {"width": 2, "n_blocks": 1},
                           "in_shape": [1, 16, 16], "out_shape": [1, 16, 16]}
                       for d, p in (("a2b", "G_ab"), ("b2a", "G_ba"))}
    # 4 steps x 4 fakes per domain, all still in the (50-image) pools.
    assert [state["objective"]["pools"][k]["count"] for k in "ab"] == [16, 16]
    assert json.loads((run / "meta.json").read_text())["translators"] == records
    # Preview: 6 rows (A, G_ab(A), G_ba(G_ab(A)), B, G_ba(B), G_ab(G_ba(B))) of sqrt(4) = 2 images.
    assert Image.open(run / "samples.png").size == (4 * (2 * 18 + 2), 4 * (6 * 18 + 2))  # 16 px enlarged x4


def _trainer(tmp_path, *extra):
    cfg = load_config("cyclegan-mnist", overrides=tiny(tmp_path, *extra))
    torch.manual_seed(cfg.train.seed)
    (tmp_path / "t").mkdir(exist_ok=True)
    return Trainer(cfg, tmp_path / "t", quiet=True)


def test_phases_compute_the_reference_losses(tmp_path):
    t = _trainer(tmp_path, "objective.args.cycle_weight=3", "objective.args.identity_weight=0.25")
    obj = t.objective
    assert [(p.name, p.players) for p in obj.phases] == [("G", ("G_ab", "G_ba")), ("D", ("D_a", "D_b"))]
    order = t.batches.state_dict()
    batch = t.batches.next()
    t.batches.load_state_dict(order)
    G_phase, D_phase = obj.phases
    loss = obj.loss(G_phase, 0, t)
    G_ab, G_ba, D_a, D_b = (obj.players[n].module for n in PLAYERS)
    a, b = batch["a"], batch["b"]
    lsgan = build_loss("lsgan", {})
    with torch.no_grad():
        expected = (lsgan.g_loss(D_b(G_ab(a))) + lsgan.g_loss(D_a(G_ba(b)))
                    + 3 * F.l1_loss(G_ba(G_ab(a)), a) + 3 * F.l1_loss(G_ab(G_ba(b)), b)
                    + 0.75 * F.l1_loss(G_ba(a), a) + 0.75 * F.l1_loss(G_ab(b), b))
        assert float(loss) == pytest.approx(float(expected), rel=1e-5)
        # D trains on this step's fakes (the pools are still filling, so they come back unchanged).
        d = obj.loss(D_phase, 0, t)
        fake_a, fake_b = G_ba(b), G_ab(a)
        expected_d = lsgan.d_loss(D_a(a), D_a(fake_a)) + lsgan.d_loss(D_b(b), D_b(fake_b))
        assert float(d) == pytest.approx(float(expected_d), rel=1e-5)


def test_each_phase_moves_only_its_players(tmp_path):
    t = _trainer(tmp_path)
    obj = t.objective

    def weights():
        return {n: [p.detach().clone() for p in obj.players[n].module.parameters()] for n in PLAYERS}

    def changed(before, after):
        return sorted(n for n in PLAYERS if any(not torch.equal(x, y) for x, y in zip(before[n], after[n])))

    before = weights()
    t._update(obj.phases[0], 0)
    middle = weights()
    assert changed(before, middle) == ["G_ab", "G_ba"]
    t._update(obj.phases[1], 0)
    assert changed(middle, weights()) == ["D_a", "D_b"]


def test_preview_rows_are_the_cycles_of_the_fixed_inputs(tmp_path):
    obj = _trainer(tmp_path).objective
    p = obj.preview()
    a, b = obj.fixed["a"], obj.fixed["b"]
    k = len(a)
    assert p["nrow"] == k == 2
    G_ab, G_ba = obj.players["G_ab"].module.eval(), obj.players["G_ba"].module.eval()
    with torch.no_grad():
        expected = torch.cat([a, G_ab(a), G_ba(G_ab(a)), b, G_ba(b), G_ab(G_ba(b))])
    assert torch.allclose(p["images"], expected, atol=1e-6)


def test_networks_for_other_players_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"networks were given for G \(gankit.train.s generator= .* modules="):
        gankit.train("cyclegan-mnist", overrides=tiny(tmp_path), generator=torch.nn.Linear(1, 1), quiet=True)


@pytest.mark.parametrize("override, message", [
    ("model.g.name=dcgan", "model.g.name: unknown translator 'dcgan'. Valid names: resnet, unet"),
    ("data.source=mnist5k", "needs two unpaired image domains (batches {a, b}), but data.source='mnist5k'"),
    ("data.args.paired=true", "use data.source=unpaired"),
    ("regularizers.r1.gamma=1", "regularizers.r1 is set; remove it"),
    ("train.n_critic=2", "set train.n_critic=1"),
    ("objective.args.pool_size=-1", "objective.args.pool_size must be an integer >= 0"),
    ("objective.args.cycle_weigth=1", "unknown setting objective.args.cycle_weigth. Did you mean 'cycle_weight'?"),
])
def test_config_errors_name_the_setting(tmp_path, capsys, override, message):
    extra = ["data.args={}"] if override.startswith("data.source") else []
    code = main(["train", "--preset", "cyclegan-mnist", "--quiet", *tiny(tmp_path), *extra, override])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def _state(run_dir):
    state = ckpt.newest_valid_checkpoint(run_dir)[1]
    return state["step"], state["players"], state["objective"]["pools"]


def _assert_equal(a, b, where=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_equal(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal(x, y, f"{where}[{i}]")
    elif torch.is_tensor(a):
        assert torch.equal(a, b), where
    else:
        assert a == b, where


def test_resume_in_a_fresh_process_is_bit_identical(tmp_path):
    # A pool of 3 fills within the first step, so later steps swap through the run's noise stream.
    # train.steps stays 8 for both runs: the LR schedule (linear_second_half) depends on it.
    common = tiny(tmp_path, "objective.args.pool_size=3", "train.steps=8")
    full = gankit.train("cyclegan-mnist", overrides=common, run_dir=tmp_path / "full", quiet=True)
    gankit.train("cyclegan-mnist", overrides=common, run_dir=tmp_path / "half", quiet=True, stop_after=4)
    assert _state(tmp_path / "half")[0] == 4
    code = "import gankit,sys; gankit.train(resume=sys.argv[1], quiet=True)"
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "half")], check=True)
    a, b = _state(full.run_dir), _state(tmp_path / "half")
    assert a[0] == b[0] == 8
    assert a[2]["a"]["count"] == 3
    _assert_equal(a, b)
    rows = [[json.loads(line) for line in (d / "stats.jsonl").read_text().splitlines()]
            for d in (full.run_dir, tmp_path / "half")]
    assert [{k: r[k] for k in TERMS} for r in rows[0]] == [{k: r[k] for k in TERMS} for r in rows[1]]



@pytest.mark.skipif(not (SHARED / "cifar10-jpg.tar.gz").is_file(), reason="shared CIFAR-10 JPEGs absent")
def test_horse2deer_preset_reads_the_unpacked_cifar10_layout(tmp_path):
    import tarfile

    cfg = load_config("cyclegan-cifar10-horse2deer")
    a_dir, b_dir = cfg.data.args.a_dir, cfg.data.args.b_dir
    # The README's unpack command gives <root>/train/<class>/NNNN.jpg; the preset's data.path ends in train.
    assert cfg.data.path == "~/.cache/cifar10-jpg/train"
    counts, root = {a_dir: 0, b_dir: 0}, tmp_path / "cifar10-jpg"
    with tarfile.open(SHARED / "cifar10-jpg.tar.gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and parts[0] == "train" and parts[1] in counts:
                counts[parts[1]] += 1
                if counts[parts[1]] <= 12:  # a few real images of each domain for the run below
                    tar.extract(member, root, filter="data")
    assert counts == {a_dir: 5000, b_dir: 5000}
    run = tmp_path / "run"
    assert main(["train", "--preset", "cyclegan-cifar10-horse2deer", "--out", str(run), "--quiet",
                 f"data.path={root / 'train'}", "model.g.args.width=2", "model.g.args.n_blocks=1",
                 "model.d.args.width=2", "train.batch_size=4", "train.steps=2", "train.n_samples=4",
                 "train.threads=1", f"out={tmp_path}"]) == 0
    data = json.loads((run / "meta.json").read_text())["data"]
    assert (data["shape"], data["a"]["samples"], data["b"]["samples"]) == ([3, 32, 32], 12, 12)
