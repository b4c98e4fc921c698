"""On-device batching: value range, seeded order, exact restore, and streamed == in-memory order."""

import pytest
import torch

from gankit.data.batches import Batches
from gankit.data.dataset import Dataset


class _Stream(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def _data(n=10):
    x = torch.arange(n, dtype=torch.uint8).mul(25).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    y = torch.arange(n) % 3
    return x, y


def test_in_memory_batches_are_scaled_and_follow_a_seeded_permutation():
    x, y = _data()
    b = Batches(Dataset(x, y, 3, ["a", "b", "c"], (1, 2, 2)), batch_size=4, device="cpu", seed=7)
    batch = b.next()
    xb, yb = batch["x"], batch["y"]
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(7 * 1_000_003))
    assert torch.equal(xb[:, 0, 0, 0], x[perm[:4], 0, 0, 0].float() / 127.5 - 1)
    assert torch.equal(yb, y[perm[:4]])
    assert xb.dtype == torch.float32 and float(xb.min()) >= -1.0 and float(xb.max()) <= 1.0


def test_epochs_drop_the_short_tail_and_restore_exactly():
    x, y = _data()
    ds = Dataset(x, y, 3, ["a", "b", "c"], (1, 2, 2))
    a = Batches(ds, 4, "cpu", seed=1)
    seen = [a.next()["x"][:, 0, 0, 0] for _ in range(3)]  # 2 batches per epoch of 10 -> the 3rd starts epoch 1
    assert a.order.epoch == 1 and a.order.pos == 4
    # within an epoch no sample repeats: the first two batches hold 8 distinct samples
    assert len(torch.cat(seen[:2]).unique()) == 8
    b = Batches(ds, 4, "cpu", seed=1)
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        assert torch.equal(a.next()["x"], b.next()["x"])


def test_streamed_data_gives_the_same_batches_and_resumes_exactly():
    x, y = _data()
    mem = Batches(Dataset(x, y, 3, ["a", "b", "c"], (1, 2, 2)), 3, "cpu", seed=2)
    stream_ds = Dataset(None, None, 3, ["a", "b", "c"], (1, 2, 2), stream=_Stream(x, y))
    streamed = Batches(stream_ds, 3, "cpu", seed=2, num_workers=2)  # workers prefetch ahead
    for _ in range(4):
        m, st = mem.next(), streamed.next()
        assert torch.equal(m["x"], st["x"]) and torch.equal(m["y"], st["y"])
    # the loader prefetches, but the saved position is what was consumed
    again = Batches(stream_ds, 3, "cpu", seed=2, num_workers=0)
    again.load_state_dict(streamed.state_dict())
    for _ in range(3):
        assert torch.equal(again.next()["x"], mem.next()["x"])


def test_paired_fields_share_rows_and_unpaired_domains_have_their_own_orders():
    x, y = _data()
    target = (255 - x).contiguous()
    paired = Batches(Dataset(x, None, 0, [], (1, 2, 2), fields={"target": target}), 4, "cpu", seed=3).next()
    assert sorted(k for k, v in paired.items() if v is not None) == ["target", "x"]
    assert torch.allclose(paired["target"], -paired["x"])  # row i of target is 255 - row i of x
    a = Dataset(x, None, 0, [], (1, 2, 2))
    b = Dataset(x[:8].clone(), None, 0, [], (1, 2, 2))
    two = Batches(Dataset(None, None, 0, [], (1, 2, 2), domains={"a": a, "b": b}), 4, "cpu", seed=3)
    first = two.next()
    assert sorted(first) == ["a", "b"] and first["a"].shape == first["b"].shape == (4, 1, 2, 2)
    assert not torch.equal(first["a"], first["b"])  # seeds differ per domain
    again = Batches(Dataset(None, None, 0, [], (1, 2, 2), domains={"a": a, "b": b}), 4, "cpu", seed=3)
    again.load_state_dict(two.state_dict())
    for _ in range(3):
        n1, n2 = two.next(), again.next()
        assert torch.equal(n1["a"], n2["a"]) and torch.equal(n1["b"], n2["b"])


def test_ranks_take_disjoint_shards_of_each_global_batch_in_memory_and_streamed():
    # torchrun: train.batch_size is the global batch; rank r takes rows r*b..(r+1)*b of each one.
    x, y = _data(12)
    mem = Dataset(x, y, 3, ["a", "b", "c"], (1, 2, 2))
    streamed = Dataset(None, None, 3, ["a", "b", "c"], (1, 2, 2), stream=_Stream(x, y))
    single = Batches(mem, 6, "cpu", seed=5)
    ranks = {kind: [Batches(ds, 6, "cpu", seed=5, num_workers=0, rank=r, world=3) for r in range(3)]
             for kind, ds in (("memory", mem), ("stream", streamed))}
    for _ in range(5):  # past an epoch (12 samples = 2 global batches)
        whole = single.next()
        for kind, shards in ranks.items():
            parts = [b.next() for b in shards]
            assert all(p["x"].shape[0] == 2 for p in parts), kind
            assert torch.equal(torch.cat([p["x"] for p in parts]), whole["x"]), kind
            assert torch.equal(torch.cat([p["y"] for p in parts]), whole["y"]), kind
    with pytest.raises(ValueError, match="does not split over 4 processes"):
        Batches(mem, 6, "cpu", seed=5, rank=0, world=4)
