"""PyTorch-GAN's DCGAN networks and training loop, written from the description of
``implementations/dcgan/dcgan.py`` (eriklindernoren/PyTorch-GAN), for side-by-side benchmarks.

G: ``z [N, 100]`` -> linear to ``128 x 8 x 8`` -> BatchNorm -> nearest upsample x2 -> conv3x3
128->128 -> BatchNorm(eps 0.8) -> LeakyReLU 0.2 -> upsample x2 -> conv3x3 128->64 -> BatchNorm(eps
0.8) -> LeakyReLU 0.2 -> conv3x3 64->C -> tanh. (The 0.8 is the script's: its ``BatchNorm2d(n, 0.8)``
passes 0.8 as ``eps``, not as momentum.)

D: four blocks of conv3x3 stride 2 (16, 32, 64, 128 channels), LeakyReLU 0.2, Dropout2d 0.25 and,
from the second block on, BatchNorm(eps 0.8); the ``128 x 2 x 2`` maps are flattened with
``.view`` (as the script does) into a linear layer to one output. The script ends D with a
sigmoid and trains with ``nn.BCELoss``: :class:`TextbookLoop` does that; gankit's contract wants raw
logits, so :class:`PTGDiscriminator` returns them and the textbook loop appends the sigmoid.

Weights: conv ~ N(0, 0.02), BatchNorm weight ~ N(1, 0.02) and bias 0 (the script's
``weights_init_normal``). Optimisers: Adam, lr 2e-4, betas (0.5, 0.999), for both.

The textbook data pipeline is the script's: a torchvision-style Dataset that makes a PIL image of
each digit and applies ``Resize(32), ToTensor(), Normalize([0.5], [0.5])`` per sample, batched by a
``DataLoader`` (batch 64, shuffled, no workers).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

LATENT_DIM = 100
IMG_SIZE = 32
LR, BETAS = 2e-4, (0.5, 0.999)


class PTGGenerator(nn.Module):
    """``forward(z [N, 100]) -> [N, C, 32, 32]`` in [-1, 1]."""

    z_dim, num_classes = LATENT_DIM, 0

    def __init__(self, channels: int = 1):
        super().__init__()
        self.init_size = IMG_SIZE // 4
        self.l1 = nn.Sequential(nn.Linear(LATENT_DIM, 128 * self.init_size ** 2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, stride=1, padding=1),
            nn.BatchNorm2d(128, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, stride=1, padding=1),
            nn.BatchNorm2d(64, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        out = self.l1(z)
        out = out.view(out.shape[0], 128, self.init_size, self.init_size)
        return self.conv_blocks(out)


class PTGDiscriminator(nn.Module):
    """``forward(img [N, C, 32, 32]) -> logits [N]`` (the script's D without its final sigmoid)."""

    num_classes = 0

    def __init__(self, channels: int = 1):
        super().__init__()

        def block(cin: int, cout: int, bn: bool = True) -> list:
            layers = [nn.Conv2d(cin, cout, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.25)]
            return layers + ([nn.BatchNorm2d(cout, 0.8)] if bn else [])

        self.model = nn.Sequential(*block(channels, 16, bn=False), *block(16, 32), *block(32, 64), *block(64, 128))
        ds_size = IMG_SIZE // 2 ** 4
        self.adv_layer = nn.Linear(128 * ds_size ** 2, 1)

    def forward(self, img: torch.Tensor, y=None) -> torch.Tensor:
        out = self.model(img)
        out = out.view(out.shape[0], -1)
        return self.adv_layer(out).squeeze(1)


def init_normal(m: nn.Module) -> None:
    """The script's ``weights_init_normal``: apply with ``module.apply(init_normal)``."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm2d" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0.0)


def networks(seed: int, channels: int = 1):
    """A freshly initialised ``(G, D)`` pair, the same for a given seed."""
    torch.manual_seed(seed)
    G, D = PTGGenerator(channels), PTGDiscriminator(channels)
    G.apply(init_normal)
    D.apply(init_normal)
    return G, D


class PILDigits(torch.utils.data.Dataset):
    """Per-sample PIL conversion + transforms, as ``torchvision.datasets.MNIST`` does.

    Args:
        images: ``[N, 28, 28]`` uint8 digits.
    """

    def __init__(self, images: np.ndarray):
        import torchvision.transforms as T

        self.images = images
        self.transform = T.Compose([T.Resize(IMG_SIZE), T.ToTensor(), T.Normalize([0.5], [0.5])])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i], mode="L")), 0


class TextbookLoop:
    """The script's training loop (G step, then D step on the same fake batch), ``n`` steps at a time.

    Args:
        G, D: from :func:`networks` (moved to ``device`` here).
        images: ``[N, 28, 28]`` uint8 training digits.
        batch_size: 64 in the script.
        seed: seeds the DataLoader's shuffling.
    """

    def __init__(self, G: nn.Module, D: nn.Module, images: np.ndarray, device: torch.device,
                 batch_size: int = 64, seed: int = 0):
        self.G, self.D, self.device = G.to(device), D.to(device), device
        self.D_prob = nn.Sequential(self.D, nn.Sigmoid())
        self.loader = torch.utils.data.DataLoader(PILDigits(images), batch_size=batch_size, shuffle=True,
                                                  generator=torch.Generator().manual_seed(seed))
        self.bce = nn.BCELoss()
        self.opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
        self.batches = iter(())
        self.images_seen = 0

    def _next(self) -> torch.Tensor:
        try:
            return next(self.batches)[0]
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)[0]

    def run(self, n: int) -> None:
        for _ in range(n):
            real = self._next().to(self.device)
            valid = torch.ones(real.size(0), device=self.device)
            fake = torch.zeros(real.size(0), device=self.device)
            self.opt_g.zero_grad()
            gen = self.G(torch.randn(real.size(0), LATENT_DIM, device=self.device))
            g_loss = self.bce(self.D_prob(gen), valid)
            g_loss.backward()
            self.opt_g.step()
            self.opt_d.zero_grad()
            d_loss = (self.bce(self.D_prob(real), valid) + self.bce(self.D_prob(gen.detach()), fake)) / 2
            d_loss.backward()
            self.opt_d.step()
            self.images_seen += real.size(0)
        if self.device.type == "cuda":
            torch.cuda.synchronize()


#: gankit config overrides that reproduce the script's recipe (optimisers, batch, loss, latent size, no EMA).
GANKIT_RECIPE = ["model.z_dim=100", "loss.name=bce", "optim.g.lr=2e-4", "optim.d.lr=2e-4",
                 "optim.g.betas=[0.5,0.999]", "optim.d.betas=[0.5,0.999]", "train.batch_size=64", "train.ema=0",
                 "train.ema_start=0"]
