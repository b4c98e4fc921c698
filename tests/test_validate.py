"""Validation before the slow part (gankit.validate) and the family-change rule of load_config."""

import os

import pytest

from gankit.config import ConfigNote, load_config, preset_names
from gankit.registry import ConfigError
from gankit.validate import check_components, check_output_file, check_output_folder


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_passes(preset, tmp_path):
    check_components(load_config(preset, overrides=[f"out={tmp_path}"]))


def test_changing_the_generator_family_drops_the_old_familys_options(tmp_path):
    with pytest.warns(ConfigNote, match=r"model\.g\.name changed from dcgan to mlp: dropped model\.g\.args\.width"):
        cfg = load_config(overrides=["model.g.name=mlp", f"out={tmp_path}"])
    assert dict(cfg.model.g.args) == {} and dict(cfg.model.d.args) == {"width": 32}
    check_components(cfg)
    # An option the new family also takes keeps its (shared) meaning.
    cfg = load_config(overrides=["model.d.name=resnet", f"out={tmp_path}"])
    assert dict(cfg.model.d.args) == {"width": 32}
    # The user's own options in the same layer are never dropped: a wrong one is still an error.
    cfg = load_config(overrides=["model.g.name=mlp", "model.g.args.width=8", f"out={tmp_path}"])
    with pytest.raises(ConfigError, match=r"unknown setting model\.g\.args\.width.*Valid settings: hidden"):
        check_components(cfg)


def test_changing_the_family_in_a_config_file(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("model:\n  d: {name: mlp, args: {hidden: 64}}\n")
    with pytest.warns(ConfigNote, match=r"mine\.yaml: model\.d\.name changed from dcgan to mlp"):
        cfg = load_config("dcgan-mnist", config_file=f, overrides=[f"out={tmp_path}"])
    assert dict(cfg.model.d.args) == {"hidden": 64}


def test_changing_the_optimizer_resets_what_it_ignores(tmp_path):
    # wgan-gp-mnist sets Adam betas (0, 0.9); SGD has none, so they go back to the default quietly...
    with pytest.warns(ConfigNote, match=r"optim\.g\.name changed from adam to sgd: reset optim\.g\.betas"):
        cfg = load_config("wgan-gp-mnist", overrides=["optim.g.name=sgd", f"out={tmp_path}"])
    assert list(cfg.optim.g.betas) == [0.5, 0.999] and list(cfg.optim.d.betas) == [0.0, 0.9]
    check_components(cfg)
    # ...but an option the user sets for an optimizer that ignores it is an error naming it.
    cfg = load_config(overrides=["optim.d.momentum=0.9", f"out={tmp_path}"])
    with pytest.raises(ConfigError, match=r"optim\.d\.momentum=0\.9 has no effect with optim\.d\.name=adam"):
        check_components(cfg)
    check_components(load_config(overrides=["optim.d.momentum=0.0", f"out={tmp_path}"]))  # the default is fine
    check_components(load_config(overrides=["optim.d.name=sgd", "optim.d.momentum=0.9", f"out={tmp_path}"]))


def test_out_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = load_config(overrides=["out=~/runs"])
    assert cfg.out == str(tmp_path / "runs")
    check_components(cfg)
    assert not (tmp_path / "runs").exists()  # checked, not created
    assert not any(p.name.startswith(".gankit-write-probe") for p in tmp_path.iterdir())


def test_output_checks(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"out=.*file is a file, not a folder"):
        check_output_folder(tmp_path / "file", "out")
    with pytest.raises(ConfigError, match=r"is a file, so no folder can be made under it"):
        check_output_folder(tmp_path / "file" / "runs", "out")
    with pytest.raises(ConfigError, match=r"--out .* is a folder; give a file name, e.g. --out .*samples\.png"):
        check_output_file(tmp_path, "--out")
    target = tmp_path / "new" / "deeper" / "grid.png"
    assert check_output_file(target, "--out") == target
    assert not (tmp_path / "new").exists()
    if os.path.isdir("/sys"):  # read-only even for root
        with pytest.raises(ConfigError, match=r"out=/sys/runs cannot be written"):
            check_output_folder("/sys/runs", "out")
