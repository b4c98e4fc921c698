"""Batches for the training loop, with a resumable data order.

In-memory data sets live as one tensor on the training device and are batched by index from a
seeded per-epoch permutation: no per-sample Python, no host round trip. Streamed data sets go
through a DataLoader whose sampler follows the same permutation, so both kinds resume exactly from
``state_dict()``.
"""

from __future__ import annotations

from typing import Dict, Iterator, Optional

import torch

from gankit.data.dataset import Dataset


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 images (0..255) -> float32 in [-1, 1]; float vectors pass through unchanged."""
    if x.dtype == torch.uint8:
        return x.float().div_(127.5).sub_(1.0)
    return x.float()


class _Order:
    """A seeded stream of epoch permutations with a position, restorable from a state dict."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def next_indices(self) -> torch.Tensor:
        """Indices of the next batch; batches never straddle epochs (the short tail is dropped)."""
        if self.pos + self.batch_size > self.n:
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._permutation(self.epoch)
        idx = self._perm[self.pos: self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "seed": self.seed, "n": self.n}

    def load_state_dict(self, state: dict) -> None:
        if state["n"] != self.n:
            raise ValueError(f"the data set has {self.n} samples but the checkpoint was made with {state['n']}; "
                             "resume with the same data (data.source / data.path)")
        self.seed, self.epoch, self.pos = state["seed"], state["epoch"], state["pos"]
        self._perm = self._permutation(self.epoch)


class Batches:
    """Endless iterator of mapping batches on ``device``.

    Args:
        dataset: a loaded :class:`Dataset`.
        batch_size: samples per batch (must not exceed the data set size).
        device: where batches are produced.
        seed: seeds the data order.
        num_workers: DataLoader workers for streamed data sets.
        rank, world: with several processes (``torchrun``) ``batch_size`` is the global batch; every
            rank follows the same seeded order and takes rows ``rank * b .. (rank + 1) * b`` of each
            global batch (``b = batch_size // world``), so an epoch sees each sample once across ranks.

    Returns (from :meth:`next`):
        one domain: ``{"x": float32 [B, *shape] (images in [-1, 1]), "y": int64 [B] or None}`` plus
        one entry per ``dataset.fields`` key (same rows, same conversion); unpaired data:
        ``{"a": [B, *shape], "b": [B, *shape]}``, each domain in its own seeded order.
    """

    def __init__(self, dataset: Dataset, batch_size: int, device: torch.device, seed: int, num_workers: int = 2,
                 rank: int = 0, world: int = 1):
        self.dataset, self.device, self.num_workers = dataset, torch.device(device), num_workers
        if batch_size % world:
            raise ValueError(f"train.batch_size={batch_size} does not split over {world} processes")
        self.batch_size = batch_size // world  # this rank's rows of each batch
        self.rows = slice(rank * self.batch_size, (rank + 1) * self.batch_size)
        self.served = 0  # samples handed out by this rank (per domain for unpaired data): the loop's images/s
        if dataset.domains:
            # Domain k gets seed + k so the two orders differ; the state is one entry per domain.
            self.domains = {name: Batches(d, batch_size, device, seed + k, num_workers, rank, world)
                            for k, (name, d) in enumerate(sorted(dataset.domains.items()))}
            return
        self.domains = {}
        if batch_size > len(dataset):
            raise ValueError(f"train.batch_size={batch_size} is larger than the data set ({len(dataset)} samples); "
                             "lower train.batch_size")
        self.order = _Order(len(dataset), batch_size, seed)
        self._stream_iter: Optional[Iterator] = None
        if dataset.x is not None:
            self.x = dataset.x.to(self.device)
            self.y = dataset.y.to(self.device) if dataset.y is not None else None
            self.fields = {k: t.to(self.device) for k, t in dataset.fields.items()}

    def next(self) -> Dict[str, Optional[torch.Tensor]]:
        self.served += self.batch_size
        if self.domains:
            return {name: b.next()["x"] for name, b in self.domains.items()}
        if self.dataset.x is not None:
            idx = self.order.next_indices()[self.rows].to(self.device, non_blocking=True)
            batch = {"x": to_model_range(self.x.index_select(0, idx)),
                     "y": self.y.index_select(0, idx) if self.y is not None else None}
            batch.update({k: to_model_range(t.index_select(0, idx)) for k, t in self.fields.items()})
            return batch
        return self._next_streamed()

    def _next_streamed(self):
        if self._stream_iter is None:
            self._stream_iter = iter(self._loader())
        x, y = next(self._stream_iter)
        self.order.next_indices()  # the loader prefetches ahead; self.order tracks what was consumed
        x = to_model_range(x.to(self.device, non_blocking=True))
        has_labels = self.dataset.num_classes > 0
        return {"x": x, "y": y.to(self.device, non_blocking=True) if has_labels else None}

    def _loader(self):
        ahead = _Order(self.order.n, self.order.batch_size, self.order.seed)
        ahead.load_state_dict(self.order.state_dict())
        rows = self.rows

        class _Sampler(torch.utils.data.Sampler):
            # Endless: yields whole batches following the same seeded order as in-memory data.
            def __iter__(self):
                while True:
                    yield ahead.next_indices()[rows].tolist()

        return torch.utils.data.DataLoader(
            self.dataset.stream, batch_sampler=_Sampler(), num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda", persistent_workers=self.num_workers > 0,
        )

    def state_dict(self) -> dict:
        if self.domains:
            return {"domains": {name: b.state_dict() for name, b in self.domains.items()}}
        return self.order.state_dict()

    def load_state_dict(self, state: dict) -> None:
        if self.domains:
            if sorted(state.get("domains", {})) != sorted(self.domains):
                raise ValueError(f"the checkpoint's data order has domains {sorted(state.get('domains', {}))} but "
                                 f"this data has {sorted(self.domains)}; resume with the same data.source")
            for name, b in self.domains.items():
                b.load_state_dict(state["domains"][name])
            return
        self.order.load_state_dict(state)
        self._stream_iter = None
