"""Data-parallel training through torchrun on the CPU (gloo): the processes form one run.

Each torchrun launch costs a few seconds of start-up, so the runs are tiny (an MLP pair on the
2-D ring) and shared between tests through module fixtures.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import gankit
from gankit.registry import ConfigError
from gankit.training.distributed import Distributed, check_world

# A norm-free MLP pair with a gradient penalty (R1: a double backward through D, lazy: every 2nd
# D update), 2 D updates per G update, G EMA: everything the gradient averaging must get right.
RUN = ["--preset", "ring-gan", "train.steps=6", "train.batch_size=16", "train.n_critic=2", "train.ema=0.9",
       "regularizers.r1.gamma=1.0", "regularizers.r1.every=2", "model.g.args.hidden=16", "model.d.args.hidden=16",
       "train.log_every=2", "train.checkpoint_every=3", "train.sample_every=3", "train.n_samples=16",
       "train.threads=1", "optim.g.lr_decay=none", "optim.d.lr_decay=none",
       # SGD with momentum keeps the comparisons linear in the gradients: Adam's first steps divide
       # by |g|, which turns the rounding of near-zero gradient entries into lr-sized differences.
       "optim.g.name=sgd", "optim.d.name=sgd", "optim.g.lr=0.05", "optim.d.lr=0.05",
       "optim.g.momentum=0.9", "optim.d.momentum=0.9"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, nproc=2, extra=(), wait=True, **kw):
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", *extra]
    if not any(a.startswith("--rdzv") for a in extra):
        cmd += ["--master_addr=127.0.0.1", f"--master_port={free_port()}"]
    cmd += ["-m", "gankit", "train", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV, **kw)
    if not wait:
        return proc
    out, _ = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out


def final(run: Path, step: int = 6) -> dict:
    return torch.load(run / "checkpoints" / f"step-{step:07d}.pt", weights_only=True)


def tensors(state: dict) -> dict:
    """Every player's weights and EMA weights, by name."""
    out = {}
    for name, p in state["players"].items():
        out.update({f"{name}.{k}": v for k, v in p["module"].items()})
        out.update({f"{name}_ema.{k}": v for k, v in (p["ema"] or {}).items()})
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    gankit.train(overrides=RUN[2:], preset="ring-gan", run_dir=root / "one", quiet=True)
    code, out = torchrun(*RUN, "--out", str(root / "two"), cwd=root)
    assert code == 0, out
    return root, out


def test_two_processes_train_the_same_weights_as_one_process_with_the_global_batch(runs):
    root, _ = runs
    one, two = tensors(final(root / "one")), tensors(final(root / "two"))
    assert sorted(one) == sorted(two) and any(k.startswith("G_ema.") for k in one)
    for k in one:
        # The mean over 2 x 8 samples is summed in another order than over 16: float32 rounding
        # (~1e-7 relative per reduction, grown over 6 Adam steps); the weights are O(0.1-1).
        torch.testing.assert_close(two[k], one[k], rtol=0, atol=1e-6, msg=k)
    # and it is not trivially equal: the run moved the weights away from their initial values
    start = tensors(final(root / "one", 3))
    assert max((one[k] - start[k]).abs().max().item() for k in one) > 1e-3


def test_only_rank_0_writes_files_and_reports(runs):
    root, out = runs
    files_one = sorted(str(p.relative_to(root / "one")) for p in (root / "one").rglob("*") if p.is_file())
    files_two = sorted(str(p.relative_to(root / "two")) for p in (root / "two").rglob("*") if p.is_file())
    strip = lambda names: [n for n in names if not n.startswith("tb/")]  # TensorBoard names hold host and pid
    assert strip(files_two) == strip(files_one)
    assert sorted(p.name for p in root.iterdir()) == ["one", "two"]  # nothing written beside the run folders
    import json
    stats = [json.loads(ln) for ln in (root / "two" / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in stats] == [2, 3, 4, 6]  # log_every=2 and checkpoint_every=3, once each
    # statistics are averaged over the processes before they are written: a single process's values
    single = [json.loads(ln) for ln in (root / "one" / "stats.jsonl").read_text().splitlines()]
    for mine, ref in zip(stats, single):
        for key in ("loss/D", "loss/G", "penalty/r1", "D/real", "D/fake", "grad_norm/D"):
            assert mine[key] == pytest.approx(ref[key], rel=1e-4, abs=1e-6), (mine["step"], key)
    assert out.count("run folder:") == 1 and (root / "two" / "log.txt").read_text().count("done: step 6") == 1
    state = final(root / "two")
    assert state["world_size"] == 2 and len(state["ranks"]) == 2
    # every rank's own random stream is saved, and they differ
    assert not torch.equal(state["ranks"][0]["rng"]["cpu"], state["ranks"][1]["rng"]["cpu"])
    # the fixed-noise grid is a single-process run's
    assert (root / "two" / "samples.png").read_bytes() != b""
    from PIL import Image
    import numpy as np
    a = np.asarray(Image.open(root / "one" / "samples" / "step-0000003.png"))
    b = np.asarray(Image.open(root / "two" / "samples" / "step-0000003.png"))
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_resume_of_a_two_process_run_in_fresh_processes_is_bit_identical(runs, tmp_path):
    root, _ = runs
    part = tmp_path / "part"
    code, out = torchrun(*[a if a != "train.steps=6" else "train.steps=3" for a in RUN], "--out", str(part))
    assert code == 0, out
    code, out = torchrun("--resume", str(part), "train.steps=6")
    assert code == 0, out
    resumed, straight = final(part), final(root / "two")
    for k, v in tensors(straight).items():
        assert torch.equal(tensors(resumed)[k], v), k
    for name in straight["players"]:
        assert str(resumed["players"][name]["optimizer"]["state"]) == str(straight["players"][name]["optimizer"]["state"])
    for r in range(2):
        assert torch.equal(resumed["ranks"][r]["rng"]["cpu"], straight["ranks"][r]["rng"]["cpu"])


def test_resume_with_another_number_of_processes_is_refused_naming_both(runs):
    root, _ = runs
    with pytest.raises(ConfigError, match=r"written by a run of 2 process\(es\) and this run has 1"):
        gankit.train(resume=root / "two", overrides=["train.steps=9"], quiet=True)


def test_two_machines_on_loopback_train_one_run(runs, tmp_path):
    root, _ = runs
    port = free_port()
    rdzv = ["--nnodes=2", "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}", "--rdzv_id=gankit-test"]
    # Two launchers, as on two machines: each starts one process; c10d rendezvous joins them.
    procs = [torchrun(*RUN, "--out", str(tmp_path / "run"), nproc=1, extra=rdzv, wait=False, cwd=tmp_path)
             for _ in range(2)]
    outs = [p.communicate(timeout=TIMEOUT)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outs)
    state = final(tmp_path / "run")
    assert state["world_size"] == 2
    two = tensors(final(root / "two"))
    for k, v in tensors(state).items():
        torch.testing.assert_close(v, two[k], rtol=0, atol=1e-6, msg=k)


def _rank_pids(launcher_pid: int) -> dict:
    """{rank: pid} of the worker processes a torchrun launcher started (read from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            ppid = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("PPid:")))
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, StopIteration):
            continue
        if ppid == launcher_pid:
            for var in env:
                if var.startswith(b"RANK="):
                    found[int(var[5:])] = int(entry.name)
    return found


def test_a_killed_rank_makes_the_others_exit_with_a_clear_error_and_the_run_resumes(tmp_path):
    run = tmp_path / "run"
    args = [a if a != "train.steps=6" else "train.steps=100000" for a in RUN]
    proc = torchrun(*args, "train.checkpoint_every=2", "--out", str(run), wait=False)
    deadline = time.monotonic() + TIMEOUT
    while not list((run / "checkpoints").glob("step-*.pt")) if run.exists() else True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0] if proc.poll() else "slow"
        time.sleep(0.5)
    pids = _rank_pids(proc.pid)
    assert sorted(pids) == [0, 1]
    os.kill(pids[1], signal.SIGKILL)
    killed_at = time.monotonic()
    out, _ = proc.communicate(timeout=120)
    took = time.monotonic() - killed_at
    assert proc.returncode != 0 and took < 60, (took, out)
    assert "another process of this run probably died" in out and "--resume" in out, out
    # the last complete checkpoint survives and the run continues from it
    last = max(run.glob("checkpoints/step-*.pt"))
    step = int(last.stem.split("-")[1])
    code, out = torchrun("--resume", str(run), f"train.steps={step + 2}")
    assert code == 0 and f"from {last.name} at step {step}" in out, out


def test_ctrl_c_stops_every_process_at_the_same_step_with_a_checkpoint(tmp_path):
    run = tmp_path / "run"
    args = [a if a != "train.steps=6" else "train.steps=100000" for a in RUN]
    # A new session: the test sends SIGINT to the whole process group, as a terminal's Ctrl-C does
    # (each process gets it from the terminal, and once more forwarded by torchrun).
    proc = torchrun(*args, "train.checkpoint_every=100000", "--out", str(run), wait=False, start_new_session=True)
    deadline = time.monotonic() + TIMEOUT
    while not (run / "stats.jsonl").is_file():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0] if proc.poll() else "slow"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    saved = list(run.glob("checkpoints/step-*.pt"))
    assert len(saved) == 1, out
    state = torch.load(saved[0], weights_only=True)
    assert state["world_size"] == 2 and state["step"] > 0
    assert f"interrupted by SIGINT at step {state['step']}" in (run / "log.txt").read_text()
    assert "torchrun (the same options: 2 processes in all) -m gankit train --resume" in out


def test_settings_that_cannot_split_over_the_processes_are_refused_before_data():
    cfg = gankit.load_config("ring-gan", overrides=["train.batch_size=10"])
    with pytest.raises(ConfigError, match=r"train.batch_size=10 is the global batch .* 3 processes.*batch_size=9"):
        check_world(cfg, Distributed(rank=0, local_rank=0, world=3))
    cfg = gankit.load_config("ring-pacgan", overrides=["train.batch_size=12"])
    pack = cfg.model.d.args.pack
    with pytest.raises(ConfigError, match=rf"pack={pack} must divide each process's batch"):
        check_world(cfg, Distributed(rank=0, local_rank=0, world=12))


def test_accumulated_micro_batches_equal_one_batch_of_their_total_size(tmp_path):
    # Norm-free nets (batch statistics are per micro-batch by nature); R1 and reuse_fake included.
    # z_dim=4 makes each micro-batch's draw 16 numbers: torch's CPU normal sampler fills 16 at a
    # time, so 4 draws of 4 x 4 then equal one draw of 16 x 4 (with 8 numbers they would not).
    base = RUN[2:] + ["train.steps=4", "model.z_dim=4", f"out={tmp_path}"]
    big = gankit.train(preset="ring-gan", overrides=base + ["train.batch_size=16"], quiet=True).trainer
    acc = gankit.train(preset="ring-gan", overrides=base + ["train.batch_size=4", "train.accumulate=4"],
                       quiet=True).trainer
    a, b = tensors(big.state_dict()), tensors(acc.state_dict())
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-6, msg=k)  # summation order only
    assert big.batches.served == acc.batches.served  # the same samples were seen ...
    assert acc.batches.batch_size * 4 == big.batches.batch_size  # ... in 4 micro-batches per update


def test_every_objective_and_periodic_evaluation_train_identically_on_every_rank(tmp_path):
    # One torchrun launch, a user script that sets the process group up itself (tests/dist_worker.py).
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={free_port()}", str(Path(__file__).with_name("dist_worker.py")), str(tmp_path)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout
    import json
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["world"] == 2
    expected = {"infogan": ["D", "G"], "cyclegan": ["D_a", "D_b", "G_ab", "G_ba"], "pix2pix": ["D", "G"],
                "wgan-gp": ["D", "G"]}
    for name, players in expected.items():
        assert results[name] == {"step": 4, "same_on_all_ranks": True, "finite": True, "players": players}, name
    # rank 0 evaluated at steps 2 and 4 while the other waited; best.pt was saved by both together
    best = torch.load(tmp_path / "wgan-gp" / "checkpoints" / "best.pt", weights_only=True)
    assert best["world_size"] == 2 and best["callbacks"]["evaluation"]["best"]["metric"] == "modes"
    assert "train.sync_bn=true needs CUDA" in results["sync_bn"]
