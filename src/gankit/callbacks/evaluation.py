"""Periodic evaluation during training (``eval.every``): metrics, ``metric/*`` statistics and the
best checkpoint by ``eval.best``."""

from __future__ import annotations

import math

from gankit.registry import ConfigError
from gankit.training.callbacks import Callback


def check_eval_config(e) -> None:
    """Refuse impossible ``eval.*`` settings before any data is loaded."""
    if e.every and not e.metrics:
        raise ConfigError(f"eval.every={e.every} but eval.metrics is empty; e.g. eval.metrics=[fid] "
                          "(see `gankit eval --help` for the metric names)")
    if e.best:
        from gankit.metrics import metric_direction

        try:
            direction = metric_direction(e.best)
        except KeyError:
            raise ConfigError(f"eval.best={e.best} is not a result of any metric; use a key such as fid, kid, "
                              "classifier_fid, precision") from None
        if direction is None:
            raise ConfigError(f"eval.best={e.best} has no better direction (it is informational); choose another")


class PeriodicEvaluation(Callback):
    """Every ``eval.every`` steps: ``eval.metrics`` on the objective's generator (its EMA when
    kept), reported as ``metric/<name>``; then ``on_evaluation`` for other callbacks (pruning).

    With ``eval.best``, a better value saves ``checkpoints/best.pt``; the best so far is kept in
    checkpoints, so a resumed run compares against it. With several processes rank 0 evaluates
    while the others wait for its verdict, and all of them then save best.pt together (a
    checkpoint gathers every rank's state).
    """

    key = "evaluation"
    all_ranks = True

    def __init__(self, eval_cfg):
        check_eval_config(eval_cfg)
        self.cfg, self.best = eval_cfg, None  # best: {"step", "metric", "value"} of best.pt

    def on_fit_start(self, trainer) -> None:
        if trainer.objective.generator() is None:
            raise ConfigError(f"eval.every is set but objective '{trainer.cfg.objective.name}' has no noise "
                              "generator to evaluate; set eval.every=0")

    def on_step_end(self, trainer, step) -> None:
        if step % self.cfg.every:
            return
        if trainer.dist.is_main:
            self.evaluate(trainer)
        elif trainer.dist.broadcast(None):  # rank 0 found a new best: save best.pt together
            trainer.save_checkpoint(trainer.run_dir / "checkpoints" / "best.pt")

    def evaluate(self, trainer) -> dict:
        from gankit.metrics import evaluate, metric_direction

        e = self.cfg
        values = evaluate(trainer.objective.generator(), list(e.metrics), data_cfg=trainer.cfg.data,
                          n_samples=e.n_samples, seed=trainer.cfg.train.seed, device=trainer.device,
                          args=dict(e.args), out_dir=trainer.run_dir / "eval", name=f"step-{trainer.step:07d}")
        for key, value in values.items():
            trainer.reporter.report(f"metric/{key}", value)
        if e.best:
            value = values[e.best]
            better = (self.best is None or (value < self.best["value"] if metric_direction(e.best) == "min"
                                            else value > self.best["value"])) and math.isfinite(value)
            if trainer.dist.active:
                trainer.dist.broadcast(better)
            if better:
                self.best = {"step": trainer.step, "metric": e.best, "value": value}
                trainer.save_checkpoint(trainer.run_dir / "checkpoints" / "best.pt")
                trainer.log(f"step {trainer.step}: new best {e.best}={value:.4g}, saved checkpoints/best.pt")
        elif trainer.dist.active:
            trainer.dist.broadcast(False)
        trainer.emit("on_evaluation", trainer.step, values)
        return values

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state.get("best")
