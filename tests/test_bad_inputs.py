"""A corpus of bad inputs: each runs the CLI in-process and must end in one clean error.

Every case asserts exit code 2 (or its own ``code``), that stderr starts with ``gankit: error:``,
names the file or setting (``names``), gives a fix (``fix``), and shows no traceback and none of
the libraries' internals (``FORBIDDEN``). Nothing here trains: config cases stop at
``gankit train --print-config`` (which validates like a run does before loading data), data cases
at ``gankit classifier train`` (which fails while loading, before training), sample cases at
``gankit sample`` on a hand-made export.

To add a case, write a function ``tmp -> argv`` that builds its inputs under ``tmp`` and decorate
it with ``@case(names=..., fix=...)``; trainer, checkpoint and signal cases append the same way.
"""

from __future__ import annotations

import gzip
import json
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.config import ConfigNote
from gankit.registry import ConfigError

from badfiles import make_unreadable

# Text that must never reach a user: tracebacks, OmegaConf internals, pickle advice, internal names.
FORBIDDEN = ("Traceback", "reference_type", "object_type", "full_key", "weights_only=False", "allow_pickle",
             "load it unsafely", "info['skipped']", "UserWarning")


@dataclass
class Case:
    """One bad input.

    Attributes:
        id: test id.
        make: ``(tmp_path, monkeypatch) -> argv``: builds the inputs and returns the CLI arguments.
        names: regex that must match: the file or setting at fault.
        fix: regex that must match: what to do about it.
        code: expected exit code.
        after: optional ``(tmp_path) -> None`` check once the command returned (e.g. nothing ran).
    """

    id: str
    make: Callable
    names: str
    fix: str
    code: int = 2
    after: Optional[Callable[[Path], None]] = None


CASES: List[Case] = []


def case(names: str, fix: str, code: int = 2, after: Optional[Callable[[Path], None]] = None):
    def register(make: Callable) -> Callable:
        CASES.append(Case(make.__name__.replace("_", "-"), make, names, fix, code, after))
        return make

    return register


def _yaml(tmp: Path, text: str | bytes, name: str = "bad.yaml") -> List[str]:
    path = tmp / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["train", "--print-config", "--config", str(path)]


def _override(*overrides: str) -> Callable:
    return lambda tmp, mp: ["train", "--print-config", f"out={tmp / 'runs'}", *overrides]


# ---------------------------------------------------------------- YAML config files

@case(names=r"bad\.yaml, line 3, column 1", fix=r"flow sequence that starts at line 2, column 10; fix the YAML")
def yaml_unclosed_bracket(tmp, mp):
    return _yaml(tmp, "train:\n  steps: [1\n")


@case(names=r"bad\.yaml, line 2, column 1", fix=r"indent with spaces")
def yaml_tab_indent(tmp, mp):
    return _yaml(tmp, "train:\n\tsteps: 3\n")


def _nothing_ran(tmp: Path) -> None:
    assert not (tmp / "PWNED").exists(), "a YAML tag executed code"


@case(names=r"bad\.yaml, line 1, column 1: the YAML tag '!!python/object/apply:os\.system'",
      fix=r"remove the tag", after=_nothing_ran)
def yaml_python_tag(tmp, mp):
    return _yaml(tmp, f'!!python/object/apply:os.system ["touch {tmp / "PWNED"}"]\n')


@case(names=r"bad\.yaml, line 2, column 10: the YAML tag '!!python/name:os\.system'", fix=r"remove the tag")
def yaml_python_tag_in_a_value(tmp, mp):
    return _yaml(tmp, "train:\n  steps: !!python/name:os.system\n")


@case(names=r"bad\.yaml holds a list at the top level", fix=r"a config is a mapping of settings, e\.g\.\ntrain:")
def yaml_top_level_list(tmp, mp):
    return _yaml(tmp, "- train.steps=3\n- model.z_dim=8\n")


@case(names=r"bad\.yaml holds a single value", fix=r"a config is a mapping of settings")
def yaml_top_level_number(tmp, mp):
    return _yaml(tmp, "3\n")


@case(names=r"bad\.yaml is not a text \(UTF-8\) file", fix=r"a config is YAML text")
def yaml_binary_file(tmp, mp):
    return _yaml(tmp, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 4)


@case(names=r"bad\.yaml, line 2, column 1: found duplicate key train", fix=r"keep one of them")
def yaml_duplicate_key(tmp, mp):
    return _yaml(tmp, "train: {steps: 1}\ntrain: {steps: 2}\n")


@case(names=r"bad\.yaml: its YAML aliases", fix=r"write them out instead of nesting aliases")
def yaml_alias_bomb(tmp, mp):
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcd", "bcde"):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    return _yaml(tmp, "\n".join(lines) + "\n")


@case(names=r"bad\.yaml: unknown key 'trian'", fix=r"Did you mean 'train'\?")
def yaml_unknown_section(tmp, mp):
    return _yaml(tmp, "trian:\n  steps: 3\n")


@case(names=r"bad\.yaml: train\.steps must be an integer, got 'many'", fix=r"e\.g\. train\.steps=1500")
def yaml_wrong_type(tmp, mp):
    return _yaml(tmp, "train:\n  steps: many\n")


@case(names=r"config file .*missing\.yaml does not exist", fix=r"check the path")
def config_file_missing(tmp, mp):
    return ["train", "--print-config", "--config", str(tmp / "missing.yaml")]


@case(names=r"config file .*confs is a folder", fix=r"give the YAML file itself")
def config_file_is_a_folder(tmp, mp):
    (tmp / "confs").mkdir()
    return ["train", "--print-config", "--config", str(tmp / "confs")]


# ---------------------------------------------------------------- key=value overrides

CASES_OVERRIDES = [
    ("override-without-equals", ("train.steps",), r"override 'train\.steps'",
     r"key=value \(e\.g\. train\.steps=2000\)"),
    ("override-unclosed-bracket", ("train.steps=[1",), r"override 'train\.steps=\[1'", r"close the bracket"),
    ("override-empty-key-part", ("train..steps=1",), r"override 'train\.\.steps=1'", r"section\.key=value"),
    ("override-wrong-type", ("train.steps=abc",), r"train\.steps must be an integer, got 'abc'",
     r"e\.g\. train\.steps="),
    ("override-section-as-value", ("train=3",), r"train must be a mapping of settings, got 3", r"e\.g\. train\.steps="),
    ("override-bool", ("model.conditional=maybe",), r"model\.conditional must be true or false",
     r"e\.g\. model\.conditional=false"),
    ("override-list-expected", ("optim.g.betas=3",), r"optim\.g\.betas must be a list",
     r"e\.g\. optim\.g\.betas=\[0\.5, 0\.999\]"),
    ("override-mapping-expected", ("data.args=3",), r"data\.args must be a mapping", r"data\.args\.OPTION=VALUE"),
    ("override-unknown-key", ("train.stpes=1",), r"unknown key 'train\.stpes'", r"Did you mean 'steps'"),
    ("num-workers-negative", ("data.num_workers=-1",), r"data\.num_workers must be >= 0",
     r"e\.g\. data\.num_workers=2"),
    ("max-memory-zero", ("data.max_memory_mb=0",), r"data\.max_memory_mb must be > 0", r"e\.g\. data\.max_memory_mb="),
    ("z-dim-zero", ("model.z_dim=0",), r"model\.z_dim must be > 0", r"e\.g\. model\.z_dim=100 \(the default\)"),
    ("generator-unknown", ("model.g.name=dcgn",), r"model\.g\.name: unknown generator", r"Did you mean 'dcgan'"),
    ("generator-option-unknown", ("model.g.args.widht=3",), r"model\.g\.args\.widht", r"Did you mean 'width'"),
    ("discriminator-option-unknown", ("model.d.args.packs=2",), r"model\.d\.args\.packs", r"Did you mean 'pack'"),
    ("loss-unknown", ("loss.name=hinj",), r"loss\.name: unknown loss 'hinj'", r"Did you mean 'hinge'"),
    ("loss-option-unknown", ("loss.args.smoothing=0.1",), r"loss\.args\.smoothing", r"Did you mean 'label_smoothing'"),
    ("regularizer-unknown", ("regularizers.gpp.weight=10",), r"regularizers\.gpp: unknown regularizer",
     r"Did you mean 'gp'"),
    ("regularizer-option-unknown", ("regularizers.gp.wieght=10",), r"regularizers\.gp\.wieght",
     r"Did you mean 'weight'"),
    ("regularizer-not-a-mapping", ("regularizers.gp=10",), r"regularizers\.gp must be a mapping",
     r"e\.g\. regularizers\.gp=\{weight: 10\}"),
    ("data-source-unknown", ("data.source=mnits",), r"data\.source: unknown data source 'mnits'",
     r"Valid names: .*mnist5k"),
    ("data-option-unknown", ("data.source=mnist-idx", "data.args.splitt=test"), r"data\.args\.splitt",
     r"Did you mean 'split'"),
    ("data-option-for-optionless-source", ("data.args.split=test",), r"data\.args\.split", r"remove split"),
    ("pack-does-not-divide-batch", ("model.d.args.pack=3", "train.batch_size=64"), r"model\.d\.args\.pack=3 must divide train\.batch_size=64",
     r"e\.g\. 63 or 66"),
    ("momentum-with-adam", ("optim.g.momentum=0.9",), r"optim\.g\.momentum=0\.9 has no effect with optim\.g\.name=adam",
     r"remove the setting, or choose optim\.g\.name=sgd"),
    ("betas-with-sgd", ("optim.d.name=sgd", "optim.d.betas=[0.1,0.2]"), r"optim\.d\.betas=\[0\.1, 0\.2\] has no effect",
     r"choose optim\.d\.name=adam"),
    ("optimizer-unknown", ("optim.g.name=adamw",), r"optim\.g\.name: unknown optimizer 'adamw'",
     r"Did you mean 'adam'"),
    ("metric-unknown", ("eval.metrics=[fdi]",), r"eval\.metrics: unknown metric 'fdi'", r"Did you mean 'fid'"),
    ("latent-prior-unknown", ("model.latent.name=gausian",), r"model\.latent\.name", r"Did you mean 'gaussian'"),
    ("objective-unknown", ("objective.name=adversarail",), r"objective\.name", r"Did you mean 'adversarial'"),
]
for _id, _overrides, _names, _fix in CASES_OVERRIDES:
    CASES.append(Case(_id, _override(*_overrides), _names, _fix))


# ---------------------------------------------------------------- output folders and files

@case(names=r"out=.*taken is a file, not a folder", fix=r"choose a folder")
def out_is_a_file(tmp, mp):
    (tmp / "taken").write_text("not a folder")
    return ["train", "--print-config", f"out={tmp / 'taken'}"]


@case(names=r"out=.*taken/runs: .*taken is a file", fix=r"choose another location for out")
def out_under_a_file(tmp, mp):
    (tmp / "taken").write_text("not a folder")
    return ["train", "--print-config", f"out={tmp / 'taken' / 'runs'}"]


@case(names=r"out=/sys/gankit-runs cannot be written", fix=r"choose a writable location for out")
def out_read_only(tmp, mp):
    return ["train", "--print-config", "out=/sys/gankit-runs"]  # sysfs refuses new entries, even for root


@case(names=r"--out=.*taken is a file", fix=r"choose a folder")
def train_out_flag_is_a_file(tmp, mp):
    (tmp / "taken").write_text("not a folder")
    return ["train", "--print-config", "--out", str(tmp / "taken")]


# ---------------------------------------------------------------- data files (loaded by `gankit classifier train`)

def _idx(images: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, images.ndim) + struct.pack(f">{images.ndim}I", *images.shape) + \
        images.astype(np.uint8).tobytes()


def _idx_folder(tmp: Path, damage: Callable[[bytes], bytes]) -> Path:
    folder = tmp / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(damage(gzip.compress(_idx(np.zeros((4, 28, 28))))))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(np.arange(4))))
    return folder


def _classifier(source: str, path: Path, *extra: str) -> List[str]:
    return ["classifier", "train", "--data", source, "--path", str(path), "--epochs", "1", *extra]


@case(names=r"train-images-idx3-ubyte\.gz is a damaged gzip file", fix=r"download it again")
def idx_gzip_truncated(tmp, mp):
    return _classifier("mnist-idx", _idx_folder(tmp, lambda b: b[: len(b) // 2]))


@case(names=r"train-images-idx3-ubyte\.gz is a damaged gzip file", fix=r"download it again")
def idx_gzip_garbled(tmp, mp):
    return _classifier("mnist-idx", _idx_folder(tmp, lambda b: b[:10] + bytes(len(b) - 10)))


@case(names=r"train-images-idx3-ubyte\.gz is not an IDX file", fix=r"data\.path must hold MNIST-format IDX files")
def idx_wrong_magic(tmp, mp):
    return _classifier("mnist-idx", _idx_folder(tmp, lambda b: gzip.compress(b"\x01\x02" + gzip.decompress(b)[2:])))


@case(names=r"train-images-idx3-ubyte\.gz: header says shape", fix=r"truncated or damaged")
def idx_body_truncated(tmp, mp):
    return _classifier("mnist-idx", _idx_folder(tmp, lambda b: gzip.compress(gzip.decompress(b)[:-7])))


@case(names=r"data\.args\.split=train needs train-images and train-labels", fix=r"Set data\.args\.split")
def idx_folder_without_the_split(tmp, mp):
    (tmp / "mnist").mkdir()
    return _classifier("mnist-idx", tmp / "mnist")


def _two_classes(tmp: Path) -> Path:
    root = tmp / "classes"
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(root / cls / "a.png")
    return root


@case(names=r"cannot read the folder .*dogs inside data\.path=",
      fix=r"make it readable .* or move it out of data\.path")
def image_folder_unreadable_sub_folder(tmp, mp):
    root = _two_classes(tmp)
    make_unreadable(root / "dogs", mp)
    return _classifier("image-folder", root)


@case(names=r"data\.path=.*empty holds no images", fix=r"put the images there")
def image_folder_empty(tmp, mp):
    (tmp / "empty").mkdir()
    return _classifier("image-folder", tmp / "empty")


@case(names=r"none of the image files in data\.path=.*could be read \(first: .*a\.png",
      fix=r"check that they are real images")
def image_folder_nothing_readable(tmp, mp):
    (tmp / "junk").mkdir()
    (tmp / "junk" / "a.png").write_bytes(b"not a png")
    return _classifier("image-folder", tmp / "junk")


@case(names=r"data\.path=.*nowhere does not exist", fix=r"needs a folder of images")
def data_path_missing(tmp, mp):
    return _classifier("image-folder", tmp / "nowhere")


@case(names=r"data\.path=.*random\.npz is not an \.npz archive", fix=r"np\.savez\(path, x=samples")
def npz_random_bytes(tmp, mp):
    (tmp / "random.npz").write_bytes(np.random.default_rng(0).bytes(300))
    return _classifier("npz", tmp / "random.npz")


@case(names=r"data\.path=.*cut\.npz is a damaged \.npz archive", fix=r"np\.savez")
def npz_truncated(tmp, mp):
    np.savez(tmp / "cut.npz", x=np.zeros((4, 1, 8, 8), np.uint8), y=np.arange(4))
    blob = (tmp / "cut.npz").read_bytes()
    (tmp / "cut.npz").write_bytes(blob[: len(blob) // 2])
    return _classifier("npz", tmp / "cut.npz")


@case(names=r"objects\.npz holds object arrays", fix=r"store plain numeric arrays")
def npz_object_array(tmp, mp):
    np.savez(tmp / "objects.npz", x=np.array([{"a": 1}, None], dtype=object))
    return _classifier("npz", tmp / "objects.npz")


# ---------------------------------------------------------------- gankit sample on a hand-made export

def _export(tmp: Path, g_args: dict, build: bool = True) -> Path:
    from safetensors.torch import save_file

    from gankit.config import load_config, to_yaml
    from gankit.training.checkpoint import EXPORT_FORMAT, build_generator_from_config

    with warnings.catch_warnings():  # the note that dcgan's width was dropped
        warnings.simplefilter("ignore", ConfigNote)
        cfg = load_config(overrides=["model.g.name=mlp", "model.z_dim=4", "data.resolution=4", f"out={tmp}"] +
                          [f"model.g.args.{k}={v}" for k, v in g_args.items()])
    folder = tmp / "export"
    folder.mkdir()
    weights = build_generator_from_config(cfg, 0, (1, 4, 4)).state_dict() if build else {"w": np.zeros(1)}
    save_file({k: v.contiguous() for k, v in weights.items()} if build else {}, str(folder / "generator.safetensors"))
    (folder / "generator.json").write_text(json.dumps({
        "format": EXPORT_FORMAT, "weights": "G", "step": 1, "config": to_yaml(cfg), "num_classes": 0,
        "class_names": [], "data_shape": [1, 4, 4]}))
    return folder


SMALL_G = {"hidden": 8, "layers": 1}


@case(names=r"--out .*pictures is a folder", fix=r"give a file name, e\.g\. --out .*pictures/samples\.png")
def sample_out_is_a_folder(tmp, mp):
    (tmp / "pictures").mkdir()
    return ["sample", str(_export(tmp, SMALL_G)), "--out", str(tmp / "pictures")]


@case(names=r"--out /sys/samples\.png cannot be written", fix=r"choose a writable location for --out")
def sample_out_read_only(tmp, mp):
    return ["sample", str(_export(tmp, SMALL_G)), "--out", "/sys/samples.png"]


@case(names=r"--out .*notes\.txt/grid\.png: .*notes\.txt is a file", fix=r"choose another location for --out")
def sample_out_under_a_file(tmp, mp):
    (tmp / "notes.txt").write_text("x")
    return ["sample", str(_export(tmp, SMALL_G)), "--out", str(tmp / "notes.txt" / "grid.png")]


@case(names=r"--n must be > 0", fix=r"e\.g\. --n 64")
def sample_zero_images(tmp, mp):
    return ["sample", str(_export(tmp, SMALL_G)), "--n", "0", "--out", str(tmp / "s.png")]


@case(names=r"generator 'mlp' would have .* parameters: .*TiB of weights",
      fix=r"lower its size \(model\.g\.args\.hidden=1000000, .*model\.z_dim=4\)")
def sample_export_with_absurd_width(tmp, mp):
    return ["sample", str(_export(tmp, {"hidden": 10**6, "layers": 3}, build=False)), "--out", str(tmp / "s.png")]


# ---------------------------------------------------------------- the tools (gankit.tools) on a hand-made export

@case(names=r"export is a `gankit export` folder, which holds the generator only",
      fix=r"pass the run folder or one of its checkpoints/step-N\.pt")
def saliency_on_an_export(tmp, mp):
    return ["saliency", str(_export(tmp, SMALL_G)), "--out", str(tmp / "sal")]


@case(names=r"--out .*ds already holds files", fix=r"pass --force to replace it, or choose another --out")
def generate_over_existing_files(tmp, mp):
    (tmp / "ds").mkdir()
    (tmp / "ds" / "keep.png").write_bytes(b"x")
    return ["generate", str(_export(tmp, SMALL_G)), "--n", "4", "--out", str(tmp / "ds")]


@case(names=r"--mask box:1,1,9,9: the box must lie inside the 4x4 image", fix=r"height, width >= 1")
def inpaint_box_outside_the_image(tmp, mp):
    return ["inpaint", str(_export(tmp, SMALL_G)), "--image", str(tmp), "--mask", "box:1,1,9,9",
            "--prior-weight", "0", "--out", str(tmp / "inp")]


@case(names=r"--image .*none\.png does not exist", fix=r"give an image file or a folder of images")
def project_missing_image(tmp, mp):
    return ["project", str(_export(tmp, SMALL_G)), "--image", str(tmp / "none.png"), "--feature-weight", "0",
            "--out", str(tmp / "proj")]


# ---------------------------------------------------------------- OS errors met while working

@case(names=r"/data/runs/big\.pt: No space left on device", fix=r"the disk is full: free some space")
def disk_full_while_working(tmp, mp):
    import errno

    import gankit.commands.presets as presets

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/runs/big.pt")

    mp.setattr(presets, "run", full)  # stands in for any command's write; the handler is what is tested
    return ["presets"]


# ---------------------------------------------------------------- the runner

@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_ends_in_one_clean_error(bad: Case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANKIT_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    argv = bad.make(tmp_path, monkeypatch)
    capsys.readouterr()  # only what the command prints
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == bad.code, (code, err)
    assert err.startswith("gankit: error:"), err
    for text in FORBIDDEN:
        assert text not in out + err, f"{text!r} reached the user:\n{err}"
    assert re.search(bad.names, err), f"the message does not name the file or setting ({bad.names}):\n{err}"
    assert re.search(bad.fix, err), f"the message gives no fix ({bad.fix}):\n{err}"
    if bad.after is not None:
        bad.after(tmp_path)


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


def test_gankit_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_DEBUG", "1")
    with pytest.raises(ConfigError, match=r"data\.num_workers must be >= 0"):
        main(["train", "--print-config", f"out={tmp_path}", "data.num_workers=-1"])


def test_warnings_reach_the_terminal_as_one_clean_line(tmp_path, monkeypatch, capsys):
    """Pillow's warnings while decoding become one `gankit: warning:` line, without source lines."""
    from badfiles import png_with_library_warning

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "odd"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for k in range(3):
            (root / cls / f"{k}.png").write_bytes(png_with_library_warning(np.zeros((8, 8), np.uint8)))
    # One sample per class cannot be held out: the command stops right after loading the data.
    code = main(_classifier("image-folder", root, "--holdout", "0.9"))
    err = capsys.readouterr().err
    warning_lines = [line for line in err.splitlines() if line.startswith("gankit: warning:")]
    assert len(warning_lines) == 1 and "the image library warned about 6 of 6 file(s)" in warning_lines[0], err
    assert "PngImagePlugin" not in err and "warnings.warn" not in err and "UserWarning" not in err
    assert code in (0, 2)
