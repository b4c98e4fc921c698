"""Training throughput: gankit's trainer vs a textbook PyTorch DCGAN loop, same networks, one run.

The textbook loop is written the way PyTorch-GAN's ``implementations/dcgan/dcgan.py`` is: a
torchvision-style Dataset that turns each sample into a PIL image and applies per-sample
transforms, a DataLoader, fp32 in the default memory format, a Sigmoid at the end of D and
``nn.BCELoss``. Both loops train the same DCGAN generator and discriminator (gankit's registry
builds them) on the same 5,000 embedded MNIST digits at 32x32, batch 64, one D step per G step.

Usage::

    python benchmarks/throughput.py --steps 60 --warmup 10 [--device cpu|cuda] [--width 32]

Prints images/s (real images consumed per second) for both and their ratio, as a BENCHMARKS.md row.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from gankit.config import load_config
from gankit.data import DataRequest, build_dataset
from gankit.models import build_discriminator, build_generator
from gankit.training.trainer import Trainer


class TextbookMNIST(torch.utils.data.Dataset):
    """Per-sample PIL conversion + transforms, as torchvision.datasets.MNIST does."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i], mode="L")
        return self.transform(img), int(self.labels[i])


def textbook_loop(G, D, loader, steps: int, warmup: int, z_dim: int, device) -> float:
    """PyTorch-GAN dcgan.py's loop; returns images/s over ``steps`` after ``warmup`` steps."""
    D_prob = nn.Sequential(D, nn.Sigmoid()).to(device)  # PyTorch-GAN's D ends in a Sigmoid
    G.to(device)
    bce = nn.BCELoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, t0 = 0, None
    while True:
        for imgs, _ in loader:
            if done == warmup:
                t0 = time.perf_counter()
            if done == warmup + steps:
                return steps * loader.batch_size / (time.perf_counter() - t0)
            real = imgs.to(device)
            valid = torch.ones(real.size(0), device=device)
            fake_t = torch.zeros(real.size(0), device=device)
            opt_g.zero_grad()
            z = torch.randn(real.size(0), z_dim, device=device)
            gen = G(z)
            g_loss = bce(D_prob(gen), valid)
            g_loss.backward()
            opt_g.step()
            opt_d.zero_grad()
            d_loss = (bce(D_prob(real), valid) + bce(D_prob(gen.detach()), fake_t)) / 2
            d_loss.backward()
            opt_d.step()
            done += 1


def gankit_loop(cfg, steps: int, warmup: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp, quiet=True)
        trainer.write_run_files([])
        trainer.fit(stop_after=warmup)
        t0 = time.perf_counter()
        trainer.fit(stop_after=steps)
        return steps * cfg.train.batch_size / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=0, help="textbook DataLoader workers (PyTorch-GAN uses 0)")
    p.add_argument("--repeats", type=int, default=2, help="alternate the two loops this many times")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads for both loops (0 = torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    overrides = [f"model.g.args.width={args.width}", f"model.d.args.width={args.width}",
                 f"train.batch_size={args.batch_size}", f"train.device={args.device}",
                 "train.steps=100000", "train.log_every=1000", "train.sample_every=100000",
                 "train.checkpoint_every=100000", f"train.threads={args.threads}"]
    cfg = load_config("dcgan-mnist", overrides=overrides)

    import torchvision.transforms as T

    ds = build_dataset("mnist5k", DataRequest(resolution=None))
    images = ds.x[:, 0].numpy()
    transform = T.Compose([T.Resize(32), T.ToTensor(), T.Normalize([0.5], [0.5])])
    loader = torch.utils.data.DataLoader(TextbookMNIST(images, ds.y.numpy(), transform),
                                         batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         num_workers=args.workers)
    results = {"textbook": [], "gankit": []}
    for _ in range(args.repeats):
        torch.manual_seed(0)
        G = build_generator("dcgan", {"width": args.width}, cfg.model.z_dim, (1, 32, 32), 0)
        D = build_discriminator("dcgan", {"width": args.width}, (1, 32, 32), 0)
        results["textbook"].append(textbook_loop(G, D, loader, args.steps, args.warmup, cfg.model.z_dim, device))
        results["gankit"].append(gankit_loop(cfg, args.steps, args.warmup))
    tb, gk = max(results["textbook"]), max(results["gankit"])
    machine = (torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    print(f"textbook images/s per repeat: {[round(v, 1) for v in results['textbook']]}")
    print(f"gankit   images/s per repeat: {[round(v, 1) for v in results['gankit']]}")
    print("| machine | batch | width | textbook img/s | gankit img/s | ratio |")
    print("|---|---|---|---|---|---|")
    print(f"| {machine} (torch {torch.__version__}) | {args.batch_size} | {args.width} | {tb:.1f} | {gk:.1f} | "
          f"{gk / tb:.2f}x |")


if __name__ == "__main__":
    main()
