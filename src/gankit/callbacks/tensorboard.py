"""TensorBoard: every flushed scalar, and at sample steps the preview grid and weight histograms."""

from __future__ import annotations

from pathlib import Path

from gankit.training.callbacks import Callback


class TensorBoard(Callback):
    """Event files in ``log_dir`` (``tensorboard --logdir runs/``)."""

    def __init__(self, log_dir: Path, image_every: int):
        self.log_dir, self.image_every, self.writer = Path(log_dir), int(image_every), None

    def on_fit_start(self, trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step drops events past a resumed step, so the resumed run's curves do not overlap
        self.writer = SummaryWriter(str(self.log_dir), purge_step=trainer.step or None)

    def on_step_end(self, trainer, step) -> None:
        if step % self.image_every == 0:
            from gankit.viz.tb import log_images_and_histograms

            preview = trainer.preview()
            nets = {name: p.module for name, p in trainer.players.items()}
            log_images_and_histograms(self.writer, step, nets, preview["images"], nrow=preview["nrow"])

    def on_flush(self, trainer, step, values) -> None:
        for name, v in values.items():
            if name not in ("step", "time") and isinstance(v, (int, float)):
                self.writer.add_scalar(name, v, step)
        self.writer.flush()

    def close(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
