"""What a run writes for people and tools: stats.jsonl, TensorBoard scalars/images/histograms, grids."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import gankit


def test_run_writes_stats_tensorboard_and_grids(tmp_path, tiny_overrides):
    run = gankit.train(overrides=tiny_overrides + ["train.steps=4"], run_dir=tmp_path / "r", quiet=True).run_dir
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for key in ("loss/D", "loss/G", "D/real", "D/fake", "D/real_prob", "grad_norm/D", "grad_norm/G",
                "lr/G", "lr/D", "perf/images_per_s"):
        assert key in rows[-1], key
    assert rows[-1]["lr/G"] == pytest.approx(2e-4)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"), size_guidance={"images": 0, "histograms": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert [e.step for e in acc.Scalars("loss/D")] == [2, 4]
    assert [e.step for e in acc.Images("samples")] == [4]
    assert any(t.startswith("G/weights/") for t in tags["histograms"])
    assert any(t.startswith("D/grads/") for t in tags["histograms"])

    # 4 fixed samples of 16x16 in a 2x2 grid with 2 px padding; the final grid enlarged x4 (64 px per image)
    assert Image.open(run / "samples" / "step-0000004.png").size == (2 * 16 + 3 * 2,) * 2
    assert Image.open(run / "samples.png").size == (4 * (2 * 16 + 3 * 2),) * 2
    native = np.asarray(Image.open(run / "samples" / "step-0000004.png").convert("L"))
    enlarged = np.asarray(Image.open(run / "samples.png").convert("L"))
    assert np.array_equal(enlarged[::4, ::4], native)  # nearest neighbour: the same pixels, no blur


def test_conditional_run_grid_has_one_row_per_class(tmp_path, tiny_overrides):
    run = gankit.train(overrides=tiny_overrides + ["train.steps=2", "train.n_samples=20", "model.conditional=true",
                                                   "model.g.args.conditioning=concat",
                                                   "model.d.args.conditioning=concat"],
                       run_dir=tmp_path / "c", quiet=True).run_dir
    # 10 digit classes x 2 samples each: 2 columns, 10 rows
    assert Image.open(run / "samples.png").size == (4 * (2 * 16 + 3 * 2), 4 * (10 * 16 + 11 * 2))  # enlarged x4


class DtypeRecordingD(torch.nn.Module):
    """A discriminator that records the dtype its linear layer computes in during training."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(16 * 16, 1)
        self.dtypes = set()

    def forward(self, x, y=None):
        out = self.lin(x.flatten(1))
        if self.training and torch.is_grad_enabled():
            self.dtypes.add(out.dtype)
        return out.squeeze(1)


@pytest.mark.parametrize("amp", ["bf16", "none"])
def test_bf16_autocast_runs_the_networks_in_bf16_with_finite_losses(tmp_path, tiny_overrides, amp):
    # bf16 autocast also runs on the CPU, so the mixed-precision code path is exercised in CI.
    D = DtypeRecordingD()
    run = gankit.train(overrides=tiny_overrides + ["train.steps=4", f"train.amp={amp}", "regularizers.gp.weight=1"],
                       discriminator=D, run_dir=tmp_path / "amp", quiet=True).run_dir
    # what autocast (or its absence) made the linear layer compute in; the gradient penalty's own
    # forward pass on the interpolates stays in float32 for a stable double backward
    assert D.dtypes == ({torch.bfloat16, torch.float32} if amp == "bf16" else {torch.float32})
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for r in rows:
        for key in ("loss/D", "loss/G", "penalty/gp"):
            assert r[key] is not None and r[key] == r[key], (key, r)  # written as null when non-finite


def test_fp16_on_cpu_is_refused_with_the_fix(tmp_path, tiny_overrides):
    from gankit.registry import ConfigError

    with pytest.raises(ConfigError, match="train.amp=fp16 needs a CUDA GPU; use train.amp=bf16"):
        gankit.train(overrides=tiny_overrides + ["train.steps=2", "train.amp=fp16"], run_dir=tmp_path / "f", quiet=True)
