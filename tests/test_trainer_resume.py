"""Exact resume, atomic checkpoints and the non-finite-loss stop, through the public train() API."""

import json
import subprocess
import sys

import pytest
import torch

import gankit
from gankit.training import checkpoint as ckpt
from gankit.training.loop import NonFiniteLossError


def _losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss/D"], r["loss/G"]) for r in rows]


def _weights(run_dir):
    state = ckpt.newest_valid_checkpoint(run_dir)[1]
    G, D = state["players"]["G"], state["players"]["D"]
    return state["step"], G["module"], D["module"], G["ema"], D["optimizer"]


def _assert_same_state(a, b):
    assert a[0] == b[0]
    for sa, sb in zip(a[1:4], b[1:4]):
        if sa is None or sb is None:  # no EMA in this run
            assert sa is sb
            continue
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), k
    for k, v in a[4]["state"].items():
        assert torch.equal(v["exp_avg"], b[4]["state"][k]["exp_avg"])


@pytest.mark.parametrize("extra", [[], ["train.n_critic=2", "regularizers.gp.weight=1", "loss.name=wasserstein",
                                        "train.augment=color,translation"]])
def test_resume_in_a_fresh_process_is_bit_identical(tmp_path, tiny_overrides, extra):
    common = tiny_overrides + extra + ["train.ema=0.9", "model.g.args.norm=batch"]
    full = gankit.train(overrides=common + ["train.steps=8"], run_dir=tmp_path / "full", quiet=True)
    gankit.train(overrides=common + ["train.steps=4"], run_dir=tmp_path / "half", quiet=True)
    # resume in a new interpreter, as a user would after a crash
    code = ("import gankit,sys; gankit.train(resume=sys.argv[1], overrides=['train.steps=8'], quiet=True)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "half")], check=True)
    _assert_same_state(_weights(full.run_dir), _weights(tmp_path / "half"))
    assert _losses(full.run_dir) == _losses(tmp_path / "half")


def test_stop_after_then_resume_matches_uninterrupted(tmp_path, tiny_overrides):
    ov = tiny_overrides + ["train.steps=8", "optim.g.lr_decay=linear", "optim.d.lr_decay=linear"]
    full = gankit.train(overrides=ov, run_dir=tmp_path / "full", quiet=True)
    gankit.train(overrides=ov, run_dir=tmp_path / "cut", quiet=True, stop_after=4)
    assert _weights(tmp_path / "cut")[0] == 4
    gankit.train(resume=tmp_path / "cut", quiet=True)
    _assert_same_state(_weights(full.run_dir), _weights(tmp_path / "cut"))
    assert _losses(full.run_dir) == _losses(tmp_path / "cut")


def test_a_failed_save_leaves_the_previous_checkpoint_loadable(tmp_path, tiny_overrides, monkeypatch):
    run = gankit.train(overrides=tiny_overrides + ["train.steps=4"], run_dir=tmp_path / "r", quiet=True)
    before = ckpt.checkpoint_files(run.run_dir)
    assert [p.name for p in before] == ["step-0000004.pt"]

    def exploding_save(obj, fh, *a, **k):
        fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", exploding_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.atomic_save({"format": ckpt.FORMAT}, before[0])
    monkeypatch.undo()
    assert sorted(p.name for p in before[0].parent.iterdir()) == ["step-0000004.pt"]  # no temp file left
    assert ckpt.load_checkpoint(before[0])["step"] == 4


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path, tiny_overrides):
    run = gankit.train(overrides=tiny_overrides + ["train.steps=8"], run_dir=tmp_path / "r", quiet=True)
    files = ckpt.checkpoint_files(run.run_dir)
    assert [p.name for p in files] == ["step-0000008.pt", "step-0000004.pt"]
    files[0].write_bytes(files[0].read_bytes()[:100])  # truncated, as after a crash mid-copy
    path, state = ckpt.newest_valid_checkpoint(run.run_dir)
    assert (path.name, state["step"]) == ("step-0000004.pt", 4)


class PoisonedD(torch.nn.Module):
    """A discriminator whose outputs turn NaN from its ``poison_at``-th forward call on."""

    def __init__(self, poison_at: int):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16 * 16, 1))
        self.calls, self.poison_at = 0, poison_at

    def forward(self, x, y=None):
        self.calls += 1
        out = self.net(x).squeeze(1)
        return out * float("nan") if self.calls > self.poison_at else out


def test_non_finite_loss_stops_with_step_and_term(tmp_path, tiny_overrides):
    # 3 D forwards per step (real, fake, then fake for G): call 16 is the D step of step 6.
    with pytest.raises(NonFiniteLossError, match=r"loss/D became non-finite at step 6\. The last good checkpoint "
                                                 r"is .*step-0000004\.pt"):
        gankit.train(overrides=tiny_overrides + ["train.steps=12", "train.log_every=8"], discriminator=PoisonedD(15),
                     run_dir=tmp_path / "nan", quiet=True)
    assert [p.name for p in ckpt.checkpoint_files(tmp_path / "nan")] == ["step-0000004.pt"]
