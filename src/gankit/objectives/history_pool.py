"""A history of generated images for the discriminator (Shrivastava et al. 2017, "Learning from
Simulated and Unsupervised Images through Adversarial Training", section 2.3; CycleGAN's
``ImagePool``).

Updating D on a mix of current and earlier fakes, rather than on the latest batch alone, keeps it
from forgetting what the generator produced before and damps the oscillation of the two players.
"""

from __future__ import annotations

from typing import Optional

import torch


class HistoryPool:
    """A pool of up to ``size`` earlier fakes that D's batches are drawn through.

    Semantics (those of junyanz/pytorch-CycleGAN-and-pix2pix ``util/image_pool.py``), image by image
    in batch order: while fewer than ``size`` images are stored, the image is stored and returned;
    afterwards, with probability 0.5 it replaces a uniformly chosen stored image and that stored
    image is returned, otherwise it is returned itself. Images later in a batch see the swaps of
    earlier ones (a slot written by image ``i`` and drawn again by image ``k > i`` returns image
    ``i``); the computation is vectorised over the batch with that result.

    Randomness comes only from the ``generator`` passed to :meth:`query`, so that a resumed run
    repeats the draws: per query, for the ``m`` images arriving once the pool is full,
    ``torch.rand(m)`` (swap when ``< 0.5``) then ``torch.randint(size, (m,))`` (the slot), both on the
    generator's device; nothing is drawn while filling.

    Args:
        size: images kept (CycleGAN: 50); 0 disables the pool (``query`` returns its input).
    """

    def __init__(self, size: int = 50):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"HistoryPool size must be an integer >= 0 (0 disables it), got {size!r}")
        self.size = size
        #: Images stored so far (``size`` once full).
        self.count = 0
        self._images: Optional[torch.Tensor] = None  # [count, C, H, W]

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Store ``images`` and return a batch of the same shape for D.

        Args:
            images: ``[N, C, H, W]`` fakes (any per-sample shape); they are detached, and copies are
                stored, so the caller may reuse the tensor.
            generator: the random stream (its device decides where the draws happen).

        Returns:
            ``[N, C, H, W]``, detached: incoming images and stored ones as described above; with
            ``size=0``, ``images`` itself.
        """
        if self.size == 0:
            return images
        images = images.detach()
        if self._images is None:
            self._images = images[:0].clone()
        elif self._images.shape[1:] != images.shape[1:]:
            raise ValueError(f"HistoryPool holds images of shape {tuple(self._images.shape[1:])}, "
                             f"got a batch of {tuple(images.shape[1:])}")
        # A state loaded on the CPU moves to the images' device (and dtype) on first use.
        self._images = self._images.to(images)
        n_fill = min(self.size - self.count, images.shape[0])
        if n_fill:
            self._images = torch.cat([self._images, images[:n_fill]])
            self.count += n_fill
        rest = images[n_fill:]
        m = rest.shape[0]
        if m == 0:
            return images
        device = generator.device
        swap = (torch.rand(m, generator=generator, device=device) < 0.5).to(images.device)
        slot = torch.randint(self.size, (m,), generator=generator, device=device).to(images.device)
        k = torch.arange(m, device=images.device)
        # An [m, m] comparison (m = batch size) finds, without a host sync or a Python loop, which
        # earlier image of the batch last wrote the slot each image swaps with.
        # writes[k, j]: image j (earlier in the batch) swapped into the slot that image k swaps with.
        writes = (slot[:, None] == slot[None, :]) & swap[:, None] & swap[None, :] & (k[None, :] < k[:, None])
        latest = torch.where(writes, k[None, :], -1).amax(dim=1)  # [m]: latest such j, -1 if none
        # Indices into bank = [stored images (size), incoming images (m)].
        bank = torch.cat([self._images, rest])
        source = torch.where(swap, torch.where(latest >= 0, self.size + latest, slot), self.size + k)
        # Each slot ends up holding the last image of the batch that swapped into it.
        last = torch.full((self.size + 1,), -1, device=images.device, dtype=torch.long)
        last = last.scatter_reduce(0, torch.where(swap, slot, self.size), k, reduce="amax")[: self.size]
        keep = torch.arange(self.size, device=images.device)
        self._images = bank[torch.where(last >= 0, self.size + last, keep)]
        return torch.cat([images[:n_fill], bank[source]])

    def state_dict(self) -> dict:
        """``{"size": int, "count": int, "images": [count, C, H, W]}`` (an empty tensor before the
        first query): plain values that ``torch.load(weights_only=True)`` reads."""
        images = self._images if self._images is not None else torch.empty(0)
        return {"size": self.size, "count": self.count, "images": images.clone()}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the pool's ``size`` must match the saved one."""
        if state["size"] != self.size:
            raise ValueError(f"HistoryPool state is for size {state['size']}, this pool has size {self.size}; "
                             f"resume with the same pool size")
        count, images = int(state["count"]), state["images"]
        if not 0 <= count <= self.size or (count and images.shape[0] != count):
            raise ValueError(f"HistoryPool state is inconsistent: count {count}, images {tuple(images.shape)}")
        self.count = count
        self._images = images.clone() if count else None
