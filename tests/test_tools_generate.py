"""gankit.tools.generate, `gankit generate` and the `cas` metric: exactly N files with balanced labels
and a manifest, refusal to overwrite without --force, the image-folder and npz round trips through
gankit's own data sources, and CAS of real data used as "generated" equal to the real-data accuracy."""

import json

import pytest
import torch

from gankit.cli import main
from gankit.data import DataRequest, build_dataset
from gankit.metrics import evaluate
from gankit.metrics.cas import classification_accuracy_score, train_and_test
from gankit.metrics.cache import sha256_file
from gankit.tools.generate import balanced_labels, class_folders, generate_dataset
from gankit.training.checkpoint import checkpoint_files, load_run_generator
from tools_fixtures import tiny_run  # noqa: F401  (session fixture)

# A classifier trained in about a second (about 48% on 300 test digits after 600 training ones).
TINY_CLF = {"width": 4, "feature_dim": 16, "epochs": 5, "batch_size": 16, "max_shift": 0}


def test_generate_writes_n_files_in_balanced_class_folders_with_a_manifest(tiny_run, tmp_path):
    out = tmp_path / "synthetic"
    assert main(["generate", str(tiny_run), "--n", "23", "--out", str(out), "--seed", "4"]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(files) == 23
    per_class = {c: sum(f.startswith(f"{c}/") for f in files) for c in map(str, range(10))}
    assert sorted(per_class.values()) == [2] * 7 + [3] * 3  # 23 = 10 x 2 + 3
    manifest = json.loads((out / "manifest.json").read_text())
    newest = checkpoint_files(tiny_run)[0]
    assert manifest["count"] == 23 and manifest["seed"] == 4 and manifest["format"] == "folder"
    assert manifest["class_counts"] == per_class and manifest["truncation"] is None
    assert manifest["checkpoint"] == str(newest.resolve()) and manifest["checkpoint_sha256"] == sha256_file(newest)
    # gankit's image-folder source reads the same images and labels back
    ds = build_dataset("image-folder", DataRequest(path=str(out), resolution=16, channels=1), {"cache": False})
    assert len(ds) == 23 and ds.num_classes == 10 and list(ds.class_names) == [str(c) for c in range(10)]
    assert torch.bincount(ds.y, minlength=10).tolist() == [per_class[str(c)] for c in range(10)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_generate_refuses_to_overwrite_without_force(tiny_run, tmp_path):
    out = tmp_path / "ds"
    assert main(["generate", str(tiny_run), "--n", "10", "--out", str(out)]) == 0
    before = sorted(out.rglob("*.png"))
    assert main(["generate", str(tiny_run), "--n", "4", "--out", str(out)]) == 2  # ConfigError: --force
    assert sorted(out.rglob("*.png")) == before
    assert main(["generate", str(tiny_run), "--n", "4", "--out", str(out), "--force", "--classes", "1", "2"]) == 0
    assert sorted(p.parent.name for p in out.rglob("*.png")) == ["1", "1", "2", "2"]


def test_npz_round_trip_and_truncation(tiny_run, tmp_path):
    G, _ = load_run_generator(tiny_run)
    manifest = generate_dataset(G, 30, tmp_path / "npz", fmt="npz", seed=1, truncation=0.5)
    ds = build_dataset("npz", DataRequest(path=str(tmp_path / "npz" / "data.npz"), resolution=16, channels=1), {})
    assert len(ds) == 30 and ds.x.dtype == torch.uint8 and torch.bincount(ds.y).tolist() == [3] * 10
    assert manifest["truncation"] == 0.5 and manifest["prior"].startswith("truncated")
    with pytest.raises(Exception, match="--force"):
        generate_dataset(G, 5, tmp_path / "npz", fmt="npz")


def test_balanced_labels_and_class_folder_names():
    y = balanced_labels(11, [0, 4, 7], torch.Generator().manual_seed(0))
    counts = torch.bincount(y, minlength=8)
    assert counts[[0, 4, 7]].tolist() == [4, 4, 3] and int(counts.sum()) == 11
    assert class_folders(["0", "1", "2"], 3) == ["0", "1", "2"]
    # names that would sort out of class order get their index first, so image-folder reads them back
    assert class_folders(["cat", "ant", "dog"], 3) == ["0-cat", "1-ant", "2-dog"]
    assert class_folders([str(i) for i in range(12)], 12)[10] == "10-10"


def _digits():
    ds = build_dataset("mnist5k", DataRequest(resolution=16, channels=1), {})
    pick = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))  # the digits are sorted by class
    return ds.x[pick[:600]], ds.y[pick[:600]], ds.x[pick[600:900]], ds.y[pick[600:900]]


def test_cas_of_real_data_used_as_generated_equals_the_real_accuracy():
    x, y, xt, yt = _digits()
    scores = classification_accuracy_score(x, y, x, y, xt, yt, 10, TINY_CLF)
    assert scores["cas"] == scores["cas_real"]
    assert scores["cas_real"] == train_and_test(x, y, xt, yt, 10, TINY_CLF)
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]  # labels that mean nothing
    assert scores["cas_real"] > 0.3  # well above chance (0.1)...
    assert classification_accuracy_score(x, shuffled, x, y, xt, yt, 10, TINY_CLF)["cas"] < 0.2  # ...unlike this


def test_cas_metric_through_evaluate_and_gankit_eval(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    G, cfg = load_run_generator(tiny_run)
    args = {"cas": {**TINY_CLF, "holdout": 0.1}}
    values = evaluate(G, ["cas"], data_cfg=cfg.data, n_samples=100, seed=0, args=args)
    ds = build_dataset("mnist5k", DataRequest(resolution=16, channels=1), {})
    from gankit.metrics.classifier import holdout_split

    train_idx, test_idx = holdout_split(len(ds), 0.1, 0)
    assert values["cas_real"] == train_and_test(ds.x[train_idx], ds.y[train_idx], ds.x[test_idx], ds.y[test_idx],
                                                10, TINY_CLF)
    assert 0 <= values["cas"] <= 1
    out = tmp_path / "eval.json"
    assert main(["eval", str(tiny_run), "--metrics", "cas", "--n", "50", "--device", "cpu", "--out", str(out),
                 *[f"--arg=cas.{k}={v}" for k, v in {**TINY_CLF, "holdout": 0.1}.items()]]) == 0
    record = json.loads(out.read_text())
    assert record["values"]["cas_real"] == values["cas_real"]  # cached, keyed by data, split and settings
    assert record["protocol"]["metrics"]["cas"]["n_fake"] == 50
    assert main(["eval", str(tiny_run), "--metrics", "cas", "--n", "50", "--arg", "cas.wdth=4", "--out", str(out)]) == 2
