"""Image-to-image translation with a trained run's translators (CycleGAN, pix2pix): the library
behind ``gankit translate``.

A translation run's checkpoint describes its translators itself (see
:mod:`gankit.objectives.translation`): per direction (``a2b``, ``b2a``) the player that holds the
weights, the registry name and options of the network and its input/output image shapes. So a
checkpoint is enough to rebuild them; no data set is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import torch

from gankit.registry import ConfigError


class NotATranslationRun(ConfigError):
    """The checkpoint holds no translators (a noise-to-image GAN)."""


@dataclass
class Translators:
    """A run's translators, in eval mode.

    Attributes:
        networks: ``{direction: nn.Module}``; ``forward(x [N, *in_shape])`` -> ``[N, *out_shape]``, [-1, 1].
        records: ``{direction: {"player", "network", "args", "in_shape", "out_shape"}}`` from the checkpoint.
        fixed: ``{domain: float [k, C, H, W]}``, the training run's preview inputs (domains ``a``, ``b``).
        objective: the run's ``objective.name``.
        step: the checkpoint's step.
        path: the checkpoint file read.
    """

    networks: Dict[str, torch.nn.Module]
    records: Dict[str, dict]
    fixed: Dict[str, torch.Tensor] = field(default_factory=dict)
    objective: str = ""
    step: int = 0
    path: Path = Path()

    def __getitem__(self, direction: str) -> torch.nn.Module:
        if direction not in self.networks:
            raise ConfigError(f"--direction {direction}: this '{self.objective}' run translates "
                              f"{', '.join(self.networks)}; choose one of them")
        return self.networks[direction]


def translator_records(state: dict, where) -> Dict[str, dict]:
    """The ``translators`` record of a loaded checkpoint, or :class:`NotATranslationRun`."""
    records = (state.get("objective") or {}).get("translators")
    if not records:
        raise NotATranslationRun(
            f"{where} is a '{state.get('objective_name')}' run with players {sorted(state['players'])}: it generates "
            f"from noise and has no image translators; use `gankit sample {where}` instead")
    return records


def load_translators(path, device="cpu", ema: bool = True) -> Translators:
    """Load every translator of a run.

    Args:
        path: a run folder (its newest readable checkpoint) or a checkpoint ``.pt`` file.
        device: where to put the networks.
        ema: use the EMA weights when the run kept them (``train.ema``).

    Returns:
        :class:`Translators`.
    """
    from gankit.models import build_translator
    from gankit.training import checkpoint as ckpt

    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (expected a run folder or a checkpoint .pt)")
    file, state = ckpt.newest_valid_checkpoint(path) if path.is_dir() else (path, ckpt.load_checkpoint(path))
    records = translator_records(state, path)
    networks = {}
    for direction, r in records.items():
        net = build_translator(r["network"], dict(r["args"]), tuple(r["in_shape"]), tuple(r["out_shape"]))
        player = state["players"][r["player"]]
        net.load_state_dict(player["ema"] if ema and player.get("ema") is not None else player["module"])
        networks[direction] = net.to(device).eval()
    fixed = {k: v for k, v in (state["objective"].get("fixed") or {}).items() if torch.is_tensor(v)}
    return Translators(networks, records, fixed, state.get("objective_name", ""), int(state["step"]), file)


@torch.no_grad()
def translate(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """``net`` applied to ``x`` in batches on the network's device.

    Args:
        net: a translator.
        x: float ``[N, C, H, W]`` in [-1, 1] (any device).
        batch_size: images per forward pass.

    Returns:
        float ``[N, *net.out_shape]`` in [-1, 1], on the CPU.
    """
    device = next(net.parameters()).device
    return torch.cat([net(xb.to(device)).float().cpu() for xb in x.split(batch_size)])


def input_files(path) -> List[Path]:
    """The image files of ``path``: the file itself, or the images under a folder (recursively, sorted)."""
    from gankit.data.sources.image_folder import IMAGE_EXTENSIONS, list_images

    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"--input {path} does not exist; give an image file or a folder of images")
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ConfigError(f"--input {path} is not an image file ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        return [path]
    files = [path / rel for rel, _, _ in list_images(path)]
    if not files:
        raise ConfigError(f"--input {path} holds no images (searched recursively for "
                          f"{', '.join(sorted(IMAGE_EXTENSIONS))}); point it at the images to translate")
    return files


def read_images(files: Sequence[Path], shape: Sequence[int]) -> torch.Tensor:
    """Decode files at a translator's input ``shape`` with the data pipeline's resolution and channel
    policy (resize + centre crop, or 28 -> 32 padding; grey <-> RGB).

    Args:
        files: image files.
        shape: ``(C, R, R)``.

    Returns:
        float ``[N, C, R, R]`` in [-1, 1].
    """
    from gankit.data.batches import to_model_range
    from gankit.data.sources.image_folder import CHANNEL_MODES, decode_image

    channels, resolution = int(shape[0]), int(shape[1])
    images = []
    for f in files:
        arr, reason, _ = decode_image(str(f), resolution, CHANNEL_MODES[channels])
        if arr is None:
            raise ConfigError(f"cannot read {f} as an image ({reason}); remove it from --input or fix it")
        images.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
    return to_model_range(torch.stack(images))


def output_names(files: Sequence[Path], root) -> List[str]:
    """A PNG name per input: its path relative to the input folder, with ``/`` turned into ``_`` so
    that same-named files from different sub-folders do not overwrite each other."""
    root = Path(root).expanduser()
    base = root if root.is_dir() else root.parent
    return ["_".join(f.relative_to(base).with_suffix(".png").parts) for f in files]


def write_images(x: torch.Tensor, names: Sequence[str], out_dir) -> List[Path]:
    """Save ``x`` (float ``[N, C, H, W]`` in [-1, 1]) as PNG files ``out_dir / name`` (atomic writes)."""
    from gankit.viz.grid import grid_to_pil, to_uint8
    from gankit.viz.io import save_image

    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    return [save_image(grid_to_pil(img), out_dir / name) for img, name in zip(to_uint8(x), names)]


def translate_files(checkpoint, direction: str, inputs, out_dir, device="cpu", ema: bool = True,
                    batch_size: int = 64) -> Tuple[List[Path], Translators]:
    """Translate image files with one direction of a run; what ``gankit translate`` does.

    Args:
        checkpoint: run folder or checkpoint ``.pt``.
        direction: ``a2b``, ``b2a`` (CycleGAN) or what the run's objective names.
        inputs: an image file or a folder of images.
        out_dir: where the PNG outputs go (created); names follow :func:`output_names`.
        device: where the network runs.
        ema: the EMA weights when kept.
        batch_size: images per forward pass (files are decoded one batch at a time).

    Returns:
        ``(written paths, the loaded Translators)``.
    """
    files = input_files(inputs)
    nets = load_translators(checkpoint, device=device, ema=ema)
    net = nets[direction]
    shape = nets.records[direction]["in_shape"]
    names = output_names(files, inputs)
    written: List[Path] = []
    for start in range(0, len(files), batch_size):  # bounded memory for large folders
        chunk = slice(start, start + batch_size)
        written += write_images(translate(net, read_images(files[chunk], shape), batch_size), names[chunk], out_dir)
    return written, nets
