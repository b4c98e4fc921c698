"""Shared test settings: tiny CPU runs, and where the shared real data lives."""

from pathlib import Path

import pytest
import torch

# One thread: the test networks are tiny, and CI has 2 cores shared with pytest itself.
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

# A tiny, fast DCGAN run on the embedded digits used by the trainer/CLI tests.
TINY = [
    "data.source=mnist5k", "data.resolution=16", "model.z_dim=8",
    "model.g.args.width=4", "model.d.args.width=4",
    "train.batch_size=8", "train.log_every=2", "train.sample_every=4", "train.checkpoint_every=4",
    "train.n_samples=4", "train.threads=1",
]


@pytest.fixture
def tiny_overrides(tmp_path):
    return TINY + [f"out={tmp_path / 'runs'}"]
