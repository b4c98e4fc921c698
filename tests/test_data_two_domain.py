"""Two-domain sources: unpaired (CycleGAN), paired (pix2pix) and the synthetic mnist-pairs tasks."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from gankit.data import DataRequest, build_dataset
from gankit.data.batches import Batches
from gankit.data.sources.mnist5k import load_mnist5k, mnist5k_file
from gankit.data.sources.mnist_pairs import inverse_mapping, split_indices, true_mapping
from gankit.data.transforms import to_resolution
from gankit.registry import ConfigError


@pytest.fixture(autouse=True)
def cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def digits():
    images, labels = load_mnist5k(mnist5k_file())
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(array)).save(path)


def _uint8(batch: torch.Tensor) -> torch.Tensor:
    """A [-1, 1] batch back to uint8 (exact for images that came from uint8)."""
    return ((batch + 1) * 127.5).round().to(torch.uint8)


def _scipy_dilate(x: torch.Tensor) -> torch.Tensor:
    # mode="nearest" repeats the border pixel, which a 3 x 3 max/min already sees: the window is clipped.
    return torch.from_numpy(ndimage.grey_dilation(x.numpy(), size=(1, 1, 3, 3), mode="nearest"))


def _scipy_erode(x: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(ndimage.grey_erosion(x.numpy(), size=(1, 1, 3, 3), mode="nearest"))


# ---------------------------------------------------------------- mnist-pairs


def test_mnist_pairs_thicken_invert_paired_rows_follow_the_true_mapping(digits):
    images, labels = digits
    ds = build_dataset("mnist-pairs", DataRequest(), {"task": "thicken_invert", "paired": True})
    rows = split_indices("train", 500)
    assert len(ds) == 4500 and ds.shape == (1, 32, 32) and ds.info["target_shape"] == (1, 32, 32)
    assert torch.equal(ds.x, to_resolution(images[rows], 32))  # A is the padded digit
    assert torch.equal(ds.fields["target"], 255 - _scipy_dilate(ds.x))  # B = 255 - dilate(A), an independent filter
    assert torch.equal(true_mapping("thicken_invert", ds.x), ds.fields["target"])
    assert ds.num_classes == 10 and torch.equal(ds.y, labels[rows])
    assert ds.fields["target"][:, :, 0, 0].eq(255).all()  # white background, no black padding frame
    batch = Batches(ds, 16, "cpu", seed=0).next()
    assert sorted(batch) == ["target", "x", "y"] and batch["x"].shape == batch["target"].shape == (16, 1, 32, 32)
    assert batch["x"].min() >= -1 and batch["x"].max() <= 1 and batch["target"].min() == -1
    assert torch.equal(_uint8(batch["target"]), true_mapping("thicken_invert", _uint8(batch["x"])))


def test_mnist_pairs_edges_holdout_is_paired_and_never_in_training(digits):
    images, labels = digits
    ds = build_dataset("mnist-pairs", DataRequest(resolution=16, channels=3), {"task": "edges", "split": "holdout"})
    rows = split_indices("holdout", 500)
    want_digits = to_resolution(images[rows], 16).expand(-1, 3, -1, -1)
    assert ds.shape == (3, 16, 16) and len(ds) == 500
    assert torch.equal(ds.fields["target"], want_digits)  # B is the digit
    assert torch.equal(ds.x, _scipy_dilate(want_digits) - _scipy_erode(want_digits))  # A = morphological gradient
    assert torch.equal(inverse_mapping("edges", ds.fields["target"]), ds.x)
    assert torch.equal(ds.y, labels[rows]) and sorted(ds.y.unique().tolist()) == list(range(10))
    train = set(split_indices("train", 500).tolist())
    assert not train & set(rows.tolist()) and len(train | set(rows.tolist())) == 5000
    # The holdout is the tail of one fixed order: a larger holdout contains the smaller one.
    assert set(rows.tolist()) <= set(split_indices("holdout", 800).tolist())


def test_mnist_pairs_unpaired_domains_come_from_disjoint_digits(digits):
    images, _ = digits
    ds = build_dataset("mnist-pairs", DataRequest(resolution=None), {"task": "thicken_invert", "holdout": 1000})
    a, b = ds.domains["a"], ds.domains["b"]
    assert ds.x is None and ds.shape == (1, 28, 28) and len(a) == len(b) == 2000 and len(ds) == 2000
    rows_a, rows_b = a.info["rows"], b.info["rows"]
    assert not set(rows_a.tolist()) & set(rows_b.tolist())  # no digit appears in both domains
    assert set(rows_a.tolist()) | set(rows_b.tolist()) == set(split_indices("train", 1000).tolist())
    assert torch.equal(a.x, images[rows_a])
    assert torch.equal(b.x, true_mapping("thicken_invert", images[rows_b]))
    # No image of domain b is the true translation of an image of domain a.
    translated = {t.numpy().tobytes() for t in true_mapping("thicken_invert", a.x)}
    assert not translated & {t.numpy().tobytes() for t in b.x}
    batches = Batches(ds, 8, "cpu", seed=1)
    batch = batches.next()
    assert sorted(batch) == ["a", "b"] and batch["a"].shape == batch["b"].shape == (8, 1, 28, 28)
    assert batch["a"][:, :, 0, 0].eq(-1).all() and batch["b"][:, :, 0, 0].eq(1).all()  # black vs white background


def test_mnist_pairs_limit_keeps_pairs_aligned():
    ds = build_dataset("mnist-pairs", DataRequest(resolution=16), {"paired": True}, limit=7)
    assert len(ds) == 7 and torch.equal(ds.fields["target"], true_mapping("thicken_invert", ds.x))
    two = build_dataset("mnist-pairs", DataRequest(resolution=16), {}, limit=5)
    assert len(two.domains["a"]) == len(two.domains["b"]) == 5


@pytest.mark.parametrize("args, match", [
    ({"task": "blur"}, r"data\.args\.task must be one of thicken_invert, edges, got 'blur'"),
    ({"split": "test"}, r"data\.args\.split must be one of train, holdout"),
    ({"holdout": 0}, r"data\.args\.holdout must be a whole number of digits in 1\.\.4998"),
    ({"holdout": 4999}, r"data\.args\.holdout must be .* got 4999"),
    ({"pairs": True}, r"data\.args\.pairs\. Did you mean 'paired'"),
])
def test_mnist_pairs_errors(args, match):
    with pytest.raises(ConfigError, match=match):
        build_dataset("mnist-pairs", DataRequest(), args)


def test_mnist_pairs_mappings_that_do_not_exist_say_so():
    x = torch.zeros(1, 1, 4, 4, dtype=torch.uint8)
    with pytest.raises(ValueError, match="'edges' has no closed-form A -> B.*holdout split's targets"):
        true_mapping("edges", x)
    with pytest.raises(ValueError, match="'thicken_invert' has no closed-form B -> A"):
        inverse_mapping("thicken_invert", x)
    with pytest.raises(ConfigError, match="data.args.task must be one of"):
        true_mapping("thicken", x)


# ---------------------------------------------------------------- unpaired


RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (3, 8, 8), dtype=np.uint8)
RGB = RNG.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)


@pytest.fixture
def cyclegan_root(tmp_path):
    root = tmp_path / "horse2zebra"
    for i, img in enumerate(GREY):
        _save(root / "trainA" / f"a{i}.png", img)
    for i, img in enumerate(RGB):
        _save(root / "trainB" / f"b{i}.png", img)
    (root / "testA").mkdir()
    return root


def test_unpaired_folders_read_each_domain_as_an_image_folder(cyclegan_root):
    ds = build_dataset("unpaired", DataRequest(path=str(cyclegan_root), resolution=8, channels=3))
    a, b = ds.domains["a"], ds.domains["b"]
    assert ds.x is None and ds.shape == (3, 8, 8) and len(ds) == 5
    assert torch.equal(a.x, torch.from_numpy(GREY)[:, None].expand(-1, 3, -1, -1))  # grey replicated
    assert torch.equal(b.x, torch.from_numpy(RGB).permute(0, 3, 1, 2))
    assert ds.info["a"]["samples"] == 3 and ds.info["b"]["samples"] == 5 and ds.info["b"]["source"] == "image-folder"
    assert ds.info["a"]["path"] == str(cyclegan_root / "trainA") and not ds.info["a"]["streamed"]
    batch = Batches(ds, 2, "cpu", seed=0).next()
    assert sorted(batch) == ["a", "b"] and batch["a"].shape == batch["b"].shape == (2, 3, 8, 8)
    assert batch["a"].min() >= -1 and batch["a"].max() <= 1
    assert torch.equal(batch["a"][:, 0], batch["a"][:, 2])  # domain a rows are the grey images
    assert not torch.equal(batch["b"][:, 0], batch["b"][:, 2])


def test_unpaired_named_folders_and_streamed_domains(tmp_path):
    root = tmp_path / "cifar"
    for i, img in enumerate(RGB[:3]):
        _save(root / "train" / "horse" / f"{i:04d}.png", img)
    for i, img in enumerate(RGB[3:]):
        _save(root / "train" / "deer" / f"{i:04d}.png", img)
    req = DataRequest(path=str(root), resolution=8, in_memory=False, num_workers=0)
    ds = build_dataset("unpaired", req, {"a_dir": "train/horse", "b_dir": "train/deer"})
    assert ds.info["a"]["streamed"] and ds.domains["a"].stream is not None and len(ds.domains["b"]) == 2
    batches = Batches(ds, 2, "cpu", seed=0, num_workers=0)
    horses, deer = ({t.tobytes() for t in images} for images in (RGB[:3], RGB[3:]))
    for _ in range(3):
        batch = batches.next()
        assert batch["a"].shape == (2, 3, 8, 8) and batch["b"].shape == (2, 3, 8, 8)
        a, b = ({t.numpy().tobytes() for t in _uint8(batch[k]).permute(0, 2, 3, 1)} for k in "ab")
        assert len(a) == 2 and a <= horses and b == deer  # two distinct horses; both deer in every batch


def test_unpaired_domains_from_two_configured_sources(tmp_path):
    npz = tmp_path / "a.npz"
    x = RNG.integers(0, 256, (6, 1, 32, 32), dtype=np.uint8)
    np.savez(npz, x=x)
    args = {"a": {"source": "npz", "path": str(npz)}, "b": {"source": "mnist-pairs", "args": {"paired": True}}}
    ds = build_dataset("unpaired", DataRequest(resolution=32), args)
    assert torch.equal(ds.domains["a"].x, torch.from_numpy(x)) and len(ds.domains["b"]) == 4500
    assert ds.shape == (1, 32, 32) and ds.info["b"]["source"] == "mnist-pairs" and len(ds) == 4500
    limited = build_dataset("unpaired", DataRequest(resolution=32), args, limit=4)
    assert len(limited.domains["a"]) == len(limited.domains["b"]) == 4


def test_unpaired_folder_errors(cyclegan_root, tmp_path):
    req = DataRequest(path=str(cyclegan_root), resolution=8)
    with pytest.raises(ConfigError, match=r"domain B folder .*trainC does not exist \(data\.args\.b_dir=trainC.*"
                                          r"folders there: testA, trainA, trainB\)\. Did you mean 'train[AB]'\? "
                                          r"Point data\.args\.b_dir at"):
        build_dataset("unpaired", req, {"b_dir": "trainC"})
    with pytest.raises(ConfigError, match=r"domain A folder .*testA \(data\.args\.a_dir=testA\) holds no images.*"
                                          r"point data\.args\.a_dir at another folder"):
        build_dataset("unpaired", req, {"a_dir": "testA"})
    with pytest.raises(ConfigError, match=r"domain A \(image-folder at .*trainA\) has samples of shape \(1, 8, 8\) "
                                          r"but domain B .* \(3, 8, 8\): the channel counts differ; set "
                                          r"data\.channels=3"):
        build_dataset("unpaired", req)
    _save(cyclegan_root / "small" / "s.png", GREY[0, :4, :4])
    with pytest.raises(ConfigError, match=r"the image sizes differ; set data\.resolution"):
        build_dataset("unpaired", DataRequest(path=str(cyclegan_root), resolution=None), {"b_dir": "small"})
    with pytest.raises(ConfigError, match=r"data source 'unpaired' reads a folder holding the domain folders "
                                          r"trainA/ and trainB/: set data\.path"):
        build_dataset("unpaired", DataRequest())


@pytest.mark.parametrize("args, match", [
    ({"a": {"source": "mnist5k"}}, r"data\.args\.a is set but data\.args\.b is not"),
    ({"a": {"source": "mnist5k"}, "b": {"sorce": "mnist5k"}},
     r"unknown setting data\.args\.b\.sorce\. Did you mean 'source'"),
    ({"a": {"source": "mnist5k"}, "b": {"path": "x"}}, r"data\.args\.b\.source is missing"),
    ({"a": {"source": "mnist5k"}, "b": "mnist5k"}, r"data\.args\.b must be a mapping"),
    ({"a": {"source": "mnist5k"}, "b": {"source": "unpaired"}}, r"data\.args\.b\.source cannot be 'unpaired'"),
    ({"a": {"source": "mnist5k"}, "b": {"source": "mnist-pairs"}}, r"data\.args\.b\.source 'mnist-pairs' gives two "
                                                                    r"domains itself"),
    ({"a": {"source": "mnist5k"}, "b": {"source": "ring", "args": {"n": 10}}},
     r"domain A \(mnist5k\) has samples of shape \(1, 32, 32\) but domain B \(ring\) has \(2,\); both domains must "
     r"be images of one shape"),
])
def test_unpaired_source_errors(args, match):
    with pytest.raises(ConfigError, match=match):
        build_dataset("unpaired", DataRequest(), args)


# ---------------------------------------------------------------- paired


EDGES = RNG.integers(0, 256, (4, 8, 8), dtype=np.uint8)
PHOTOS = RNG.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)


@pytest.fixture
def pix2pix_root(tmp_path):
    """A/000k.png (grey) paired with B/000k.bmp (RGB): names match without the extension."""
    root = tmp_path / "edges2photos"
    for i in range(4):
        _save(root / "A" / f"{i:04d}.png", EDGES[i])
        _save(root / "B" / f"{i:04d}.bmp", PHOTOS[i])
    return root


def test_paired_folders_match_by_name_and_keep_their_channels(pix2pix_root):
    ds = build_dataset("paired", DataRequest(path=str(pix2pix_root), resolution=8))
    assert ds.shape == (1, 8, 8) and ds.info["target_shape"] == (3, 8, 8) and ds.y is None
    assert torch.equal(ds.x, torch.from_numpy(EDGES)[:, None])
    assert torch.equal(ds.fields["target"], torch.from_numpy(PHOTOS).permute(0, 3, 1, 2))
    batch = Batches(ds, 3, "cpu", seed=0).next()
    assert batch["x"].shape == (3, 1, 8, 8) and batch["target"].shape == (3, 3, 8, 8)
    for xi, ti in zip(_uint8(batch["x"]), _uint8(batch["target"])):  # each row's target is its own partner
        k = next(i for i in range(4) if np.array_equal(xi[0].numpy(), EDGES[i]))
        assert np.array_equal(ti.permute(1, 2, 0).numpy(), PHOTOS[k])
    swapped = build_dataset("paired", DataRequest(path=str(pix2pix_root), resolution=8), {"direction": "BtoA"})
    assert torch.equal(swapped.x, ds.fields["target"]) and torch.equal(swapped.fields["target"], ds.x)
    assert swapped.shape == (3, 8, 8) and swapped.info["target_shape"] == (1, 8, 8)


def test_paired_folders_drop_the_partner_of_an_unreadable_file(pix2pix_root):
    (pix2pix_root / "B" / "0002.bmp").write_bytes(b"not a bitmap")
    with pytest.warns(UserWarning, match=r"paired: dropped 1 pair\(s\) of 4"):
        ds = build_dataset("paired", DataRequest(path=str(pix2pix_root), resolution=8))
    keep = [0, 1, 3]
    assert torch.equal(ds.x, torch.from_numpy(EDGES[keep])[:, None])
    assert torch.equal(ds.fields["target"], torch.from_numpy(PHOTOS[keep]).permute(0, 3, 1, 2))
    assert ds.info["dropped_pairs"] == 1 and Path(ds.info["skipped"][0][0]).name == "0002.bmp"


def test_paired_side_by_side_images_split_into_halves(tmp_path):
    root = tmp_path / "facades"
    for i in range(3):
        _save(root / f"{i}.png", np.concatenate([PHOTOS[i], PHOTOS[i + 1]], axis=1))  # 8 x 16: A | B
    ds = build_dataset("paired", DataRequest(path=str(root), resolution=None), {"side_by_side": True})
    assert ds.shape == ds.info["target_shape"] == (3, 8, 8)
    assert torch.equal(ds.x, torch.from_numpy(PHOTOS[:3]).permute(0, 3, 1, 2))
    assert torch.equal(ds.fields["target"], torch.from_numpy(PHOTOS[1:4]).permute(0, 3, 1, 2))
    small = build_dataset("paired", DataRequest(path=str(root), resolution=4), {"side_by_side": True})
    assert small.shape == (3, 4, 4) and torch.equal(small.fields["target"], to_resolution(ds.fields["target"], 4))


def test_paired_npz_layouts_ranges_and_labels(tmp_path):
    path = tmp_path / "pairs.npz"
    target = RNG.random((4, 1, 8, 8)).astype(np.float32)  # float [0, 1], channels first
    np.savez(path, x=PHOTOS, target=target, y=np.array([0, 2, 1, 2]))  # x uint8 channels last
    ds = build_dataset("paired", DataRequest(path=str(path), resolution=None))
    assert ds.shape == (3, 8, 8) and ds.info["target_shape"] == (1, 8, 8)
    assert torch.equal(ds.x, torch.from_numpy(PHOTOS).permute(0, 3, 1, 2))
    assert torch.equal(ds.fields["target"], torch.from_numpy(np.rint(target * 255).astype(np.uint8)))
    assert ds.y.tolist() == [0, 2, 1, 2] and ds.num_classes == 3
    big = build_dataset("paired", DataRequest(path=str(path), resolution=16, channels=3))
    assert big.shape == big.info["target_shape"] == (3, 16, 16)
    batch = Batches(big, 4, "cpu", seed=0).next()
    assert sorted(batch) == ["target", "x", "y"] and batch["target"].shape == (4, 3, 16, 16)


def test_paired_folder_errors(pix2pix_root):
    req = DataRequest(path=str(pix2pix_root), resolution=8)
    with pytest.raises(ConfigError, match=r"the target folder .*photos \(data\.args\.b_dir=photos under data\.path="
                                          r".*\) does not exist \(folders there: A, B\); point data\.args\.b_dir at "
                                          r"it, or set data\.args\.side_by_side=true"):
        build_dataset("paired", req, {"b_dir": "photos"})
    (pix2pix_root / "C").mkdir()
    with pytest.raises(ConfigError, match=r"the input folder .*C \(data\.args\.a_dir=C\) holds no images"):
        build_dataset("paired", req, {"a_dir": "C"})
    (pix2pix_root / "B" / "0001.bmp").unlink()
    (pix2pix_root / "B" / "0003.bmp").unlink()
    _save(pix2pix_root / "B" / "extra.png", EDGES[0])
    with pytest.raises(ConfigError, match=r"2 image\(s\) in .*A have no partner in .*B \(e\.g\. 0001\.png, "
                                          r"0003\.png\); 1 image\(s\) in .*B have no partner in .*A \(e\.g\. "
                                          r"extra\.png\)\. Pairs are matched by file name without the extension"):
        build_dataset("paired", req)
    _save(pix2pix_root / "A" / "0000.jpg", EDGES[0])
    with pytest.raises(ConfigError, match=r"A holds both 0000\.jpg and 0000\.png: pairs are matched by file name "
                                          r"without the extension, so keep one"):
        build_dataset("paired", req)


def test_paired_size_memory_and_layout_errors(pix2pix_root, tmp_path):
    with pytest.raises(ConfigError, match=r"the 4 pairs in .* need about 0\.00146 MiB, more than "
                                          r"data\.max_memory_mb=0.*raise data\.max_memory_mb, lower data\.resolution"):
        build_dataset("paired", DataRequest(path=str(pix2pix_root), resolution=8, max_memory_mb=0))
    with pytest.raises(ConfigError, match=r"'paired' holds its pairs in memory.*set data\.in_memory to null or true"):
        build_dataset("paired", DataRequest(path=str(pix2pix_root), in_memory=False))
    for i in range(4):
        _save(pix2pix_root / "B" / f"{i:04d}.bmp", PHOTOS[i, :4, :4])
    with pytest.raises(ConfigError, match=r"the images in .*A are 8x8 but those in .*B are 4x4; input and target "
                                          r"must have the same size \(set data\.resolution to resize both\)"):
        build_dataset("paired", DataRequest(path=str(pix2pix_root), resolution=None))
    odd = tmp_path / "odd"
    _save(odd / "0.png", PHOTOS[0, :, :7])
    with pytest.raises(ConfigError, match=r"7 pixels wide, an odd number.*crop them to an even width"):
        build_dataset("paired", DataRequest(path=str(odd)), {"side_by_side": True})
    _save(odd / "1.png", PHOTOS[0, :6, :6])
    with pytest.raises(ConfigError, match=r"the side-by-side images in .*odd differ in size \(0\.png is 8x7, 1\.png "
                                          r"is 6x6\.\.\.\); every A\|B image must have the same size"):
        build_dataset("paired", DataRequest(path=str(odd)), {"side_by_side": True})
    with pytest.raises(ConfigError, match=r"data\.args\.direction must be one of AtoB, BtoA, got 'AB'"):
        build_dataset("paired", DataRequest(path=str(pix2pix_root)), {"direction": "AB"})


def test_paired_npz_errors(tmp_path):
    path = tmp_path / "p.npz"
    x = np.zeros((3, 1, 8, 8), np.uint8)

    def load(resolution=None, **arrays):
        np.savez(path, **arrays)
        return build_dataset("paired", DataRequest(path=str(path), resolution=resolution))

    with pytest.raises(ConfigError, match=r"p\.npz has no array 'target' \(found: x\); save the pairs as "
                                          r"np\.savez\(path, x=inputs, target=targets\)"):
        load(x=x)
    with pytest.raises(ConfigError, match=r"p\.npz: x has 3 samples but target has 2; row i of target must be the "
                                          r"partner of row i of x"):
        load(x=x, target=x[:2])
    with pytest.raises(ConfigError, match=r"p\.npz: array 'x' must be images .* with N > 0, got shape \(0, 1, 8, 8\)"):
        load(x=x[:0], target=x[:0])
    with pytest.raises(ConfigError, match=r"p\.npz: array 'target': integer images must be 0\.\.255, found 0\.\.300"):
        load(x=x, target=np.pad(np.full((1, 1, 1), 300, np.int32), ((0, 2), (0, 7), (0, 7))))
    with pytest.raises(ConfigError, match=r"p\.npz: array 'target' holds NaN"):
        load(x=x, target=np.full((3, 8, 8), np.nan, np.float32))
    with pytest.raises(ConfigError, match=r"p\.npz: x are 8x8 but target are 4x4; .*set data\.resolution"):
        load(x=x, target=x[:, :, :4, :4])
    with pytest.raises(ConfigError, match=r"p\.npz: x are 8x8 but target are 4x8; input and target must have the same "
                                          r"size \(resize them to one aspect ratio first: the centre crops would not "
                                          r"line up\)"):
        load(resolution=8, x=x, target=x[:, :, :4])
    with pytest.raises(ConfigError, match=r"p\.npz: y has 2 labels for 3 pairs"):
        load(x=x, target=x, y=np.array([0, 1]))
    with pytest.raises(ConfigError, match=r"data\.path=.*missing\.npz does not exist; data source 'paired' needs an "
                                          r"\.npz file with arrays 'x' and 'target'"):
        build_dataset("paired", DataRequest(path=str(tmp_path / "missing.npz")))


def test_paired_folders_with_colliding_cache_keys_do_not_share_a_cache(tmp_path):
    # Same names, sizes (BMPs of one size) and mtimes, as when A/ and B/ are unpacked from one archive.
    root = tmp_path / "pairs"
    for i in range(2):
        _save(root / "A" / f"{i}.bmp", PHOTOS[i])
        _save(root / "B" / f"{i}.bmp", PHOTOS[i + 2])
    for path in sorted(root.rglob("*.bmp")):
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    for _ in range(2):  # the second run would find the first run's cache
        ds = build_dataset("paired", DataRequest(path=str(root), resolution=8))
        assert torch.equal(ds.x, torch.from_numpy(PHOTOS[:2]).permute(0, 3, 1, 2))
        assert torch.equal(ds.fields["target"], torch.from_numpy(PHOTOS[2:4]).permute(0, 3, 1, 2))
    unpaired = build_dataset("unpaired", DataRequest(path=str(root), resolution=8), {"a_dir": "A", "b_dir": "B"})
    assert torch.equal(unpaired.domains["b"].x, ds.fields["target"])
