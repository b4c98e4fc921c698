"""Progressive growing: exact fade-in blends in G and D, the level/alpha schedule, faded reals, the
stage saved with the weights, growth statistics, and a resume mid-fade that is bit-identical."""

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.models import build_discriminator, build_generator
from gankit.objectives.progan import GrowthSchedule, ProGAN, fade_reals
from gankit.registry import ConfigError
from gankit.training import checkpoint as ckpt

R = 16  # levels 0 (4x4), 1 (8x8), 2 (16x16)


def _nets(**g):
    torch.manual_seed(0)
    return (build_generator("progan", {"width": 4, **g}, 8, (1, R, R), 0),
            build_discriminator("progan", {"width": 4}, (1, R, R), 0))


def _up(x, factor):
    return F.interpolate(x, scale_factor=factor, mode="nearest") if factor > 1 else x


@pytest.mark.parametrize("level", [1, 2])
def test_generator_fade_is_the_old_path_at_alpha_0_and_the_new_block_at_1(level):
    G, _ = _nets()
    G.eval()
    z = torch.randn(4, 8)
    G.set_stage(level - 1, 1.0)
    old = G(z)
    G.set_stage(level, 0.0)
    assert torch.equal(G(z), old)
    G.set_stage(level, 1.0)
    new = G(z)
    with torch.no_grad():  # the new block alone, by hand
        h = G.first_conv(G.first(z).view(4, -1, 4, 4))
        for k in range(level):
            h = G.blocks[k](h)
        expected = _up(torch.tanh(G.to_rgb[level](h)), R // (4 << level))
    assert torch.equal(new, expected)


def test_generator_returns_the_current_level_enlarged_to_the_data_size():
    G, _ = _nets()
    G.set_stage(0, 1.0)
    x = G(torch.randn(2, 8)).detach()
    assert x.shape == (2, 1, R, R) and float(x.abs().max()) <= 1.0
    blocks = x.unfold(2, 4, 4).unfold(3, 4, 4)  # [2, 1, 4, 4, 4, 4]: constant 4x4 blocks = a 4x4 image
    assert torch.equal(blocks, blocks[..., :1, :1].expand_as(blocks))


@pytest.mark.parametrize("level", [1, 2])
def test_discriminator_fade_is_the_old_path_at_alpha_0_and_the_new_block_at_1(level):
    _, D = _nets()
    side = 4 << level
    xk = torch.randn(8, 1, side, side)
    x = _up(xk, R // side)  # an image of this level, as G and the faded reals give it
    D.set_stage(level, 0.0)
    at0 = D(x)
    D.set_stage(level - 1, 1.0)  # the old path: the level below, fed the 2x-pooled image
    assert torch.equal(at0, D(_up(F.avg_pool2d(xk, 2), 2 * R // side)))
    D.set_stage(level, 1.0)
    with torch.no_grad():
        h = D.blocks[level - 1](D.from_rgb[level](xk))
        for k in range(level - 1, 0, -1):
            h = D.blocks[k - 1](h)
        expected = D.head(D.last(h))
    assert torch.equal(D(x), expected)


def test_schedule_at_chosen_steps():
    s = GrowthSchedule(levels=4, images_per_phase=100, batch_sizes=(10, 10, 10, 5))
    assert s.starts() == [(0, 0, 0), (1, 10, 20), (2, 30, 40), (3, 50, 70)]
    expected = {0: (0, 1.0), 9: (0, 1.0), 10: (1, 0.0), 15: (1, 0.5), 19: (1, 0.9), 20: (1, 1.0), 29: (1, 1.0),
                35: (2, 0.5), 50: (3, 0.0), 55: (3, 0.25), 69: (3, 0.95), 70: (3, 1.0), 10 ** 6: (3, 1.0)}
    assert {step: s.stage(step) for step in expected} == expected
    # images are counted as D sees them: two critic updates (or two accumulated batches) per step halve the phases
    assert GrowthSchedule(2, 100, (10, 10), n_critic=2).starts() == [(0, 0, 0), (1, 5, 10)]
    assert GrowthSchedule(2, 100, (10, 10), n_critic=2, accumulate=2).starts() == [(0, 0, 0), (1, 3, 6)]


def test_reals_are_pooled_to_the_level_and_faded_the_same_way():
    x = torch.randn(2, 1, R, R)
    x8 = F.avg_pool2d(x, 2)
    assert torch.allclose(fade_reals(x, 2, 1.0), x)
    assert torch.allclose(fade_reals(x, 1, 1.0), _up(x8, 2))
    coarse = _up(F.avg_pool2d(x8, 2), 2)
    assert torch.allclose(fade_reals(x, 1, 0.0), _up(coarse, 2))
    assert torch.allclose(fade_reals(x, 1, 0.3), _up(0.7 * coarse + 0.3 * x8, 2), atol=1e-6)


def test_stage_travels_with_the_weights():
    G, _ = _nets()
    G.set_stage(1, 0.3)
    other, _ = _nets()
    assert (other.level, other.alpha) == (2, 1.0)  # built as the full network
    other.load_state_dict(G.state_dict())
    assert (other.level, other.alpha) == (1, 0.3)
    with pytest.raises(ValueError, match="outside levels 0..2"):
        G.set_stage(3, 1.0)


def _train_overrides(out):
    return ["data.source=mnist5k", f"data.resolution={R}", "model.z_dim=8", "model.g.name=progan",
            "model.d.name=progan", "model.g.args.width=4", "model.d.args.width=4", "objective.name=progan",
            "objective.args.images_per_phase=16", "objective.args.batch_sizes={16: 4}", "loss.name=wasserstein",
            "regularizers.gp.weight=10", "regularizers.drift.weight=0.001", "optim.g.lr=1e-3", "optim.d.lr=1e-3",
            "optim.g.betas=[0,0.99]", "optim.d.betas=[0,0.99]", "train.batch_size=8", "train.ema=0.9",
            "train.log_every=1", "train.sample_every=100", "train.checkpoint_every=100", "train.n_samples=4",
            "train.threads=1", "train.device=cpu", f"out={out}"]


def _rows(run_dir):
    return [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]


def test_growth_through_the_cli_and_resume_mid_fade_is_bit_identical(tmp_path):
    # 2 steps per phase at 8 images (level 2 at batch 4: 4): level 1 fades in over steps 2-3, level 2 over 6-9
    ov = _train_overrides(tmp_path / "runs")
    full = gankit.train(overrides=ov + ["train.steps=11"], run_dir=tmp_path / "full", quiet=True)
    rows = _rows(full.run_dir)
    assert [r["growth/level"] for r in rows] == [0] * 2 + [1] * 4 + [2] * 5
    assert [r["growth/alpha"] for r in rows] == pytest.approx(
        [1.0] * 2 + [0.0, 0.5] + [1.0] * 2 + [0.0, 0.25, 0.5, 0.75, 1.0])
    assert all(v is not None for r in rows for k, v in r.items() if k.startswith(("loss/", "penalty")))
    meta = json.loads((full.run_dir / "meta.json").read_text())
    assert meta["growth"][2] == {"level": 2, "side": 16, "fade_start_step": 6, "stable_start_step": 10}

    # stop in the middle of level 2's fade (alpha 0.5 next), resume in a fresh interpreter
    gankit.train(overrides=ov + ["train.steps=8"], run_dir=tmp_path / "half", quiet=True)
    code = "import gankit,sys; gankit.train(resume=sys.argv[1], overrides=['train.steps=11'], quiet=True)"
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "half")], check=True)
    a, b = ckpt.newest_valid_checkpoint(full.run_dir)[1], ckpt.newest_valid_checkpoint(tmp_path / "half")[1]
    assert a["step"] == b["step"] == 11
    for player in ("G", "D"):
        for part in ("module", "ema"):
            if a["players"][player][part] is None:
                continue
            for k, v in a["players"][player][part].items():
                assert torch.equal(v, b["players"][player][part][k]), (player, part, k)
    assert [(r["step"], r["loss/D"], r["loss/G"]) for r in rows] == [
        (r["step"], r["loss/D"], r["loss/G"]) for r in _rows(tmp_path / "half")]

    # the saved G (its EMA) samples at the stage it reached: the full 16x16 network
    G, _ = ckpt.load_run_generator(full.run_dir)
    assert (G.level, G.alpha) == (2, 1.0)


def test_progan_objective_needs_growing_networks(tmp_path):
    ov = [o for o in _train_overrides(tmp_path) if not o.startswith("model.d.")] + ["train.steps=1"]
    with pytest.raises(ConfigError, match="needs model.g.name=progan and model.d.name=progan"):
        gankit.train(overrides=ov + ["model.d.args.width=4"], run_dir=tmp_path / "r", quiet=True)


def test_batch_sizes_are_capped_by_side():
    assert ProGAN._batch_sizes({"32": 64, 8: 16}, 4, 128) == (128, 16, 128, 64)
    assert ProGAN._batch_sizes({256: 4}, 3, 32) == (32, 32, 32)  # a side beyond the network is ignored
    assert ProGAN._batch_sizes(None, 2, 8) == (8, 8)
    with pytest.raises(ConfigError, match=r"batch_sizes keys are image sides"):
        ProGAN._batch_sizes({12: 4}, 3, 32)
