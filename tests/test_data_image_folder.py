"""The image-folder source: layout, pixel policy, unreadable files, caching, streaming."""

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import DataRequest, build_dataset
from gankit.data.sources import image_folder as image_folder_module
from gankit.data.transforms import to_resolution
from gankit.registry import ConfigError

from badfiles import make_unreadable, png_bytes, png_with_library_warning

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)
GREY = RNG.integers(0, 256, (8, 8), dtype=np.uint8)
DEEP = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1040).astype(np.uint16)  # 16-bit grey, 0..65520
RGBA = np.concatenate([RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8),
                       np.tile(np.array([0, 128, 255, 37], np.uint8), (8, 2))[:, :, None]], axis=2)


def _save(path: Path, image: Image.Image, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("GANKIT_CACHE", str(root))
    return root


@pytest.fixture
def folder(tmp_path):
    """Two classes; sorted order: a/grey.png a/rgb.PNG a/sub/deep.png b/broken.jpg b/photo.jpg b/rgba.png."""
    root = tmp_path / "images"
    _save(root / "a" / "rgb.PNG", Image.fromarray(RGB, "RGB"))
    _save(root / "a" / "grey.png", Image.fromarray(GREY, "L"))
    _save(root / "a" / "sub" / "deep.png", Image.fromarray(DEEP))
    _save(root / "b" / "rgba.png", Image.fromarray(RGBA, "RGBA"))
    _save(root / "b" / "photo.jpg", Image.fromarray(RGB[::-1].copy(), "RGB"), quality=90)
    (root / "b" / "broken.jpg").write_bytes(b"this is not a JPEG")
    (root / "b" / "notes.txt").write_text("ignored: not an image extension")
    _save(root / ".hidden" / "x.png", Image.fromarray(GREY, "L"))  # hidden folders are ignored
    return root


def _expected_rgb(root: Path) -> list:
    """The five readable images as uint8 [8, 8, 3], by the documented policy."""
    deep8 = ((DEEP.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)  # round(v * 255 / 65535)
    colour, alpha = RGBA[:, :, :3].astype(np.int64), RGBA[:, :, 3:].astype(np.int64)
    on_white = ((colour * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    photo = np.asarray(Image.open(root / "b" / "photo.jpg").convert("RGB"))
    grey3 = np.repeat(GREY[:, :, None], 3, axis=2)
    return [grey3, RGB, np.repeat(deep8[:, :, None], 3, axis=2), photo, on_white]


def _chw(images: list) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def test_layout_pixels_and_skipped(folder, cache_root):
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        ds = build_dataset("image-folder", DataRequest(path=str(folder), resolution=None))
    assert ds.class_names == ["a", "b"] and ds.num_classes == 2
    assert ds.y.tolist() == [0, 0, 0, 1, 1]
    assert ds.info["files"] == 6
    assert [(Path(p).name, reason.split(":")[0]) for p, reason in ds.info["skipped"]] == \
        [("broken.jpg", "UnidentifiedImageError")]
    assert ds.shape == (3, 8, 8)  # colour images present -> 3 channels, grey replicated
    assert torch.equal(ds.x, _chw(_expected_rgb(folder)))


def test_grey_target_uses_pil_luma(folder, cache_root):
    with pytest.warns(UserWarning):
        ds = build_dataset("image-folder", DataRequest(path=str(folder), resolution=None, channels=1))
    white = Image.new("RGBA", (8, 8), (255, 255, 255, 255))
    rgba_on_white = Image.alpha_composite(white, Image.fromarray(RGBA, "RGBA"))
    assert ds.shape == (1, 8, 8)
    assert torch.equal(ds.x[0, 0], torch.from_numpy(GREY))
    assert torch.equal(ds.x[1, 0], torch.from_numpy(np.asarray(Image.fromarray(RGB).convert("L")).copy()))
    assert torch.equal(ds.x[4, 0], torch.from_numpy(np.asarray(rgba_on_white.convert("L")).copy()))


def test_resize_matches_tensor_policy(folder, cache_root):
    with pytest.warns(UserWarning):
        native = build_dataset("image-folder", DataRequest(path=str(folder), resolution=None))
        small = build_dataset("image-folder", DataRequest(path=str(folder), resolution=5))
    assert small.shape == (3, 5, 5)
    # PIL (image-folder) and torch (other sources) apply the same policy to within one grey level.
    torch.testing.assert_close(small.x.int(), to_resolution(native.x, 5).int(), atol=1, rtol=0)


def test_strict_raises_naming_file_and_setting(folder, cache_root):
    with pytest.raises(ConfigError, match=r"broken\.jpg.*data\.strict"):
        build_dataset("image-folder", DataRequest(path=str(folder), resolution=None, strict=True))


def test_cache_round_trip(folder, cache_root):
    req = DataRequest(path=str(folder), resolution=None)
    with pytest.warns(UserWarning):
        first = build_dataset("image-folder", req)
    assert first.info["cached"] is False and Path(first.info["cache_file"]).parent == cache_root / "image-folder"
    assert Path(first.info["cache_file"]).is_file()
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):  # a cached skip is still reported
        second = build_dataset("image-folder", req)
    assert second.info["cached"] is True
    assert torch.equal(second.x, first.x) and torch.equal(second.y, first.y)
    assert second.info["skipped"] == first.info["skipped"] and second.class_names == first.class_names
    with pytest.raises(ConfigError, match=r"broken\.jpg.*data\.strict"):  # strict still sees the skipped file
        build_dataset("image-folder", DataRequest(path=str(folder), resolution=None, strict=True))
    # A changed file changes the key: decoded again, with the new pixels.
    _save(folder / "a" / "grey.png", Image.fromarray(255 - GREY, "L"))
    os.utime(folder / "a" / "grey.png", ns=(1, 1))
    with pytest.warns(UserWarning):
        third = build_dataset("image-folder", req)
    assert third.info["cached"] is False
    assert torch.equal(third.x[0, 0], torch.from_numpy(255 - GREY))


def test_cache_can_be_disabled(folder, cache_root):
    with pytest.warns(UserWarning):
        ds = build_dataset("image-folder", DataRequest(path=str(folder), resolution=None), {"cache": False})
    assert ds.info["cache_file"] is None and ds.info["cached"] is False
    assert not (cache_root / "image-folder").exists()


def test_damaged_cache_is_rebuilt_with_a_warning(folder, cache_root):
    req = DataRequest(path=str(folder), resolution=None)
    with pytest.warns(UserWarning):
        first = build_dataset("image-folder", req)
    Path(first.info["cache_file"]).write_bytes(b"garbage")
    with pytest.warns(UserWarning) as record:
        again = build_dataset("image-folder", req)
    assert [str(w.message).split(" (")[0] for w in record] == [
        f"image-folder: ignoring damaged cache {first.info['cache_file']}",
        f"image-folder: skipped 1 unreadable file(s) of 6 in {folder}"]
    assert again.info["cached"] is False and torch.equal(again.x, first.x)


def test_stream_matches_in_memory(folder, cache_root):
    with pytest.warns(UserWarning):
        memory = build_dataset("image-folder", DataRequest(path=str(folder), resolution=6))
        stream = build_dataset("image-folder", DataRequest(path=str(folder), resolution=6, in_memory=False))
    assert stream.x is None and len(stream) == 5 and stream.shape == (3, 6, 6)
    assert stream.info["cache_file"] is None
    assert [Path(p).name for p, _ in stream.info["skipped"]] == ["broken.jpg"]
    items = [stream.stream[i] for i in range(len(stream))]
    assert torch.equal(torch.stack([x for x, _ in items]), memory.x)
    assert [label for _, label in items] == memory.y.tolist()
    with pytest.warns(UserWarning):  # too big for max_memory_mb -> streamed
        auto = build_dataset("image-folder", DataRequest(path=str(folder), resolution=6, max_memory_mb=0))
    assert auto.x is None and len(auto) == 5


def test_stream_substitutes_or_raises_on_truncated_data(tmp_path, cache_root):
    root = tmp_path / "flat"
    _save(root / "0.png", Image.fromarray(GREY, "L"))
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (64, 64), dtype=np.uint8), "L").save(buf, "PNG")
    (root / "1.png").write_bytes(buf.getvalue()[:2000])  # header intact, pixel data cut
    ds = build_dataset("image-folder", DataRequest(path=str(root), resolution=8, in_memory=False))
    assert len(ds) == 2 and ds.num_classes == 0 and ds.info["skipped"] == []
    with pytest.warns(UserWarning, match=r"cannot decode .*1\.png"):
        x, label = ds.stream[1]
    assert torch.equal(x[0], torch.from_numpy(GREY)) and label == -1
    strict = build_dataset("image-folder", DataRequest(path=str(root), resolution=8, in_memory=False, strict=True))
    with pytest.raises(ConfigError, match=r"1\.png.*data\.strict"):
        strict.stream[1]


def test_unlabelled_layouts_and_transparency(tmp_path, cache_root):
    flat = tmp_path / "flat"
    palette = Image.fromarray(np.array([[0, 1], [1, 2]], np.uint8), "P")
    palette.putpalette([10, 20, 30, 200, 100, 50, 0, 0, 255] + [0] * (253 * 3))
    _save(flat / "p.gif", palette, transparency=1)
    trns = Image.fromarray(np.array([[5, 100], [100, 7]], np.uint8), "L")
    _save(flat / "t.png", trns, transparency=100)
    ds = build_dataset("image-folder", DataRequest(path=str(flat), resolution=None))
    assert ds.y is None and ds.num_classes == 0 and ds.class_names == []
    assert ds.x[0].permute(1, 2, 0).tolist() == [[[10, 20, 30], [255, 255, 255]], [[255, 255, 255], [0, 0, 255]]]
    assert ds.x[1, 0].tolist() == [[5, 255], [255, 7]] and torch.equal(ds.x[1, 0], ds.x[1, 2])
    single = tmp_path / "single"
    _save(single / "only_class" / "x.png", Image.fromarray(GREY, "L"))
    one = build_dataset("image-folder", DataRequest(path=str(single), resolution=None))
    assert one.y is None and one.shape == (1, 8, 8)  # a single sub-folder is not a labelling


def test_exif_orientation_is_applied(tmp_path, cache_root):
    wide = RNG.integers(0, 256, (4, 8, 3), dtype=np.uint8)  # H=4, W=8
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    _save(tmp_path / "rot" / "r.png", Image.fromarray(wide, "RGB"), exif=exif)
    ds = build_dataset("image-folder", DataRequest(path=str(tmp_path / "rot"), resolution=None))
    assert ds.shape == (3, 8, 4)
    assert torch.equal(ds.x[0].permute(1, 2, 0), torch.from_numpy(np.rot90(wide, k=-1).copy()))


def test_layout_errors(tmp_path, cache_root):
    mixed = tmp_path / "mixed"
    _save(mixed / "top.png", Image.fromarray(GREY, "L"))
    _save(mixed / "cls" / "x.png", Image.fromarray(GREY, "L"))
    _save(mixed / "cls2" / "x.png", Image.fromarray(GREY, "L"))
    with pytest.raises(ConfigError, match="both at the top level"):
        build_dataset("image-folder", DataRequest(path=str(mixed)))
    sizes = tmp_path / "sizes"
    _save(sizes / "a.png", Image.fromarray(GREY, "L"))
    _save(sizes / "b.png", Image.fromarray(GREY[:4], "L"))
    with pytest.raises(ConfigError, match="differ in size"):
        build_dataset("image-folder", DataRequest(path=str(sizes), resolution=None))
    with pytest.raises(ConfigError, match="differ in size"):
        build_dataset("image-folder", DataRequest(path=str(sizes), resolution=None, in_memory=False))
    assert build_dataset("image-folder", DataRequest(path=str(sizes), resolution=4)).shape == (1, 4, 4)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"nope")
    with pytest.raises(ConfigError, match="none of the image files .* could be read"):
        build_dataset("image-folder", DataRequest(path=str(bad)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="holds no images"):
        build_dataset("image-folder", DataRequest(path=str(empty)))


def test_unreadable_sub_folder_is_an_error_naming_it(tmp_path, cache_root, monkeypatch):
    root = tmp_path / "classes"
    _save(root / "cats" / "a.png", Image.fromarray(GREY, "L"))
    _save(root / "dogs" / "b.png", Image.fromarray(GREY, "L"))
    make_unreadable(root / "dogs", monkeypatch)
    # Skipping it would train on one class while the layout says two: stop, name it, say how to fix it.
    with pytest.raises(ConfigError, match=r"cannot read the folder .*dogs inside data\.path=.*Permission denied.*"
                                          r"chmod -R u\+rX .* or move it out of data\.path"):
        build_dataset("image-folder", DataRequest(path=str(root)))


def test_a_skipped_file_repaired_in_place_is_read_again(tmp_path, cache_root):
    """The cache key holds names, sizes and times; a file that was unreadable and is repaired with
    the same size and time (permissions fixed, a copy that keeps the time) must not stay skipped."""
    root = tmp_path / "images"
    _save(root / "a.png", Image.fromarray(GREY, "L"))
    good = png_bytes(255 - GREY)
    broken = root / "b.png"
    broken.write_bytes(b"X" + good[1:])  # same size, bad signature
    os.utime(broken, ns=(10**18, 10**18))
    req = DataRequest(path=str(root), resolution=None)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        first = build_dataset("image-folder", req)
    assert len(first) == 1 and [Path(p).name for p, _ in first.info["skipped"]] == ["b.png"]
    broken.write_bytes(good)
    os.utime(broken, ns=(10**18, 10**18))
    repaired = build_dataset("image-folder", req)
    assert len(repaired) == 2 and repaired.info["skipped"] == [] and repaired.info["cached"] is False
    assert torch.equal(repaired.x[1, 0], torch.from_numpy(255 - GREY))
    assert build_dataset("image-folder", req).info["cached"] is True  # the new cache serves the next run


def test_image_library_warnings_become_one_line(tmp_path, cache_root, recwarn):
    root = tmp_path / "images"
    root.mkdir()
    for k in range(3):
        (root / f"odd{k}.png").write_bytes(png_with_library_warning(GREY))
    _save(root / "plain.png", Image.fromarray(GREY, "L"))
    ds = build_dataset("image-folder", DataRequest(path=str(root), resolution=None))
    assert len(ds) == 4 and torch.equal(ds.x[0, 0], torch.from_numpy(GREY))
    messages = [str(w.message) for w in recwarn]
    assert len(messages) == 1, messages  # not one raw Pillow warning per file
    assert "warned about 3 of 4 file(s)" in messages[0] and "odd0.png: Invalid APNG" in messages[0]


def test_worker_pool_matches_serial(folder, cache_root, monkeypatch):
    req = dict(path=str(folder), resolution=None)
    with pytest.warns(UserWarning):
        serial = build_dataset("image-folder", DataRequest(num_workers=0, **req), {"cache": False})
    monkeypatch.setattr(image_folder_module, "POOL_MIN_FILES", 1)
    with pytest.warns(UserWarning):
        pooled = build_dataset("image-folder", DataRequest(num_workers=2, **req), {"cache": False})
    assert torch.equal(pooled.x, serial.x) and pooled.info["skipped"] == serial.info["skipped"]


@pytest.mark.skipif(not (SHARED / "cifar10-jpg.tar.gz").is_file(), reason="shared CIFAR-10 JPEGs absent")
def test_real_cifar10_jpegs(tmp_path, cache_root):
    """Real JPEGs of the first two classes in the shared archive (copied into tmp_path, never the repo)."""
    root = tmp_path / "cifar"
    taken = {}
    with tarfile.open(SHARED / "cifar10-jpg.tar.gz", "r:gz") as tar:
        for member in tar:  # the archive is grouped by class: stop once two classes have 3 files each
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) != 3 or taken.get(parts[1], 0) == 3:
                continue
            if len(taken) == 2 and parts[1] not in taken:
                break
            taken[parts[1]] = taken.get(parts[1], 0) + 1
            (root / parts[1]).mkdir(parents=True, exist_ok=True)
            (root / parts[1] / parts[2]).write_bytes(tar.extractfile(member).read())
    ds = build_dataset("image-folder", DataRequest(path=str(root)))
    assert ds.shape == (3, 32, 32) and ds.class_names == sorted(taken) and ds.num_classes == 2
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1]
    files = sorted(p for p in root.rglob("*.jpg"))
    assert torch.equal(ds.x, _chw([np.asarray(Image.open(p).convert("RGB")) for p in files]))
