"""Config loading: presets, files, overrides, and the documented error messages."""

import pytest

from gankit.config import describe_presets, from_yaml_text, load_config, preset_names, to_yaml
from gankit.registry import ConfigError


def test_default_is_the_dcgan_mnist_preset():
    cfg = load_config()
    assert cfg.name == "dcgan-mnist"
    assert cfg.data.source == "mnist5k"
    assert cfg.model.g.name == "dcgan"


def test_overrides_and_file_merge_in_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  steps: 7\n  batch_size: 8\n")
    cfg = load_config("dcgan-mnist", f, ["train.steps=9", "optim.d.lr=1e-4"])
    assert (cfg.train.steps, cfg.train.batch_size, cfg.optim.d.lr) == (9, 8, 1e-4)


def test_unknown_key_names_the_closest_valid_key():
    with pytest.raises(ConfigError, match=r"unknown key 'train.stpes'.*Did you mean 'steps'"):
        load_config(overrides=["train.stpes=10"])


def test_unknown_top_level_key_in_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("trian:\n  steps: 3\n")
    with pytest.raises(ConfigError, match=r"Did you mean 'train'"):
        load_config(config_file=f)


def test_wrong_type_names_the_setting():
    with pytest.raises(ConfigError, match=r"train.batch_size"):
        load_config(overrides=["train.batch_size=lots"])


@pytest.mark.parametrize("override, key", [
    ("optim.g.lr=-0.1", "optim.g.lr must be > 0"),
    ("train.batch_size=0", "train.batch_size must be > 0"),
    ("train.ema=1.5", "train.ema must be in"),
    ("train.amp=fp8", "train.amp must be one of"),
    ("data.channels=2", "data.channels must be 1, 3"),
    ("optim.d.betas=[0.5]", "optim.d.betas must be two numbers"),
])
def test_impossible_values_name_the_setting(override, key):
    with pytest.raises(ConfigError, match=key.replace("(", r"\(").replace(".", r"\.")):
        load_config(overrides=[override])


def test_missing_config_file_and_unknown_preset():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(config_file="/nonexistent/x.yaml")
    with pytest.raises(ConfigError, match="unknown preset 'dcgan-mnits'.*dcgan-mnist"):
        load_config("dcgan-mnits")


def test_saved_yaml_round_trips():
    cfg = load_config(overrides=["train.steps=11", "regularizers.gp.weight=5"])
    again = from_yaml_text(to_yaml(cfg))
    assert to_yaml(again) == to_yaml(cfg)
    assert again.regularizers.gp.weight == 5


def test_every_preset_loads_and_is_described():
    rows = describe_presets()
    assert [r[0] for r in rows] == preset_names()
    for name, description, source in rows:
        load_config(name)
        assert description and source, f"preset {name} needs a description and a source"
