"""Search spaces (gankit.search.space): parsing, validation against the config schema, example files."""

from pathlib import Path

import pytest
import yaml

from gankit.cli import main
from gankit.config import load_config
from gankit.registry import ConfigError
from gankit.search.space import load_space

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "spaces"


def _space(tmp_path, entries, name="space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ring():
    return load_config("ring-gan")


def test_entries_parse_to_optuna_distributions(tmp_path, ring):
    import optuna

    path = tmp_path / "s.yaml"
    path.write_text("optim.d.lr: {log_uniform: [1.0e-5, 1.0e-3]}\n"
                    "train.n_critic: {choice: [1, 2, 5]}\n"
                    "model.d.args.hidden: {int: [16, 64], step: 16}\n"
                    "loss: {name: {choice: [bce, hinge]}}\n"  # nested form
                    "optim.g.betas: {choice: [[0.5, 0.999], [0.0, 0.9]]}\n", encoding="utf-8")
    space = load_space(path, ring)
    assert [p.key for p in space.params] == ["optim.d.lr", "train.n_critic", "model.d.args.hidden", "loss.name",
                                             "optim.g.betas"]
    study = optuna.create_study()
    trial = study.ask()
    values = space.suggest(trial)
    dists = trial.distributions
    assert dists["optim.d.lr"] == optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)
    assert dists["train.n_critic"] == optuna.distributions.CategoricalDistribution([1, 2, 5])
    assert dists["model.d.args.hidden"] == optuna.distributions.IntDistribution(16, 64, step=16)
    assert dists["loss.name"] == optuna.distributions.CategoricalDistribution(["bce", "hinge"])
    # A list-valued choice is stored by Optuna as its YAML text and decoded back to the list.
    assert dists["optim.g.betas"] == optuna.distributions.CategoricalDistribution(["[0.5, 0.999]", "[0.0, 0.9]"])
    assert values["optim.g.betas"] in ([0.5, 0.999], [0.0, 0.9])
    assert space.decode(trial.params) == values
    cfg = space.apply(ring, values)
    assert list(cfg.optim.g.betas) == values["optim.g.betas"]
    assert cfg.model.d.args.hidden == values["model.d.args.hidden"]
    assert space.params[2].grid("here") == [16, 32, 48, 64]


@pytest.mark.parametrize("entries, needle", [
    ({"optim.d.lrr": {"log_uniform": [1e-5, 1e-3]}},
     "entry 'optim.d.lrr': unknown key 'optim.d.lrr'. Did you mean 'lr'?"),
    ({"train.n_critic": {"choice": []}}, "entry 'train.n_critic': choice is empty"),
    ({"optim.d.lr": {"log_uniform": [1e-3, 1e-5]}}, "entry 'optim.d.lr': low 0.001 > high 1e-05"),
    ({"train.n_critic": {"choice": ["one", 2]}},
     "entry 'train.n_critic': train.n_critic must be an integer, got 'one'"),
    ({"train.n_critic": {"int": ["1", 5]}}, "entry 'train.n_critic': the bounds of int must be integers"),
    ({"train.n_critic": {"uniform": [1, 5]}}, "entry 'train.n_critic': train.n_critic must be an integer, got 1.0"),
    ({"train.n_critic": {"normal": [1, 5]}}, "entry 'train.n_critic': unknown distribution 'normal'"),
    ({"train.n_critic": {"chioce": [1, 2]}}, "Did you mean 'choice'?"),
    ({"model.d.args.widht": {"choice": [1, 2]}}, "entry 'model.d.args.widht': unknown setting model.d.args.widht"),
    ({"loss.name": {"choice": ["bce", "hingee"]}}, "entry 'loss.name': loss.name: unknown loss 'hingee'"),
    ({"model.d.args.hidden": {"int": [16, 60], "step": 16}}, "must be a multiple of step 16"),
    ({"optim.d.lr": {"log_uniform": [0.0, 1e-3]}}, "log_uniform needs low > 0"),
    ({"train.n_critic": {"choice": [1, 1]}}, "lists a value twice"),
    ({"train.n_critic": 5}, "entry 'train.n_critic': expected a distribution mapping, got 5"),
])
def test_bad_space_names_the_entry(tmp_path, ring, entries, needle):
    path = _space(tmp_path, entries)
    with pytest.raises(ConfigError) as e:
        load_space(path, ring)
    assert needle in str(e.value)
    assert str(path) in str(e.value)


def test_grid_refuses_a_continuous_entry(tmp_path, ring):
    space = load_space(_space(tmp_path, {"optim.d.lr": {"log_uniform": [1e-5, 1e-3]},
                                         "train.n_critic": {"choice": [1, 2]}}), ring)
    with pytest.raises(ConfigError, match=r"entry 'optim.d.lr': --sampler grid needs a finite set of values, but "
                                          r"log_uniform is continuous; use \{choice: \[...\]\}"):
        space.grid()


def test_cli_refuses_a_bad_space_before_any_trial(tmp_path, capsys):
    path = _space(tmp_path, {"train.n_critc": {"choice": [1, 2]}})
    code = main(["tune", "--preset", "ring-gan", "--space", str(path), "--metric", "hq_percent", "--trials", "2",
                 f"out={tmp_path / 'runs'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"space file {path}, entry 'train.n_critc': unknown key 'train.n_critc'. Did you mean 'n_critic'?" in err
    assert not (tmp_path / "runs").exists()  # refused before the study folder was made


def test_cli_refuses_unknown_metric_and_sampler(tmp_path, capsys):
    path = _space(tmp_path, {"train.n_critic": {"choice": [1, 2]}})
    base = ["tune", "--preset", "ring-gan", "--space", str(path), "--trials", "2", f"out={tmp_path / 'runs'}"]
    assert main([*base, "--metric", "hq_procent"]) == 2
    assert "--metric hq_procent: no metric reports it. Did you mean 'hq_percent'?" in capsys.readouterr().err
    assert main([*base, "--metric", "hq_percent", "--sampler", "tpee"]) == 2
    assert "--sampler tpee: use one of tpe, random, grid. Did you mean 'tpe'?" in capsys.readouterr().err


@pytest.mark.parametrize("name, preset", [("dcgan-mnist", "dcgan-mnist"), ("wgan-gp-mnist", "wgan-gp-mnist"),
                                          ("grid-gan", "grid-gan")])
def test_example_spaces_load_against_their_presets(name, preset):
    path = EXAMPLES / f"{name}.yaml"
    space = load_space(path, load_config(preset))
    text = path.read_text(encoding="utf-8")
    assert [p.key for p in space.params] == [line.split(":")[0] for line in text.splitlines()
                                             if line and not line.startswith("#")]
    assert f"--preset {preset} --space examples/spaces/{name}.yaml" in text  # the file says how to run it
