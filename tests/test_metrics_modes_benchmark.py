"""benchmarks/mode_collapse.py: recipe parsing, the BENCHMARKS.md block and one tiny end-to-end run."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "mode_collapse.py"


def _table(text: str, heading: str) -> dict:
    """The markdown table under ``heading`` as {first cell: {column name: cell}}."""
    lines = text.split(heading, 1)[1].splitlines()
    end = next((i for i, line in enumerate(lines[1:]) if line.startswith("###")), len(lines))
    rows = [line for line in lines[1:end + 1] if line.startswith("|")]
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in rows]
    header = cells[0]
    assert set(cells[1][0]) <= set("-:")  # the separator row
    return {row[0]: dict(zip(header, row)) for row in cells[2:]}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mode_collapse", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_ring_pacgan_preset_is_the_benchmarked_ring_best_recipe(bench):
    """The shipped ``ring-pacgan`` preset trains exactly what BENCHMARKS.md reports as ring-best."""
    from gankit.config import load_config, to_yaml

    recipe = bench.RECIPES["ring-best"]
    benchmarked = load_config(recipe.preset, overrides=list(recipe.overrides))
    shipped = load_config("ring-pacgan")
    for cfg in (benchmarked, shipped):  # everything but the labels must agree
        cfg.name = cfg.description = cfg.source = ""
    assert to_yaml(shipped) == to_yaml(benchmarked)
    assert shipped.model.d.args.pack == 2 and shipped.train.steps == 40000


def test_recipes_parse_from_labels_specs_and_preset_names(bench):
    assert bench.parse_recipe("ring-pacgan2") == bench.RECIPES["ring-pacgan2"]
    assert bench.parse_recipe("mine=ring-gan:model.z_dim=4,train.batch_size=50") == bench.Recipe(
        "mine", "ring-gan", ("model.z_dim=4", "train.batch_size=50"))
    assert bench.parse_recipe("grid-gan:model.d.args.pack=4") == bench.Recipe(
        "grid-gan:model.d.args.pack=4", "grid-gan", ("model.d.args.pack=4",))
    assert bench.parse_recipe("grid-gan") == bench.RECIPES["grid-gan"]


def test_every_builtin_recipe_is_a_valid_config_of_its_benchmark(bench):
    kinds = {label: bench.benchmark_of(r, None) for label, r in bench.RECIPES.items()}
    assert kinds == {label: label.split("-")[0] for label in bench.RECIPES}


def test_mean_and_standard_error(bench):
    # mean 2, sample std 1, n 3: standard error 1 / sqrt(3)
    assert bench.mean_se([1.0, 2.0, 3.0], 2) == f"2.00 ± {1 / math.sqrt(3):.2f}"
    assert bench.mean_se([0.5], 3) == "0.500"
    assert bench.mean_se([math.nan, 1.0, 3.0], 1) == "2.0 ± 1.0 (1 undefined)"
    assert bench.mean_se([math.nan], 1) == "undefined"


def test_block_replaces_only_its_markers(bench, tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    bench.write_block(path, f"{bench.BEGIN}\nfirst\n{bench.END}")
    assert path.read_text() == f"# Benchmarks\n\n{bench.BEGIN}\nfirst\n{bench.END}\n"
    path.write_text(f"intro\n{bench.BEGIN}\nold\n{bench.END}\noutro\n")
    bench.write_block(path, f"{bench.BEGIN}\nnew\n{bench.END}")
    assert path.read_text() == f"intro\n{bench.BEGIN}\nnew\n{bench.END}\noutro\n"


def test_tiny_ring_run_writes_the_table_and_reuses_results(bench, tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    out, md = tmp_path / "bench", tmp_path / "BENCHMARKS.md"
    argv = ["--presets", "tiny=ring-gan:model.g.args.hidden=8,model.d.args.hidden=8", "--seeds", "2",
            "--steps", "5", "--out", str(out), "--output", str(md)]
    assert bench.main(argv) == 0
    stored = json.loads((out / "results.json").read_text())
    (runs,) = stored.values()
    assert sorted(runs) == ["0", "1"]
    table = _table(md.read_text(), "### 2-D ring")
    values = [runs[s]["values"] for s in ("0", "1")]
    tiny = table["gankit tiny"]
    assert (tiny["seeds"], tiny["steps"]) == ("2", "5")
    assert tiny["modes"] == bench.mean_se([v["modes"] for v in values], 1)
    assert tiny["HQ %"] == bench.mean_se([v["hq_percent"] for v in values], 1)
    assert tiny["reverse KL"] == bench.mean_se([v["rkl"] for v in values], 3)
    # PacGAN (Lin et al. 2018) Table 1, ring, PacGAN2: 7.9 modes, 95.6% high quality, reverse KL 0.07,
    # each under its own column.
    paper = table["PacGAN2 (PacGAN Table 1)"]
    assert (paper["modes"], paper["HQ %"], paper["reverse KL"], paper["settings"]) == ("7.9", "95.6", "0.07",
                                                                                       "published")
    # The real-data row is the protocol applied to real samples: what a perfect generator scores.
    floor = bench.real_floor("ring")
    real = table["real data (2,500 samples)"]
    assert real["modes"] == "8" and float(real["HQ %"]) == pytest.approx(floor["hq_percent"], abs=0.05)
    assert float(real["reverse KL"]) == pytest.approx(floor["rkl"], abs=5e-5)
    # A second invocation reuses the stored seeds: the run folders are not trained again.
    before = sorted(p.name for p in (out / "runs").iterdir())
    assert bench.main(argv) == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == before
    # --cached-only tabulates what is stored and trains nothing, even when more seeds are asked for.
    assert bench.main(argv[:3] + ["3"] + argv[4:] + ["--cached-only"]) == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == before
    assert _table(md.read_text(), "### 2-D ring")["gankit tiny"]["seeds"] == "2"
