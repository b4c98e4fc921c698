"""Loss and metric curves (``curves/*.png``) from stats.jsonl at the end of a run."""

from __future__ import annotations

from pathlib import Path

from gankit.training.callbacks import Callback


class Curves(Callback):
    def __init__(self, run_dir: Path):
        self.run_dir, self.written = Path(run_dir), []

    def on_fit_end(self, trainer, step) -> None:
        from gankit.viz.curves import plot_curves

        try:
            self.written = plot_curves(self.run_dir)
        except Exception as e:  # plots are a convenience: report, never lose the trained run over them
            trainer.log(f"could not plot curves: {type(e).__name__}: {e}")
