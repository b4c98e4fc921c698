"""User callbacks through gankit.train(callbacks=[...]): events, order, steps, stop requests, state."""

import json

import pytest
import torch

import gankit
from gankit.training import checkpoint as ckpt
from gankit.training.callbacks import Callback


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_fit_start(self, trainer):
        self.events.append(("fit_start", trainer.step))

    def on_step_end(self, trainer, step):
        assert step == trainer.step
        self.events.append(("step_end", step))

    def on_flush(self, trainer, step, values):
        self.events.append(("flush", step, sorted(k for k in values if k.startswith("loss/"))))

    def on_evaluation(self, trainer, step, values):
        self.events.append(("evaluation", step, sorted(values)))

    def on_checkpoint(self, trainer, step, path):
        self.events.append(("checkpoint", step, path.name))

    def on_fit_end(self, trainer, step):
        self.events.append(("fit_end", step))

    def close(self, trainer):
        self.events.append(("close",))


def test_a_user_callback_receives_the_events_in_order_with_the_right_steps(tmp_path, tiny_overrides):
    rec = Recorder()
    gankit.train(overrides=tiny_overrides + ["train.steps=4", "train.log_every=2", "train.checkpoint_every=4"],
                 run_dir=tmp_path / "r", quiet=True, callbacks=[rec])
    losses = ["loss/D", "loss/G"]
    assert rec.events == [
        ("fit_start", 0),
        ("step_end", 1), ("step_end", 2), ("flush", 2, losses),
        ("step_end", 3), ("step_end", 4), ("flush", 4, losses), ("checkpoint", 4, "step-0000004.pt"),
        ("fit_end", 4), ("close",),
    ]


def test_evaluation_events_follow_periodic_evaluation(tmp_path, tiny_overrides):
    rec = Recorder()
    gankit.train(overrides=tiny_overrides + ["train.steps=4", "eval.every=2", "eval.metrics=[fid]",
                                             "eval.n_samples=32", "eval.args={extractor: tiny}"],
                 run_dir=tmp_path / "r", quiet=True, callbacks=[rec])
    evaluations = [e for e in rec.events if e[0] == "evaluation"]
    assert [e[1] for e in evaluations] == [2, 4] and all("fid" in e[2] for e in evaluations)
    # the evaluation of step 2 comes after that step and before its flush (which carries metric/fid)
    i = rec.events.index(evaluations[0])
    assert rec.events[i - 1] == ("step_end", 2) and rec.events[i + 1][:2] == ("flush", 2)
    rows = [json.loads(line) for line in (tmp_path / "r" / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "metric/fid" in r] == [2, 4]


class StopAt(Callback):
    key = "stopper"

    def __init__(self, at):
        self.at, self.seen = at, 0

    def on_step_end(self, trainer, step):
        self.seen += 1
        if step == self.at:
            trainer.request_stop("pruned by test")

    def state_dict(self):
        return {"seen": self.seen}

    def load_state_dict(self, state):
        self.seen = state["seen"]


def test_a_callback_can_stop_the_run_which_saves_and_keeps_callback_state(tmp_path, tiny_overrides):
    result = gankit.train(overrides=tiny_overrides + ["train.steps=10", "train.checkpoint_every=8"],
                          run_dir=tmp_path / "r", quiet=True, callbacks=[StopAt(3)])
    assert result.step == 3 and result.stopped == "pruned by test"
    state = ckpt.newest_valid_checkpoint(tmp_path / "r")[1]
    assert state["step"] == 3 and state["callbacks"]["stopper"] == {"seen": 3}
    again = StopAt(-1)
    gankit.train(resume=tmp_path / "r", quiet=True, callbacks=[again])
    assert again.seen == 3 + 7  # restored from the checkpoint, then counted the remaining steps


def test_training_does_not_import_viz_or_metrics():
    import ast
    import pathlib

    folder = pathlib.Path(gankit.__file__).parent / "training"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("gankit.viz", "gankit.metrics", "gankit.callbacks")), (path.name, name)


def test_the_loop_sets_no_process_wide_state(tmp_path, tiny_overrides):
    # threads, the global seed and signal handlers belong to the entry point, not to Trainer
    import signal

    from gankit.config import load_config
    from gankit.training.loop import Trainer

    torch.set_num_threads(1)
    handler = signal.getsignal(signal.SIGINT)
    cfg = load_config(overrides=tiny_overrides + ["train.threads=2", "train.steps=2"])
    weights = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        (tmp_path / str(seed)).mkdir()
        trainer = Trainer(cfg, tmp_path / str(seed), quiet=True)
        trainer.fit()
        weights.append(next(iter(trainer.players["G"].module.state_dict().values())).clone())
    assert torch.get_num_threads() == 1 and signal.getsignal(signal.SIGINT) is handler
    # the initial weights follow the caller's global seed: the Trainer never re-seeds (train.seed=0 both times)
    assert not torch.equal(weights[0], weights[1])
