"""Training throughput: gankit's trainer vs a textbook PyTorch DCGAN loop, same networks, one run.

The textbook loop is written the way PyTorch-GAN's ``implementations/dcgan/dcgan.py`` is: a
torchvision-style Dataset that turns each sample into a PIL image and applies per-sample
transforms, a DataLoader, fp32 in the default memory format, a Sigmoid at the end of D and
``nn.BCELoss``. Both loops train the same DCGAN generator and discriminator (gankit's registry
builds them) on the same 5,000 embedded MNIST digits at 32x32, batch 64, one D step per G step.

Usage::

    python benchmarks/throughput.py --steps 20 --repeats 6 [--device cpu|cuda] [--width 32]

Prints images/s (real images consumed per second) for both, the median over alternating rounds,
and their ratio, as a BENCHMARKS.md row.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from gankit.config import load_config
from gankit.data import DataRequest, build_dataset
from gankit.models import build_discriminator, build_generator
from gankit.callbacks import default_callbacks
from gankit.training.loop import Trainer


class TextbookMNIST(torch.utils.data.Dataset):
    """Per-sample PIL conversion + transforms, as torchvision.datasets.MNIST does."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i], mode="L")
        return self.transform(img), int(self.labels[i])


class TextbookLoop:
    """PyTorch-GAN dcgan.py's loop, advanced ``n`` steps at a time."""

    def __init__(self, G, D, loader, z_dim: int, device):
        self.D_prob = nn.Sequential(D, nn.Sigmoid()).to(device)  # PyTorch-GAN's D ends in a Sigmoid
        self.G, self.loader, self.z_dim, self.device = G.to(device), loader, z_dim, device
        self.bce = nn.BCELoss()
        self.opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.batches = iter(())

    def _next(self):
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)

    def run(self, n: int) -> None:
        for _ in range(n):
            imgs, _ = self._next()
            real = imgs.to(self.device)
            valid = torch.ones(real.size(0), device=self.device)
            fake_t = torch.zeros(real.size(0), device=self.device)
            self.opt_g.zero_grad()
            gen = self.G(torch.randn(real.size(0), self.z_dim, device=self.device))
            g_loss = self.bce(self.D_prob(gen), valid)
            g_loss.backward()
            self.opt_g.step()
            self.opt_d.zero_grad()
            d_loss = (self.bce(self.D_prob(real), valid) + self.bce(self.D_prob(gen.detach()), fake_t)) / 2
            d_loss.backward()
            self.opt_d.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()


class GankitLoop:
    """gankit's Trainer with the callbacks of a real run, advanced ``n`` steps at a time."""

    def __init__(self, cfg, folder: str):
        torch.manual_seed(cfg.train.seed)
        self.trainer = Trainer(cfg, folder, callbacks=default_callbacks(cfg, folder, quiet=True), quiet=True)
        self.trainer.write_run_files([])

    def run(self, n: int) -> None:
        self.trainer.fit(stop_after=n)
        if self.trainer.device.type == "cuda":
            torch.cuda.synchronize()


def timed(loop, n: int) -> float:
    t0 = time.perf_counter()
    loop.run(n)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="steps per timed round")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=0, help="textbook DataLoader workers (PyTorch-GAN uses 0)")
    p.add_argument("--repeats", type=int, default=6, help="timed rounds per loop, alternating")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads for both loops (0 = torch's default)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra gankit config override, e.g. --set train.compile=true (repeatable)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    overrides = [f"model.g.args.width={args.width}", f"model.d.args.width={args.width}",
                 f"train.batch_size={args.batch_size}", f"train.device={args.device}",
                 "train.steps=100000", "train.log_every=1000", "train.sample_every=100000",
                 "train.checkpoint_every=100000", f"train.threads={args.threads}"] + args.set
    cfg = load_config("dcgan-mnist", overrides=overrides)

    import torchvision.transforms as T

    ds = build_dataset("mnist5k", DataRequest(resolution=None))
    images = ds.x[:, 0].numpy()
    transform = T.Compose([T.Resize(32), T.ToTensor(), T.Normalize([0.5], [0.5])])
    loader = torch.utils.data.DataLoader(TextbookMNIST(images, ds.y.numpy(), transform),
                                         batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         num_workers=args.workers)
    torch.manual_seed(0)
    G = build_generator("dcgan", {"width": args.width}, cfg.model.z_dim, (1, 32, 32), 0)
    D = build_discriminator("dcgan", {"width": args.width}, (1, 32, 32), 0)
    textbook = TextbookLoop(G, D, loader, cfg.model.z_dim, device)
    with tempfile.TemporaryDirectory() as tmp:
        loops = {"textbook": textbook, "gankit": GankitLoop(cfg, tmp)}
        for loop in loops.values():
            loop.run(args.warmup)
        # Alternate short rounds so that drifts in machine load hit both loops alike; report medians.
        seconds = {name: [] for name in loops}
        for _ in range(args.repeats):
            for name, loop in loops.items():
                seconds[name].append(timed(loop, args.steps))
    rate = {name: [args.steps * args.batch_size / s for s in v] for name, v in seconds.items()}
    tb, gk = statistics.median(rate["textbook"]), statistics.median(rate["gankit"])
    print(f"textbook images/s per round: {[round(v, 1) for v in rate['textbook']]}")
    print(f"gankit   images/s per round: {[round(v, 1) for v in rate['gankit']]}")
    machine = (torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    settings = " ".join(f"`{s}`" for s in args.set) or "defaults"
    print("| machine | batch | width | gankit settings | textbook img/s | gankit img/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {machine} (torch {torch.__version__}) | {args.batch_size} | {args.width} | {settings} | {tb:.1f} | "
          f"{gk:.1f} | {gk / tb:.2f}x |")


if __name__ == "__main__":
    main()
