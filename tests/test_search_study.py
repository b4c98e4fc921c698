"""gankit tune end to end on tiny ring runs: grid, TPE, report and best.yaml, pruning, failed trials, continuing."""

import json
from pathlib import Path

import pytest
import yaml

import gankit
from gankit.cli import main
from gankit.config import load_config
from gankit.search import TuneSettings, tune
from gankit.search.report import open_study

# A ring run that learns something in 60 steps: wider modes (std 0.1, so "high quality" is within
# 0.3 of a mode), small MLPs, the metric on 500 samples every 20 steps.
RING = ("train.steps=60", "data.args.std=0.1", "model.g.args.hidden=32", "model.d.args.hidden=32",
        "eval.n_samples=500", "train.log_every=20", "train.sample_every=60", "train.checkpoint_every=60",
        "train.threads=1", "train.n_samples=100")
GOOD, BAD = 1.0e-3, 1.0e-7  # G's learning rate: learns / never moves in 60 steps


def _space(tmp_path, text: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _settings(tmp_path, space: str, **kw) -> TuneSettings:
    return TuneSettings(space=space, metric="hq_percent", preset="ring-gan",
                        overrides=RING + (f"out={tmp_path / 'runs'}",),
                        study_dir=str(tmp_path / "study"), quiet=True, eval_every=20, **kw)


def _eval_value(run_dir, step: int) -> float:
    return json.loads((Path(run_dir) / "eval" / f"step-{step:07d}.json").read_text())["values"]["hq_percent"]


def test_grid_study_finds_the_better_learning_rate_and_trials_reproduce(tmp_path):
    space = _space(tmp_path, f"optim.g.lr: {{choice: [{GOOD}, {BAD}]}}\n")
    result = tune(_settings(tmp_path, space, trials=5, sampler="grid", pruner="none"), report=False)
    assert result.states == {"COMPLETE": 2}  # the grid has two points: 2 trials, not 5
    assert result.best_params == {"optim.g.lr": GOOD}
    study = open_study(tmp_path / "study")
    by_lr = {t.params["optim.g.lr"]: t for t in study.trials}
    assert set(by_lr) == {GOOD, BAD}
    assert by_lr[BAD].value == 0.0  # G never moved off its initial blob
    assert by_lr[GOOD].value == result.best_value > by_lr[BAD].value
    for t in study.trials:  # each trial is an ordinary run folder; its value is its last evaluation
        run_dir = Path(t.user_attrs["run_dir"])
        assert run_dir.parent == (tmp_path / "study" / "trials").resolve()
        assert t.value == pytest.approx(_eval_value(run_dir, 60))
        assert t.intermediate_values == {s: pytest.approx(_eval_value(run_dir, s)) for s in (20, 40, 60)}
        assert t.user_attrs["seed"] == 0
        assert load_config(config_file=run_dir / "config.yaml").optim.g.lr == t.params["optim.g.lr"]
    # Reproduce the best trial from its recorded config: the same value.
    best = by_lr[GOOD]
    cfg = load_config(config_file=Path(best.user_attrs["run_dir"]) / "config.yaml",
                      overrides=[f"out={tmp_path / 'again'}"])
    again = gankit.train(cfg=cfg, quiet=True)
    assert _eval_value(again.run_dir, 60) == pytest.approx(best.value)


def test_tpe_study_writes_report_and_best_yaml_and_a_rerun_continues(tmp_path, capsys):
    space = _space(tmp_path, "optim.g.lr: {log_uniform: [1.0e-4, 3.0e-3]}\n"
                             "model.d.args.hidden: {int: [16, 32], step: 16}\n")
    args = ["tune", "--preset", "ring-gan", "--space", space, "--metric", "hq_percent", "--sampler", "tpe",
            "--dir", str(tmp_path / "study"), "--study", "tpe-test", *RING, f"out={tmp_path / 'runs'}"]
    assert main([*args, "--trials", "2"]) == 0
    assert main([*args, "--trials", "3"]) == 0  # the same command, a larger budget: one more trial
    out = capsys.readouterr().out
    assert "2 of 3 trials done; 1 to run" in out
    study = open_study(tmp_path / "study")
    assert [t.number for t in study.trials] == [0, 1, 2] and all(t.state.name == "COMPLETE" for t in study.trials)
    html = (tmp_path / "study" / "report.html").read_text(encoding="utf-8")
    for heading in ("Optimisation history", "Parameter importances", "Parallel coordinates", "Slices", "Trials",
                    "Best trial&#x27;s samples"):
        assert f"<h2>{heading}</h2>" in html
    # history, importances, parallel coordinates, slices and the best trial's samples, inlined
    assert html.count('src="data:image/png;base64,') == 5
    assert "http" not in html.replace("http-equiv", "")  # self-contained: nothing loaded from elsewhere
    for t in study.trials:
        assert f"<td>trials/trial-{t.number:04d}</td>" in html
    best_yaml = tmp_path / "study" / "best.yaml"
    capsys.readouterr()
    assert main(["train", "--config", str(best_yaml), "--print-config"]) == 0  # gankit train accepts it
    assert yaml.safe_load(capsys.readouterr().out)["name"] == "tpe-test-best"
    cfg = load_config(config_file=best_yaml)
    best = study.best_trial
    assert cfg.optim.g.lr == pytest.approx(best.params["optim.g.lr"])
    assert cfg.model.d.args.hidden == best.params["model.d.args.hidden"]
    assert cfg.name == "tpe-test-best" and cfg.out == str(tmp_path / "runs")
    trial_cfg = yaml.safe_load((Path(best.user_attrs["run_dir"]) / "config.yaml").read_text())
    best_dict = yaml.safe_load(best_yaml.read_text())
    assert {k: v for k, v in best_dict.items() if k not in ("name", "out")} == \
        {k: v for k, v in trial_cfg.items() if k not in ("name", "out")}


def test_pruning_stops_a_trial_that_is_clearly_worse_at_its_first_evaluation(tmp_path):
    space = _space(tmp_path, f"optim.g.lr: {{choice: [{GOOD}, {BAD}]}}\n")
    # seed 1: the grid's shuffled order runs the good value first, so the bad one meets a median
    result = tune(_settings(tmp_path, space, trials=2, sampler="grid", pruner="median", prune_after=1, seed=1),
                  report=False)
    study = open_study(tmp_path / "study")
    first, second = study.trials
    assert first.params["optim.g.lr"] == GOOD and first.state.name == "COMPLETE"
    assert second.params["optim.g.lr"] == BAD and second.state.name == "PRUNED"
    assert second.intermediate_values == {20: 0.0}  # stopped at its first evaluation
    assert result.states == {"COMPLETE": 1, "PRUNED": 1}
    stats = [json.loads(line) for line in (Path(second.user_attrs["run_dir"]) / "stats.jsonl").read_text().splitlines()]
    assert stats[-1]["step"] == 20  # the run itself stopped there (through the callback)
    # Too few completed trials for importances: the report says so instead of failing.
    from gankit.search.report import write_study_report

    report, best_yaml = write_study_report(tmp_path / "study")
    assert "Parameter importances need at least 3 completed trials; this study has 1 so far." in report.read_text()
    assert best_yaml == tmp_path / "study" / "best.yaml"


def test_a_diverging_trial_is_failed_with_its_reason_and_the_study_goes_on(tmp_path):
    space = _space(tmp_path, "optim.d.lr: {choice: [1.0e-3, 1.0e+30]}\n")
    result = tune(_settings(tmp_path, space, trials=2, sampler="grid", pruner="none"), report=False)
    assert result.states == {"COMPLETE": 1, "FAIL": 1}
    study = open_study(tmp_path / "study")
    failed = next(t for t in study.trials if t.state.name == "FAIL")
    assert failed.params["optim.d.lr"] == 1.0e30
    assert failed.user_attrs["fail_reason"].startswith("NonFiniteLossError: loss/")
    assert "became non-finite at step" in failed.user_attrs["fail_reason"]
    assert result.best_params == {"optim.d.lr": 1.0e-3}


def test_a_rerun_refuses_another_space_for_the_same_study(tmp_path):
    space = _space(tmp_path, f"optim.g.lr: {{choice: [{GOOD}]}}\n")
    tune(_settings(tmp_path, space, trials=1, sampler="grid", pruner="none"), report=False)
    other = tmp_path / "other.yaml"
    other.write_text(f"optim.g.lr: {{choice: [{BAD}]}}\n", encoding="utf-8")
    with pytest.raises(gankit.ConfigError, match="study 'ring-gan-space' in sqlite:///.* was started with another "
                                                 "space; its trials would not be comparable"):
        tune(_settings(tmp_path, str(other), trials=1, sampler="grid", pruner="none", study="ring-gan-space"),
             report=False)


def test_a_trial_whose_process_died_is_failed_and_run_again(tmp_path):
    import socket
    import subprocess

    from gankit.search.study import Context, prepare

    space = _space(tmp_path, f"optim.g.lr: {{choice: [{GOOD}, {BAD}]}}\n")
    settings = _settings(tmp_path, space, trials=1, sampler="grid", pruner="none")
    prepare(settings)
    study = Context.build(settings, check=False).load_study()
    dead = subprocess.Popen(["true"])
    dead.wait()
    trial = study.ask()  # as a worker that was killed mid-trial leaves it: RUNNING, with its host and pid
    lr = trial.suggest_categorical("optim.g.lr", [GOOD, BAD])
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", dead.pid)
    result = tune(settings, report=False)  # the same command again
    first, again = open_study(tmp_path / "study").trials
    assert first.state.name == "FAIL" and first.user_attrs["interrupted"] is True
    assert first.user_attrs["fail_reason"] == f"interrupted: its process {dead.pid} ended"
    assert again.state.name == "COMPLETE" and again.params == {"optim.g.lr": lr}  # the same point, run again
    assert again.user_attrs["retry_of"] == 0
    assert result.states == {"FAIL": 1, "COMPLETE": 1}  # the interrupted trial did not use up --trials 1


def test_hyperband_pruner_spans_the_evaluations_of_one_run(tmp_path):
    import optuna

    from gankit.search.study import Context

    space = _space(tmp_path, f"optim.g.lr: {{choice: [{GOOD}, {BAD}]}}\n")
    pruner = Context.build(_settings(tmp_path, space, trials=2, pruner="hyperband")).pruner()
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert (pruner._min_resource, pruner._max_resource) == (20, 60)  # first evaluation .. train.steps
