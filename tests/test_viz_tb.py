"""TensorBoard helper: the sample grid and weight/gradient histograms land in the event file."""

import numpy as np
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

from gankit.models import build_discriminator, build_generator
from gankit.viz.tb import grid_image, log_images_and_histograms


def test_images_and_histograms_are_logged(tmp_path):
    torch.manual_seed(0)
    G = build_generator("mlp", {"hidden": 8, "layers": 1}, z_dim=4, out_shape=(1, 4, 4), num_classes=0)
    D = build_discriminator("mlp", {"hidden": 8, "layers": 1}, in_shape=(1, 4, 4), num_classes=0)
    D(G(torch.randn(3, 4))).mean().backward()  # gradients for both nets
    first_name, first = next(iter(G.named_parameters()))
    first.grad = None  # a parameter without a gradient gets no gradient histogram
    writer = SummaryWriter(str(tmp_path))
    samples = torch.zeros(6, 1, 4, 4)
    log_images_and_histograms(writer, 7, {"G": G, "D": D}, samples, nrow=3)
    writer.close()
    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "histograms": 0}).Reload()
    image = events.Images("samples")[0]
    assert image.step == 7 and (image.width, image.height) == (3 * 6 + 2, 2 * 6 + 2)
    hist_tags = set(events.Tags()["histograms"])
    weights = {f"G/weights/{n}" for n, _ in G.named_parameters()} | {f"D/weights/{n}" for n, _ in D.named_parameters()}
    grads = {f"G/grads/{n}" for n, p in G.named_parameters() if p.grad is not None} | \
        {f"D/grads/{n}" for n, p in D.named_parameters() if p.grad is not None}
    assert hist_tags == weights | grads
    assert f"G/weights/{first_name}" in hist_tags and f"G/grads/{first_name}" not in hist_tags
    assert len(grads) == len(weights) - 1


def test_grid_image_is_hwc_rgb_uint8():
    img = grid_image(torch.ones(4, 1, 3, 3), nrow=2)
    assert img.shape == (2 * 5 + 2, 2 * 5 + 2, 3) and img.dtype == np.uint8
    assert img[3, 3].tolist() == [255, 255, 255]
    points = grid_image(torch.randn(50, 2))
    assert points.shape == (320, 320, 3)  # 4 x 4 in at 80 dpi
