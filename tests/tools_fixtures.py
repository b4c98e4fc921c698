"""A tiny trained conditional run shared by the tests of gankit.tools and its commands (trained once
per session: import the fixture into a test module with ``from tools_fixtures import tiny_run``)."""

import pytest

import gankit
from conftest import TINY

# cGAN on the embedded digits at 16 px: a conditional G and a label-conditioned D.
COND = ["model.conditional=true", "model.g.args.conditioning=concat", "model.d.args.conditioning=concat",
        "train.steps=4"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The run folder of a 4-step conditional tiny run (16 x 16 grey digits, z_dim 8, 10 classes)."""
    root = tmp_path_factory.mktemp("tools-run")
    return gankit.train(overrides=TINY + COND, run_dir=root / "cond", quiet=True).run_dir
