"""Training options that change the updates, each checked by its effect through the library API."""

import pytest
import torch

import gankit
from gankit.config import load_config
from gankit.training import checkpoint as ckpt
from gankit.training.loop import Trainer


def _trainer(tmp_path, tiny_overrides, *extra, name="r"):
    torch.manual_seed(0)
    cfg = load_config(overrides=tiny_overrides + ["train.sample_every=1000", *extra])
    (tmp_path / name).mkdir()
    return Trainer(cfg, tmp_path / name, quiet=True)


def _flat(module):
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


def test_n_critic_gives_that_many_d_updates_per_g_update(tmp_path, tiny_overrides):
    gankit.train(overrides=tiny_overrides + ["train.steps=4", "train.n_critic=3"], run_dir=tmp_path / "r", quiet=True)
    state = ckpt.newest_valid_checkpoint(tmp_path / "r")[1]
    opt_steps = {n: int(p["optimizer"]["state"][0]["step"]) for n, p in state["players"].items()}
    assert opt_steps == {"G": 4, "D": 12} and state["objective"]["d_updates"] == 12


class CountingG(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.z_dim, self.num_classes = 8, 0
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 256), torch.nn.Tanh())
        self.training_calls = 0

    def forward(self, z, y=None):
        self.training_calls += int(self.training)
        return self.net(z).view(-1, 1, 16, 16)


@pytest.mark.parametrize("reuse, calls", [("true", 1 + 4), ("false", 4 + 4)])
def test_reuse_fake_spares_one_generator_pass_per_step(tmp_path, tiny_overrides, reuse, calls):
    G = CountingG()
    gankit.train(overrides=tiny_overrides + ["train.steps=4", f"train.reuse_fake={reuse}"], generator=G,
                 run_dir=tmp_path / "r", quiet=True)
    # G's own update: one pass per step; D's update: one more, except when it reuses G's last batch
    assert G.training_calls == calls


def test_ema_copies_the_generator_until_ema_start(tmp_path, tiny_overrides):
    late = _trainer(tmp_path, tiny_overrides, "train.ema=0.9", "train.ema_start=5", name="late")
    early = _trainer(tmp_path, tiny_overrides, "train.ema=0.9", "train.ema_start=0", name="early")
    for t in (late, early):
        for _ in range(3):
            t.train_step()
    g = late.players["G"]
    assert torch.equal(_flat(g.ema), _flat(g.module))
    e = early.players["G"]
    assert not torch.allclose(_flat(e.ema), _flat(e.module))
    assert torch.equal(_flat(g.module), _flat(e.module))  # same training, only the average differs


def test_grad_clip_bounds_the_update_and_reports_the_unclipped_norm(tmp_path, tiny_overrides):
    t = _trainer(tmp_path, tiny_overrides, "optim.d.name=sgd", "optim.d.lr=1.0", "optim.d.grad_clip=0.001")
    before = _flat(t.players["D"].module)
    t.train_step()
    step = (_flat(t.players["D"].module) - before).norm().item()
    norm = t.reporter.flush(1)["grad_norm/D"]
    assert norm > 0.01 and step == pytest.approx(0.001, rel=1e-3)  # sgd with lr 1: the step is the clipped gradient


def test_weight_decay_adds_lr_times_decay_times_weight(tmp_path, tiny_overrides):
    plain = _trainer(tmp_path, tiny_overrides, "optim.d.name=sgd", "optim.d.lr=0.1", name="plain")
    decayed = _trainer(tmp_path, tiny_overrides, "optim.d.name=sgd", "optim.d.lr=0.1", "optim.d.weight_decay=0.5",
                       name="decayed")
    w0 = _flat(plain.players["D"].module)
    assert torch.equal(w0, _flat(decayed.players["D"].module))
    plain._update(plain.objective.phases[0], 0)
    decayed._update(decayed.objective.phases[0], 0)
    diff = _flat(decayed.players["D"].module) - _flat(plain.players["D"].module)
    torch.testing.assert_close(diff, -0.1 * 0.5 * w0, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name, extra, kind, state_key", [
    ("sgd", ["optim.d.momentum=0.9", "optim.d.betas=[0.5, 0.999]"], torch.optim.SGD, "momentum_buffer"),
    ("rmsprop", ["optim.d.lr=5e-5"], torch.optim.RMSprop, "square_avg"),
])
def test_other_optimisers_train_and_resume(tmp_path, tiny_overrides, name, extra, kind, state_key):
    ov = tiny_overrides + ["train.steps=4", f"optim.d.name={name}", *extra]
    result = gankit.train(overrides=ov, run_dir=tmp_path / "r", quiet=True)
    assert isinstance(result.trainer.players["D"].optimizer, kind)
    state = ckpt.newest_valid_checkpoint(tmp_path / "r")[1]
    assert state_key in state["players"]["D"]["optimizer"]["state"][0]


@pytest.mark.slow
def test_compile_trains_through_compiled_forwards(tmp_path, tiny_overrides):
    result = gankit.train(overrides=tiny_overrides + ["train.steps=2", "train.compile=true"], run_dir=tmp_path / "r",
                          quiet=True)
    for p in result.trainer.players.values():
        assert isinstance(p.forward, torch._dynamo.eval_frame.OptimizedModule) and p.forward._orig_mod is p.module
    assert ckpt.newest_valid_checkpoint(tmp_path / "r")[1]["step"] == 2
