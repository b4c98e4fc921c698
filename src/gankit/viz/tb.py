"""TensorBoard helpers: the fixed-noise grid as an image, weights and gradients as histograms."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import torch

from gankit.viz.grid import make_grid


def grid_image(samples: torch.Tensor, nrow: Optional[int] = None) -> np.ndarray:
    """An image for ``SummaryWriter.add_image`` (``dataformats="HWC"``).

    Args:
        samples: ``[N, C, H, W]`` images in [-1, 1], or ``[N, 2]`` points (drawn as a scatter).
        nrow: images per row of the grid.

    Returns:
        uint8 ``[H, W, 3]``.
    """
    if samples.dim() == 2 and samples.shape[1] == 2:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = Figure(figsize=(4, 4), dpi=80, layout="constrained")
        canvas = FigureCanvasAgg(fig)
        ax = fig.subplots()
        points = samples.detach().float().cpu().numpy()
        ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.5)
        ax.set_aspect("equal")
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
    grid = make_grid(samples, nrow=nrow)
    return grid.expand(3, -1, -1).permute(1, 2, 0).numpy().copy()


def log_images_and_histograms(writer, step: int, nets: Dict[str, torch.nn.Module], grid: torch.Tensor,
                              nrow: Optional[int] = None, histograms: bool = True) -> None:
    """Log the fixed-noise samples and per-parameter histograms to TensorBoard.

    Call every N steps after a backward pass, so gradients exist. Tags: ``samples``;
    ``<net>/weights/<param>`` and ``<net>/grads/<param>`` for every network (``G``, ``D``, or a
    run's other players). Parameters without a
    gradient (frozen, or not yet used) get no gradient histogram.

    Args:
        writer: a ``torch.utils.tensorboard.SummaryWriter``.
        step: global step for the x axis.
        nets: the networks by name (the run's players).
        grid: ``[N, C, H, W]`` samples in [-1, 1] (or ``[N, 2]`` points) from fixed noise.
        nrow: images per grid row (e.g. samples per class for conditional models).
        histograms: also log weight/gradient histograms (costs a device-to-host copy of every parameter).
    """
    writer.add_image("samples", grid_image(grid, nrow), global_step=step, dataformats="HWC")
    if not histograms:
        return
    for prefix, net in nets.items():
        for name, p in net.named_parameters():
            for kind, t in (("weights", p), ("grads", p.grad)):
                if t is None:
                    continue
                t = t.detach().float().cpu()
                if torch.isfinite(t).all():  # a diverged run's NaNs are reported by the loop, not here
                    writer.add_histogram(f"{prefix}/{kind}/{name}", t, global_step=step)
