"""Sample grids during training (``samples/step-N.png``) and the final ``samples.png``."""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.training.callbacks import Callback


class SampleGrids(Callback):
    """Writes the objective's fixed-input preview every ``every`` steps and at the end.

    Images become a grid; 2-D points become a scatter of 2,500 samples over the data's modes. The
    final ``samples.png`` is enlarged (nearest neighbour) to at least ``FINAL_CELL`` pixels per
    image so that a person can read it; the step grids keep the native size (the timeline's frames).
    """

    FINAL_CELL = 64

    def __init__(self, run_dir: Path, every: int):
        self.run_dir, self.every = Path(run_dir), int(every)

    def on_fit_start(self, trainer) -> None:
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)

    def on_step_end(self, trainer, step) -> None:
        if step % self.every == 0:
            self.write(trainer, self.run_dir / "samples" / f"step-{step:07d}.png")

    def on_fit_end(self, trainer, step) -> None:
        self.write(trainer, self.run_dir / "samples.png", min_cell=self.FINAL_CELL)

    def write(self, trainer, path: Path, min_cell: int = 0) -> Path:
        preview = trainer.preview()
        images = preview["images"]
        if images.dim() == 4:
            from gankit.viz.grid import save_grid

            return save_grid(images, path, nrow=preview["nrow"], min_cell=min_cell)
        from gankit.viz.toy2d import modes_of, plot_samples_2d

        centres, sigma = modes_of(trainer.cfg.data.source)
        return plot_samples_2d(scatter_samples(trainer.objective.generator(), 2500), path, centres=centres,
                               sigma=sigma)


@torch.no_grad()
def scatter_samples(G: torch.nn.Module, n: int) -> torch.Tensor:
    """``n`` points from ``G``'s prior (seed 12345), with balanced labels for a conditional G."""
    from gankit.priors import prior_of

    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    z = prior_of(G).sample(n, torch.Generator(device=device).manual_seed(12345))
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    # balanced labels, so that every class shows in the scatter
    out = G(z, torch.arange(n, device=device) % num_classes) if num_classes else G(z)
    G.train(was_training)
    return out.float().cpu()
