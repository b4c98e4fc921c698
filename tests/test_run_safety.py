"""Nothing lost, nothing silent: resume overrides and edits, pruning, run folders, signals, disk full,
stale temporaries, the non-finite stop and exploding losses (issue 11), through the CLI."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gankit.cli import main
from gankit.training import checkpoint as ckpt
from gankit.training.stats import Reporter

T = ["data.source=mnist5k", "data.resolution=16", "model.z_dim=8", "model.g.args.width=4", "model.d.args.width=4",
     "train.batch_size=8", "train.threads=1", "train.log_every=2", "train.sample_every=100", "train.n_samples=4",
     "optim.g.lr=2e-4", "optim.d.lr=2e-4"]


def _train(*args):
    return main(["train", "--quiet", *T, *args])


def _stats(run):
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]


def _steps(run):
    return [p.name for p in ckpt.checkpoint_files(run)]


def test_optimiser_overrides_on_resume_take_effect_and_are_logged(tmp_path):
    run = tmp_path / "R"
    assert _train("train.steps=4", "train.checkpoint_every=2", "--out", str(run)) == 0
    assert main(["train", "--quiet", "--resume", str(run), "train.steps=8", "optim.g.lr=1e-3", "optim.d.lr=5e-4"]) == 0
    lrs = {r["step"]: (r["lr/G"], r["lr/D"]) for r in _stats(run)}
    assert lrs[4] == (2e-4, 2e-4) and lrs[6] == lrs[8] == (1e-3, 5e-4)
    log = (run / "log.txt").read_text()
    assert "G: lr: 0.0002 -> 0.001" in log and "D: lr: 0.0002 -> 0.0005" in log


def test_a_scheduled_lr_follows_the_new_base_after_resume(tmp_path):
    import gankit

    cut = tmp_path / "cut"
    gankit.train(overrides=T + ["train.steps=8", "train.checkpoint_every=4", "optim.g.lr_decay=linear"], run_dir=cut,
                 quiet=True, stop_after=4)
    assert main(["train", "--quiet", "--resume", str(cut), "optim.g.lr=4e-4"]) == 0
    lrs = {r["step"]: r["lr/G"] for r in _stats(cut)}
    # linear decay to 0 at step 8: 2e-4 * (1 - 4/8) before the resume, 4e-4 * (1 - 6/8) after it
    assert lrs[4] == pytest.approx(1e-4) and lrs[6] == pytest.approx(1e-4) and lrs[8] == pytest.approx(0.0)
    assert {r["step"]: r["lr/D"] for r in _stats(cut)}[6] == 2e-4


def test_pruning_never_deletes_the_checkpoint_just_written(tmp_path):
    run = tmp_path / "R"
    assert _train("train.steps=4", "train.checkpoint_every=4", "train.keep_checkpoints=1", "--out", str(run)) == 0
    (run / "checkpoints" / "step-0000100.pt").write_bytes(b"garbage from a crash")
    assert main(["train", "--quiet", "--resume", str(run), "train.steps=8"]) == 0
    assert _steps(run) == ["step-0000008.pt"]  # the corrupt higher-numbered file went, the good one stayed
    assert ckpt.newest_valid_checkpoint(run)[1]["step"] == 8


def test_out_an_existing_run_is_refused_pointing_at_resume(tmp_path, capsys):
    run = tmp_path / "R"
    assert _train("train.steps=2", "--out", str(run)) == 0
    before = (run / "config.yaml").read_text()
    capsys.readouterr()
    assert _train("train.steps=2", "train.seed=5", "--out", str(run)) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: --out") and f"gankit train --resume {run}" in err
    assert (run / "config.yaml").read_text() == before and _steps(run) == ["step-0000002.pt"]


def test_two_runs_started_at_once_get_two_folders(tmp_path):
    cmd = [sys.executable, "-m", "gankit", "train", "--quiet", *T, "train.steps=3", "name=same", f"out={tmp_path}"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    folders = sorted(line.split()[-1] for out, _ in outs for line in out.splitlines() if line.startswith("run folder"))
    assert folders == [str(tmp_path / "same"), str(tmp_path / "same-2")]
    for f in folders:
        rows = _stats(tmp_path / os.path.basename(f))
        assert [r["step"] for r in rows] == [2, 3]  # one run's records each, none interleaved
        assert json.loads((tmp_path / os.path.basename(f) / "meta.json").read_text())["command"].count("name=same") == 1


def test_resume_applies_a_valid_config_edit_and_refuses_a_bad_one(tmp_path, capsys):
    run = tmp_path / "R"
    assert _train("train.steps=2", "--out", str(run)) == 0
    cfg = run / "config.yaml"
    original = cfg.read_text()
    cfg.write_text(original.replace("log_every: 2", "log_every: 3"))
    assert main(["train", "--quiet", "--resume", str(run), "train.steps=5"]) == 0
    assert [r["step"] for r in _stats(run)] == [2, 3, 5]
    assert "config.yaml was edited since step-0000002.pt; resuming with it: train.log_every: 2 -> 3" in \
        (run / "log.txt").read_text()
    capsys.readouterr()
    cfg.write_text(cfg.read_text().replace("log_every: 3", "log_evry: 3"))
    assert main(["train", "--quiet", "--resume", str(run), "train.steps=6"]) == 2
    err = capsys.readouterr().err
    assert "config.yaml was edited since the checkpoint and is not valid" in err and "log_every" in err
    cfg.write_text("train: [unclosed\n")
    assert main(["train", "--quiet", "--resume", str(run), "train.steps=6"]) == 2
    err = capsys.readouterr().err
    assert "config.yaml" in err and "line" in err and "Traceback" not in err


def test_an_architecture_override_on_resume_is_refused_naming_it(tmp_path, capsys):
    run = tmp_path / "R"
    assert _train("train.steps=2", "--out", str(run)) == 0
    capsys.readouterr()
    assert main(["train", "--quiet", "--resume", str(run), "train.steps=4", "model.g.args.width=8"]) == 2
    err = capsys.readouterr().err
    assert "model.g.args.width: 4 -> 8" in err and "cannot change on resume" in err and "Traceback" not in err


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_finishes_the_step_saves_and_exits_non_zero_with_the_resume_command(tmp_path, sig, code):
    run = tmp_path / "R"
    cmd = [sys.executable, "-m", "gankit", "train", "--quiet", *T, "train.steps=100000", "train.checkpoint_every=100000",
           "--out", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not ((run / "stats.jsonl").exists() and (run / "stats.jsonl").stat().st_size):
        time.sleep(0.2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert f"Resume with: gankit train --resume {run}" in err  # shown although --quiet
    assert "run folder:" not in out  # not the success summary
    state = ckpt.newest_valid_checkpoint(run)[1]
    assert state["step"] > 0 and _steps(run) == [f"step-{state['step']:07d}.pt"]


def test_a_second_interrupt_during_the_checkpoint_write_says_what_survived(tmp_path, capsys, monkeypatch):
    from gankit.training.callbacks import Callback
    import gankit

    run = tmp_path / "R"
    real_save = ckpt.atomic_save

    def interrupted_save(obj, path):
        if obj["step"] == 3:  # the Ctrl-C checkpoint: a second Ctrl-C lands while it is written
            os.kill(os.getpid(), signal.SIGINT)
        return real_save(obj, path)

    class CtrlC(Callback):
        def on_step_end(self, trainer, step):
            if step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(ckpt, "atomic_save", interrupted_save)
    from gankit.training.loop import RunError

    before = signal.getsignal(signal.SIGINT)  # whatever the test process had (pytest's, or an inherited SIG_IGN)
    with pytest.raises(RunError, match=r"aborted at step 3: the last complete checkpoint is .*step-0000002\.pt; "
                                       r"steps after it are lost\. Resume with: gankit train --resume"):
        gankit.train(overrides=T + ["train.steps=10", "train.checkpoint_every=2"], run_dir=run, quiet=True,
                     callbacks=[CtrlC()])
    assert _steps(run) == ["step-0000002.pt"] and not list((run / "checkpoints").glob(".*.tmp"))
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one_and_says_so(tmp_path, capsys, monkeypatch):
    run = tmp_path / "R"
    real_save = ckpt.atomic_save

    def full_disk(obj, path):
        if obj["step"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path)

    monkeypatch.setattr(ckpt, "atomic_save", full_disk)
    assert _train("train.steps=6", "train.checkpoint_every=2", "--out", str(run)) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "step-0000002.pt survives" in err and "Traceback" not in err
    assert ckpt.newest_valid_checkpoint(run)[1]["step"] == 2


def test_stale_temporaries_of_dead_writers_are_removed_at_start(tmp_path):
    run = tmp_path / "R"
    assert _train("train.steps=2", "--out", str(run)) == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = run / "checkpoints" / f".step-0000004.pt.{dead.stdout.strip()}.0123abcd.tmp"
    live = run / "checkpoints" / f".step-0000004.pt.{os.getpid()}.4567cdef.tmp"  # this process is alive
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    assert main(["train", "--quiet", "--resume", str(run), "train.steps=3"]) == 0
    assert not stale.exists() and live.exists()


def test_the_non_finite_stop_names_the_first_term_in_computation_order():
    rep = Reporter()
    rep.report("loss/D", torch.tensor(1.0), step=3)
    rep.report("penalty/gp", torch.tensor(float("inf")), step=3)
    rep.report("loss/G", torch.tensor(float("nan")), step=3)
    assert rep.first_non_finite() == (3, "penalty/gp")  # not 'loss/G', which sorts first alphabetically
    rep.report("loss/G", torch.tensor(float("nan")), step=2)
    assert rep.first_non_finite() == (2, "loss/G")


def test_exploding_losses_warn_and_the_non_finite_stop_is_a_clean_error(tmp_path, capsys):
    run = tmp_path / "R"
    code = _train("train.steps=40", "optim.g.lr=1e10", "optim.d.lr=1e10", "loss.name=wasserstein",
                  "train.checkpoint_every=2", "--out", str(run))
    err = capsys.readouterr().err
    log = (run / "log.txt").read_text()
    assert "the losses are exploding" in log and "Lower optim.g.lr / optim.d.lr" in log
    if code:  # it went on to overflow: one clean line, naming the term, the checkpoint and the resume command
        assert code == 1 and err.startswith("gankit: error:") and "became non-finite at step" in err
        assert "gankit train --resume" in err and "Traceback" not in err
