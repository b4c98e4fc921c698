"""Built-in data sources other than image-folder: mnist5k, mnist-idx, cifar10, npz, ring, grid."""

import gzip
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.data import DataRequest, build_dataset
from gankit.data.sources import mnist5k as mnist5k_module
from gankit.data.sources.toy2d import GRID_STD, RING_STD, grid_modes, modes_of, ring_modes
from gankit.data.transforms import composite_on_white, to_resolution
from gankit.registry import ConfigError

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
NATIVE = DataRequest(resolution=None)


def _images(n, c, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, c, h, w), dtype=np.uint8)


# ---------------------------------------------------------------- mnist5k


def test_mnist5k_shape_labels_and_padding():
    native = build_dataset("mnist5k", NATIVE)
    assert native.x.shape == (5000, 1, 28, 28) and native.x.dtype == torch.uint8
    assert native.y.dtype == torch.int64
    assert sorted(set(native.y.tolist())) == list(range(10))
    assert native.num_classes == 10 and native.class_names == [str(d) for d in range(10)]
    padded = build_dataset("mnist5k", DataRequest(resolution=32))
    assert padded.shape == (1, 32, 32)
    assert torch.equal(padded.x[:, :, 2:30, 2:30], native.x)  # the digit is not moved or scaled
    for border in (padded.x[:, :, :2], padded.x[:, :, 30:], padded.x[:, :, :, :2], padded.x[:, :, :, 30:]):
        assert int(border.count_nonzero()) == 0
    assert torch.equal(padded.y, native.y)


def test_mnist5k_rgb_replicates():
    rgb = build_dataset("mnist5k", DataRequest(resolution=None, channels=3))
    assert rgb.shape == (3, 28, 28)
    assert torch.equal(rgb.x[:, 0], rgb.x[:, 2]) and torch.equal(rgb.x[:, 1], rgb.x[:, 2])


def test_mnist5k_rejects_options():
    with pytest.raises(ConfigError, match="data.args.split"):
        build_dataset("mnist5k", NATIVE, {"split": "test"})


def _write_csv_gz(path, rows, labels):
    lines = [",".join(map(str, list(r) + [lab])) for r, lab in zip(rows, labels)]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1))


def test_mnist5k_validates_the_file(tmp_path, monkeypatch):
    bad_shape = tmp_path / "short.csv.gz"
    _write_csv_gz(bad_shape, np.zeros((3, 784), dtype=int), [0, 1, 2])
    monkeypatch.setattr(mnist5k_module, "mnist5k_file", lambda: bad_shape)
    with pytest.raises(ConfigError, match="5000 rows"):
        build_dataset("mnist5k", NATIVE)
    one_label = tmp_path / "one_label.csv.gz"
    _write_csv_gz(one_label, np.zeros((5000, 784), dtype=int), [3] * 5000)
    monkeypatch.setattr(mnist5k_module, "mnist5k_file", lambda: one_label)
    with pytest.raises(ConfigError, match="labels must be exactly the digits 0..9"):
        build_dataset("mnist5k", NATIVE)


# ---------------------------------------------------------------- mnist-idx


def _write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    data = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    train_x, train_y = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8), np.array([0, 1, 2, 3, 4, 9, 9], np.uint8)
    test_x, test_y = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), np.array([5, 6, 7], np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", train_x, gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", train_y, gz=True)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", test_x, gz=False)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", test_y, gz=False)
    return tmp_path, (train_x, train_y), (test_x, test_y)


def test_mnist_idx_splits(idx_folder):
    folder, (train_x, train_y), (test_x, test_y) = idx_folder
    req = DataRequest(path=str(folder), resolution=None)
    train = build_dataset("mnist-idx", req)  # default split: train (gzipped files)
    assert torch.equal(train.x[:, 0], torch.from_numpy(train_x))
    assert train.y.tolist() == train_y.tolist() and train.num_classes == 10
    test = build_dataset("mnist-idx", req, {"split": "test"})  # uncompressed files
    assert torch.equal(test.x[:, 0], torch.from_numpy(test_x)) and test.y.tolist() == test_y.tolist()
    both = build_dataset("mnist-idx", req, {"split": "all"})
    assert torch.equal(both.x, torch.cat([train.x, test.x])) and torch.equal(both.y, torch.cat([train.y, test.y]))
    padded = build_dataset("mnist-idx", DataRequest(path=str(folder)), {"split": "test"})
    assert torch.equal(padded.x, to_resolution(test.x, 32))


def test_mnist_idx_dotted_names(tmp_path):
    x = _images(2, 1, 28, 28)[:, 0]
    _write_idx(tmp_path / "t10k-images.idx3-ubyte", x, gz=False)
    _write_idx(tmp_path / "t10k-labels.idx1-ubyte", np.array([1, 0], np.uint8), gz=False)
    ds = build_dataset("mnist-idx", DataRequest(path=str(tmp_path), resolution=None), {"split": "test"})
    assert torch.equal(ds.x[:, 0], torch.from_numpy(x)) and ds.y.tolist() == [1, 0]


def test_mnist_idx_errors(tmp_path, idx_folder):
    folder = idx_folder[0]
    with pytest.raises(ConfigError, match="data.args.split must be one of"):
        build_dataset("mnist-idx", DataRequest(path=str(folder)), {"split": "val"})
    only_test = tmp_path / "only_test"
    only_test.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (only_test / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(ConfigError, match="train-images and train-labels.*found: t10k-images-idx3-ubyte"):
        build_dataset("mnist-idx", DataRequest(path=str(only_test)))
    _write_idx(only_test / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8), gz=False)  # 3 images, 2 labels
    with pytest.raises(ConfigError, match="has 3 images but t10k-labels-idx1-ubyte has 2 labels"):
        build_dataset("mnist-idx", DataRequest(path=str(only_test)), {"split": "test"})
    (only_test / "t10k-labels-idx1-ubyte").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ConfigError, match="not an IDX file"):
        build_dataset("mnist-idx", DataRequest(path=str(only_test)), {"split": "test"})
    good = (folder / "t10k-images-idx3-ubyte").read_bytes()
    (only_test / "t10k-images-idx3-ubyte").write_bytes(good[:-5])
    _write_idx(only_test / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8), gz=False)
    with pytest.raises(ConfigError, match="truncated or damaged"):
        build_dataset("mnist-idx", DataRequest(path=str(only_test)), {"split": "test"})
    with pytest.raises(ConfigError, match="set data.path"):
        build_dataset("mnist-idx", DataRequest())


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_mnist_idx_damaged_gzip_names_the_file_and_the_fix(idx_folder, damage):
    folder = idx_folder[0]
    path = folder / "train-images-idx3-ubyte.gz"
    blob = path.read_bytes()
    # A download cut short, or bytes changed after the gzip header (both were raw tracebacks).
    path.write_bytes(blob[: len(blob) // 2] if damage == "truncated" else blob[:10] + bytes(len(blob) - 10))
    with pytest.raises(ConfigError, match=r"train-images-idx3-ubyte\.gz is a damaged gzip file.*download it again"):
        build_dataset("mnist-idx", DataRequest(path=str(folder)))


@pytest.mark.skipif(not (SHARED / "mnist" / "t10k-images-idx3-ubyte.gz").is_file(), reason="shared MNIST absent")
def test_mnist_idx_real_test_split():
    ds = build_dataset("mnist-idx", DataRequest(path=str(SHARED / "mnist"), resolution=None), {"split": "test"})
    assert ds.x.shape == (10000, 1, 28, 28) and ds.num_classes == 10
    # Published facts about the MNIST test set: its class sizes and its first label.
    assert ds.y.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert int(ds.y[0]) == 7
    with pytest.raises(ConfigError, match="train-images"):
        build_dataset("mnist-idx", DataRequest(path=str(SHARED / "mnist")))


# ---------------------------------------------------------------- cifar10


def _write_cifar(folder: Path, protocol: int, bytes_keys: bool) -> dict:
    """A tiny fake cifar-10-batches-py folder; returns the arrays written per file."""
    folder.mkdir(parents=True)
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    written = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        data = np.random.default_rng(i).integers(0, 256, (2, 3072), dtype=np.uint8)
        labels = [i % 10, (i + 3) % 10]
        with open(folder / name, "wb") as f:
            pickle.dump({key("batch_label"): key(name), key("data"): data, key("labels"): labels,
                         key("filenames"): [key("a.png"), key("b.png")]}, f, protocol=protocol)
        written[name] = (data, labels)
    label_names = [key(n) for n in ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                    "ship", "truck"]]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({key("label_names"): label_names, key("num_vis"): 3072}, f, protocol=protocol)
    return written


@pytest.mark.parametrize("protocol,bytes_keys", [(2, True), (4, False)])
def test_cifar10_splits(tmp_path, protocol, bytes_keys):
    written = _write_cifar(tmp_path / "cifar-10-batches-py", protocol, bytes_keys)
    parent = DataRequest(path=str(tmp_path), resolution=None)  # the parent folder is accepted too
    train = build_dataset("cifar10", parent)
    expected = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    assert torch.equal(train.x, torch.from_numpy(expected))
    assert train.y.tolist() == sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    assert train.class_names[0] == "airplane" and train.num_classes == 10
    test = build_dataset("cifar10", DataRequest(path=str(tmp_path / "cifar-10-batches-py"), resolution=None),
                         {"split": "test"})
    assert torch.equal(test.x, torch.from_numpy(written["test_batch"][0].reshape(-1, 3, 32, 32)))
    both = build_dataset("cifar10", parent, {"split": "all"})
    assert len(both) == 12 and torch.equal(both.x[-2:], test.x)
    grey = build_dataset("cifar10", DataRequest(path=str(tmp_path), channels=1, resolution=16), {"split": "test"})
    assert grey.shape == (1, 16, 16)


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import os

        return (os.makedirs, (self.target,))


def test_cifar10_refuses_code_in_pickles(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder, protocol=2, bytes_keys=True)
    target = tmp_path / "pwned"
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": _Exploit(str(target))}, f,
                    protocol=2)
    with pytest.raises(ConfigError, match="refusing to load (posix|os|nt).makedirs"):
        build_dataset("cifar10", DataRequest(path=str(folder)), {"split": "test"})
    assert not target.exists()


def test_cifar10_errors(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder, protocol=2, bytes_keys=True)
    (folder / "data_batch_3").unlink()
    with pytest.raises(ConfigError, match="needs data_batch_3"):
        build_dataset("cifar10", DataRequest(path=str(folder)))
    with pytest.raises(ConfigError, match="holds no batches.meta"):
        build_dataset("cifar10", DataRequest(path=str(tmp_path / "cifar-10-batches-py" / ".." / "..")))
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    with pytest.raises(ConfigError, match=r"'data' must be a uint8 array \[N, 3072\]"):
        build_dataset("cifar10", DataRequest(path=str(folder)), {"split": "test"})


# ---------------------------------------------------------------- npz


def test_npz_layouts_agree(tmp_path):
    x = _images(4, 3, 6, 6, seed=1)
    y = np.array([0, 2, 1, 2])
    np.savez(tmp_path / "first.npz", x=x, y=y)
    np.savez(tmp_path / "last.npz", x=x.transpose(0, 2, 3, 1), y=y, class_names=np.array(["a", "b", "c"]))
    first = build_dataset("npz", DataRequest(path=str(tmp_path / "first.npz"), resolution=None))
    last = build_dataset("npz", DataRequest(path=str(tmp_path / "last.npz"), resolution=None))
    assert torch.equal(first.x, torch.from_numpy(x)) and torch.equal(last.x, first.x)
    assert first.y.tolist() == y.tolist() and first.class_names == ["0", "1", "2"]
    assert last.class_names == ["a", "b", "c"] and last.num_classes == 3
    resized = build_dataset("npz", DataRequest(path=str(tmp_path / "first.npz"), resolution=4))
    assert torch.equal(resized.x, to_resolution(first.x, 4))


def test_npz_float_ranges(tmp_path):
    levels = np.arange(256, dtype=np.float64).reshape(1, 1, 16, 16)
    np.savez(tmp_path / "unit.npz", x=(levels / 255).astype(np.float32))
    np.savez(tmp_path / "signed.npz", x=levels / 127.5 - 1)
    expected = torch.from_numpy(levels.astype(np.uint8))
    for name in ("unit", "signed"):
        ds = build_dataset("npz", DataRequest(path=str(tmp_path / f"{name}.npz"), resolution=None))
        assert torch.equal(ds.x, expected), name
        assert ds.y is None and ds.num_classes == 0
    np.savez(tmp_path / "wide.npz", x=levels)
    with pytest.raises(ConfigError, match=r"found \[0, 255\]"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "wide.npz")))
    # [-1, 1] data that happens to have no negative value: auto reads it as [0, 1], the option fixes that.
    upper = np.arange(128, 256, dtype=np.float64).reshape(1, 1, 8, 16)
    np.savez(tmp_path / "upper.npz", x=upper / 127.5 - 1)
    forced = build_dataset("npz", DataRequest(path=str(tmp_path / "upper.npz"), resolution=None),
                           {"float_range": "-1,1"})
    assert torch.equal(forced.x, torch.from_numpy(upper.astype(np.uint8)))


def test_npz_grey_rgba_and_vectors(tmp_path):
    grey = _images(3, 1, 5, 5, seed=2)[:, 0]
    np.savez(tmp_path / "grey.npz", x=grey)
    ds = build_dataset("npz", DataRequest(path=str(tmp_path / "grey.npz"), resolution=None))
    assert torch.equal(ds.x[:, 0], torch.from_numpy(grey))
    rgba = _images(2, 4, 5, 5, seed=3)
    np.savez(tmp_path / "rgba.npz", x=rgba.transpose(0, 2, 3, 1))
    ds = build_dataset("npz", DataRequest(path=str(tmp_path / "rgba.npz"), resolution=None))
    assert torch.equal(ds.x, composite_on_white(torch.from_numpy(rgba)))
    vectors = np.random.default_rng(4).normal(size=(10, 3))
    np.savez(tmp_path / "vec.npz", x=vectors, y=np.arange(10) % 2)
    ds = build_dataset("npz", DataRequest(path=str(tmp_path / "vec.npz")))
    assert ds.x.dtype == torch.float32 and ds.shape == (3,) and not ds.is_image
    torch.testing.assert_close(ds.x, torch.from_numpy(vectors).float(), rtol=0, atol=0)
    assert ds.num_classes == 2


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "int_vec.npz", x=np.zeros((4, 3), np.int64))
    with pytest.raises(ConfigError, match="must be float"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "int_vec.npz")))
    np.savez(tmp_path / "nox.npz", images=np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ConfigError, match="no array 'x' .found: images"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "nox.npz")))
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ConfigError, match="plain numeric arrays"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "obj.npz")))
    np.savez(tmp_path / "axis.npz", x=np.zeros((2, 5, 6, 7), np.uint8))
    with pytest.raises(ConfigError, match="channel axis"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "axis.npz")))
    np.savez(tmp_path / "big.npz", x=np.full((1, 1, 2, 2), 300, np.int32))
    with pytest.raises(ConfigError, match="0..255, found 300..300"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "big.npz")))
    np.savez(tmp_path / "labels.npz", x=np.zeros((3, 1, 2, 2), np.uint8), y=np.zeros(2, np.int64))
    with pytest.raises(ConfigError, match="y has 2 labels for 3 samples"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "labels.npz")))
    with pytest.raises(ConfigError, match="float_range"):
        build_dataset("npz", DataRequest(path=str(tmp_path / "labels.npz")), {"float_range": "0-1"})
    with pytest.raises(ConfigError, match="is a folder"):
        build_dataset("npz", DataRequest(path=str(tmp_path)))


# ---------------------------------------------------------------- ring / grid


def test_mode_centres():
    ring = ring_modes()
    assert ring.shape == (8, 2) and ring.dtype == torch.float32
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    torch.testing.assert_close(ring.double(), torch.stack([angles.cos(), angles.sin()], 1), atol=1e-7, rtol=0)
    grid = grid_modes()
    assert grid.shape == (25, 2)
    assert sorted(map(tuple, grid.tolist())) == [(a, b) for a in (-4., -2., 0., 2., 4.) for b in (-4., -2., 0., 2., 4.)]
    centres, std = modes_of("ring")
    assert torch.equal(centres, ring) and std == RING_STD == 0.01
    centres, std = modes_of("grid")
    assert torch.equal(centres, grid) and std == GRID_STD == 0.05
    assert modes_of("mnist5k") == (None, None)


@pytest.mark.parametrize("source,centres,std", [("ring", ring_modes(), RING_STD), ("grid", grid_modes(), GRID_STD)])
def test_mixture_statistics(source, centres, std):
    n = 20_000
    ds = build_dataset(source, DataRequest(seed=3), {"n": n})
    k = len(centres)
    assert ds.x.shape == (n, 2) and ds.x.dtype == torch.float32 and ds.num_classes == k
    counts = ds.y.bincount(minlength=k)
    # Multinomial counts: each within 5 binomial standard deviations of n/k.
    p = 1 / k
    torch.testing.assert_close(counts.double(), torch.full((k,), n * p, dtype=torch.float64),
                               atol=5 * math.sqrt(n * p * (1 - p)), rtol=0)
    for mode in range(k):
        pts = ds.x[ds.y == mode].double()
        # Sample mean: standard error std / sqrt(count); sample std: standard error ~ std / sqrt(2 count).
        torch.testing.assert_close(pts.mean(0), centres[mode].double(), atol=5 * std / math.sqrt(len(pts)), rtol=0)
        torch.testing.assert_close(pts.std(0), torch.full((2,), std, dtype=torch.float64),
                                   atol=5 * std / math.sqrt(2 * len(pts)), rtol=0)


def test_mixture_reproducible_and_options():
    a = build_dataset("ring", DataRequest(seed=1), {"n": 50})
    b = build_dataset("ring", DataRequest(seed=1), {"n": 50})
    c = build_dataset("ring", DataRequest(seed=2), {"n": 50})
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    wide = build_dataset("grid", DataRequest(seed=0), {"n": 4000, "std": 0.5})
    assert wide.info["std"] == 0.5
    torch.testing.assert_close((wide.x - grid_modes()[wide.y]).std().item(), 0.5, atol=5 * 0.5 / math.sqrt(4000),
                               rtol=0)
    with pytest.raises(ConfigError, match="data.args.n must be > 0"):
        build_dataset("ring", DataRequest(), {"n": 0})
    with pytest.raises(ConfigError, match="data.args.std must be > 0"):
        build_dataset("grid", DataRequest(), {"std": -1.0})
    with pytest.raises(ConfigError, match="unknown setting data.args.sigma"):
        build_dataset("ring", DataRequest(), {"sigma": 0.1})
