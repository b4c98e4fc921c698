"""train.threads=0: the thread count follows the cores other processes leave idle (gankit.process,
gankit.callbacks.threads), measured from /proc/stat."""

import sys
import time

import pytest
import torch

import gankit
from gankit import process
from gankit.callbacks.threads import AdaptiveThreads

TINY = ["data.source=mnist5k", "data.resolution=16", "model.z_dim=8", "model.g.args.width=4", "model.d.args.width=4",
        "train.batch_size=8", "train.log_every=5", "train.sample_every=100", "train.checkpoint_every=100"]


@pytest.mark.parametrize("others, cores, threads", [(0.0, 2, 2), (0.4, 2, 2), (0.6, 2, 1), (1.0, 2, 1), (3.5, 2, 1),
                                                     (0.0, 8, 8), (2.2, 8, 6), (2.6, 8, 5)])
def test_threads_are_the_idle_cores_and_at_least_one(others, cores, threads):
    assert process.threads_for(others, cores) == threads


def test_others_busy_is_the_machines_busy_time_minus_ours():
    before, after = process.CPUSample(10.0, 100.0, 5.0), process.CPUSample(12.0, 104.0, 7.0)
    assert process.others_busy(before, after) == pytest.approx(1.0)  # 4 busy core-seconds, 2 of them ours, in 2 s
    assert process.others_busy(after, after) == 0.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat is Linux's")
def test_sample_cpu_sees_this_process_working():
    before = process.sample_cpu()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    after = process.sample_cpu()
    own = after.own - before.own
    assert 0.25 <= own <= 1.0 and after.wall - before.wall >= 0.25
    assert after.busy - before.busy >= 0.8 * own  # the machine's busy time includes ours (tick granularity: 10 ms)


class _Machine:
    """Scripted /proc/stat readings: ``others`` cores busy besides this process, which uses one."""

    def __init__(self):
        self.t, self.busy, self.own, self.others = 0.0, 0.0, 0.0, 0.0

    def sample(self):
        self.t += 1.0
        self.busy += self.others + 1.0
        self.own += 1.0
        return process.CPUSample(self.t, self.busy, self.own)


def test_a_run_drops_to_the_idle_cores_and_back_and_says_so(tmp_path, monkeypatch):
    machine = _Machine()
    monkeypatch.setattr(process, "sample_cpu", machine.sample)
    monkeypatch.setattr(AdaptiveThreads, "CHECK_EVERY_S", 0.0)  # check after every step
    seen = []

    class Busy(gankit.Callback):
        def on_step_end(self, trainer, step):
            seen.append(torch.get_num_threads())
            machine.others = 1.0 if 3 <= step < 9 else 0.0  # another process takes one core for a while

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = gankit.train(overrides=[*TINY, "train.steps=14", "train.threads=0"], run_dir=tmp_path / "r", quiet=True,
                              callbacks=[Busy()])
    finally:
        torch.set_num_threads(before)
    # AdaptiveThreads runs before Busy at each step and reads what Busy set the step before; a change
    # needs two agreeing readings: busy at steps 4 and 5 -> 1 thread at step 5; idle at 10 and 11 -> 2 at 11.
    assert seen == [2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]
    log = (result.run_dir / "log.txt").read_text()
    assert "step 5: other processes keep 1.0 of 2 cores busy; training goes on with 1 thread (was 2)" in log
    assert "step 11: other processes keep 0.0 of 2 cores busy; training goes on with 2 threads (was 1)" in log


def test_a_pinned_thread_count_is_left_alone(tmp_path, monkeypatch):
    machine = _Machine()
    machine.others = 1.0
    monkeypatch.setattr(process, "sample_cpu", machine.sample)
    monkeypatch.setattr(AdaptiveThreads, "CHECK_EVERY_S", 0.0)
    before = torch.get_num_threads()
    try:
        result = gankit.train(overrides=[*TINY, "train.steps=6", "train.threads=2"], run_dir=tmp_path / "r", quiet=True)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert "other processes keep" not in (result.run_dir / "log.txt").read_text()
