"""`gankit eval` end to end on a tiny generator, scored with the "tiny" extractor (no network)."""

import json

import pytest
import torch

from gankit.cli import main
from gankit.config import load_config, to_yaml
from gankit.data import DATA_SOURCES, Dataset
from gankit.metrics import clear_memory_cache, evaluate
from gankit.models import GENERATORS
from gankit.training.checkpoint import EXPORT_FORMAT, FORMAT, atomic_save, atomic_write_text

SOURCE = "test-eval-cli-noise"
GEN = "test-eval-cli-linear"


def _noise(req, n: int = 100):
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(n, 1, 8, 8, generator=g) * 255).to(torch.uint8)
    return Dataset(x=x, y=None, num_classes=0, class_names=[], shape=(1, 8, 8))


@pytest.fixture(autouse=True, scope="module")
def _source_registered():
    # registered for this module's tests only: the global registry is left as it was found
    with DATA_SOURCES.temporary(SOURCE, _noise):
        yield


class LinearG(torch.nn.Module):
    def __init__(self, z_dim, out_shape, num_classes):
        super().__init__()
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), num_classes
        self.lin = torch.nn.Linear(z_dim, 64)

    def forward(self, z, y=None):
        return torch.tanh(self.lin(z)).view(-1, *self.out_shape)


def _linear(z_dim: int, out_shape: tuple, num_classes: int, **preset_options):
    # the default preset's family options (width...) do not apply to this test generator
    return LinearG(z_dim, out_shape, num_classes)


@pytest.fixture(autouse=True, scope="module")
def _generator_registered():
    # registered for this module's tests only: the global registry is left as it was found
    with GENERATORS.temporary(GEN, _linear):
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    clear_memory_cache()
    yield
    clear_memory_cache()


def _config():
    return load_config(overrides=[f"data.source={SOURCE}", "data.resolution=8", f"model.g.name={GEN}",
                                  "model.z_dim=4", "eval.metrics=[fid,kid]", "eval.n_samples=40",
                                  "eval.args={kid: {subsets: 3}}"])


def _generator():
    torch.manual_seed(0)
    return LinearG(4, (1, 8, 8), 0).eval()


def _run_folder(root):
    """A run folder holding one checkpoint in the trainer's format (only the fields a loader reads)."""
    G = _generator()
    run = root / "run"
    atomic_save({"format": FORMAT, "step": 10, "config": to_yaml(_config()), "num_classes": 0,
                 "data_shape": [1, 8, 8], "players": {"G": {"module": G.state_dict(), "ema": None}}},
                run / "checkpoints" / "step-0000010.pt")
    return run, G


def test_eval_run_folder_writes_json_equal_to_the_library_call(tmp_path, capsys):
    run, G = _run_folder(tmp_path)
    rc = main(["eval", str(run), "--extractor", "tiny", "--batch-size", "16", "--seed", "1", "--device", "cpu"])
    assert rc == 0
    out = capsys.readouterr().out
    files = list((run / "eval").glob("*.json"))
    assert len(files) == 1 and str(files[0]) in out
    record = json.loads(files[0].read_text())
    expected = evaluate(G, ["fid", "kid"], data_cfg=_config().data, n_samples=40, seed=1,
                        args={"extractor": "tiny", "kid": {"subsets": 3}})
    assert record["values"] == expected
    assert record["protocol"]["samples"]["n_fake"] == 40 and record["protocol"]["metrics"]["kid"]["subsets"] == 3
    for key in ("fid", "fid_real_floor", "kid", "kid_std"):
        assert any(line.split()[:1] == [key] for line in out.splitlines()), key


def test_eval_checkpoint_file_and_overrides(tmp_path, capsys):
    run, G = _run_folder(tmp_path)
    ckpt = run / "checkpoints" / "step-0000010.pt"
    rc = main(["eval", str(ckpt), "--metrics", "pr,is", "--n", "30", "--extractor", "tiny", "--arg", "pr.k=2",
               "--arg", "is.splits=3", "--device", "cpu"])
    assert rc == 0
    files = list((run / "eval").glob("step-0000010-*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    expected = evaluate(G, ["pr", "is"], data_cfg=_config().data, n_samples=30,
                        args={"extractor": "tiny", "pr": {"k": 2}, "is": {"splits": 3}, "kid": {"subsets": 3}})
    assert record["values"] == expected
    assert record["protocol"]["metrics"]["pr"]["k"] == 2


def test_eval_export_folder_with_out_path(tmp_path):
    from safetensors.torch import save_file

    G = _generator()
    export = tmp_path / "export"
    export.mkdir()
    save_file(G.state_dict(), str(export / "generator.safetensors"))
    atomic_write_text(export / "generator.json", json.dumps(
        {"format": EXPORT_FORMAT, "weights": "G", "step": 10, "config": to_yaml(_config()), "num_classes": 0,
         "class_names": [], "data_shape": [1, 8, 8]}))
    out = tmp_path / "scores" / "mine.json"
    assert main(["eval", str(export), "--metrics", "fid", "--extractor", "tiny", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["values"]["fid"] == pytest.approx(
        evaluate(G, ["fid"], data_cfg=_config().data, n_samples=40, args={"extractor": "tiny"})["fid"], rel=1e-12)


def test_eval_errors_are_reported_not_raised(tmp_path, capsys):
    run, _ = _run_folder(tmp_path)
    assert main(["eval", str(run), "--metrics", "fidd", "--extractor", "tiny"]) == 2
    assert "Did you mean 'fid'" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing")]) == 2
