"""Checkpoint formats: v2 iterates over players; v1 (gankit 0.1) upgrades on load; others are refused."""

import pickle

import pytest
import torch

import gankit
from gankit.cli import main
from gankit.training import checkpoint as ckpt


def _as_v1(state):
    """The v1 layout gankit 0.1 wrote for the same train state (fixed G/D keys)."""
    G, D = state["players"]["G"], state["players"]["D"]
    return {"format": "gankit-checkpoint-v1", "step": state["step"], "d_steps": state["objective"]["d_updates"],
            "config": state["config"], "num_classes": state["num_classes"], "class_names": state["class_names"],
            "data_shape": state["data_shape"], "G": G["module"], "D": D["module"], "G_ema": G["ema"],
            "opt_g": G["optimizer"], "opt_d": D["optimizer"], "sched_g": G["scheduler"], "sched_d": D["scheduler"],
            "scaler": {"g": G["scaler"], "d": D["scaler"]}, "rng": state["rng"], "data": state["data"],
            "fixed": state["objective"]["fixed"], "carried": state["objective"]["carried"], "best": None}


def test_v2_checkpoint_holds_every_player(tmp_path, tiny_overrides):
    gankit.train(overrides=tiny_overrides + ["train.steps=4", "train.ema=0.5"], run_dir=tmp_path / "r", quiet=True)
    state = ckpt.load_checkpoint(tmp_path / "r" / "checkpoints" / "step-0000004.pt")
    assert state["format"] == ckpt.FORMAT and state["gankit_version"] == gankit.__version__
    assert sorted(state["players"]) == ["D", "G"]
    assert sorted(state["players"]["G"]) == ["ema", "module", "optimizer", "scaler", "scheduler"]
    assert state["players"]["G"]["ema"] is not None and state["players"]["D"]["ema"] is None


def test_a_v1_checkpoint_resumes_exactly_like_the_v2_one(tmp_path, tiny_overrides):
    ov = tiny_overrides + ["train.steps=4", "train.ema=0.5"]
    for name in ("v2", "v1"):
        gankit.train(overrides=ov, run_dir=tmp_path / name, quiet=True)
    path = tmp_path / "v1" / "checkpoints" / "step-0000004.pt"
    ckpt.atomic_save(_as_v1(ckpt.load_checkpoint(path)), path)
    assert torch.load(path, weights_only=True)["format"] == "gankit-checkpoint-v1"
    for name in ("v2", "v1"):
        gankit.train(resume=tmp_path / name, overrides=["train.steps=8"], quiet=True)
    a = ckpt.load_checkpoint(tmp_path / "v2" / "checkpoints" / "step-0000008.pt")
    b = ckpt.load_checkpoint(tmp_path / "v1" / "checkpoints" / "step-0000008.pt")
    for player in ("G", "D"):
        for k, v in a["players"][player]["module"].items():
            assert torch.equal(v, b["players"][player]["module"][k]), (player, k)
    assert gankit.load_generator(path.parent.parent) is not None


def test_an_unknown_format_is_refused_naming_it_and_its_version(tmp_path, capsys):
    path = tmp_path / "future.pt"
    torch.save({"format": "gankit-checkpoint-v9", "gankit_version": "3.1.0"}, path)
    assert main(["sample", str(path), "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "'gankit-checkpoint-v9' written by gankit 3.1.0" in err and "Use the gankit version that wrote it" in err


class Boom:
    def __reduce__(self):
        return (print, ("this code ran",))


def test_a_malicious_pickle_is_refused_without_running_it_or_advising_to(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": ckpt.FORMAT, "x": Boom()}))
    assert main(["sample", str(path), "--out", str(tmp_path / "s.png")]) == 2
    captured = capsys.readouterr()
    assert "this code ran" not in captured.out + captured.err
    assert "refuses to unpickle" in captured.err and "weights_only" not in captured.err
    assert "Traceback" not in captured.err
