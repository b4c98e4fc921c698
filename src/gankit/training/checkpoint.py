"""Checkpoints: the complete train state, written atomically and loaded without unpickling code.

A checkpoint is a dict of state_dicts, tensors and plain Python values (so ``torch.load(...,
weights_only=True)`` reads it): G, D, G_ema, optimisers, schedulers, AMP scaler, step, RNG states,
data order, fixed sampling noise and the resolved config as YAML text.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Optional, Tuple

import torch

from gankit.config import from_yaml_text
from gankit.io import atomic_torch_save, atomic_write_text  # noqa: F401  (re-exported)
from gankit.registry import ConfigError

FORMAT = "gankit-checkpoint-v1"
EXPORT_FORMAT = "gankit-generator-v1"
_STEP_FILE = re.compile(r"^step-(\d+)\.pt$")


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temporary file in the same folder, fsync, then rename over ``path``."""
    atomic_torch_save(obj, path)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load and check a checkpoint file (weights only: no code is unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gankit checkpoint (format {state.get('format') if isinstance(state, dict) else type(state)})")
    return state


def checkpoint_files(run_dir: Path) -> list[Path]:
    """The run's step checkpoints, newest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_FILE.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def newest_valid_checkpoint(run_dir: Path, map_location="cpu") -> Tuple[Path, dict]:
    """Return (path, state) of the newest checkpoint that loads; damaged ones are reported and skipped."""
    files = checkpoint_files(run_dir)
    if not files:
        raise FileNotFoundError(f"no checkpoints in {Path(run_dir) / 'checkpoints'}; is {run_dir} a gankit run folder?")
    errors = []
    for path in files:
        try:
            return path, load_checkpoint(path, map_location)
        except Exception as e:  # a damaged file: say so and fall back to the previous one
            errors.append(f"{path.name}: {type(e).__name__}: {e}")
            print(f"gankit: skipping unreadable checkpoint {path} ({type(e).__name__}: {e})")
    raise ValueError(f"no readable checkpoint in {run_dir}: " + "; ".join(errors))


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    for old in checkpoint_files(run_dir)[keep:]:
        old.unlink()


def export_generator(checkpoint: Path, out_dir: Path, ema: bool = True) -> Path:
    """Write the generator alone as ``generator.safetensors`` + ``generator.json`` into ``out_dir``."""
    from safetensors.torch import save_file

    state = _resolve_state(Path(checkpoint))
    key = "G_ema" if ema and state.get("G_ema") is not None else "G"
    tensors = {k: v.contiguous() for k, v in state[key].items()}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".generator.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, out_dir / "generator.safetensors")
    meta = {"format": EXPORT_FORMAT, "weights": key, "step": state["step"], "config": state["config"],
            "num_classes": state["num_classes"], "class_names": state.get("class_names", []),
            "data_shape": list(state["data_shape"])}
    atomic_write_text(out_dir / "generator.json", json.dumps(meta, indent=2))
    return out_dir


def _resolve_state(path: Path) -> dict:
    if path.is_dir():
        return newest_valid_checkpoint(path)[1]
    return load_checkpoint(path)


def build_generator_from_config(cfg, num_classes: int, data_shape) -> torch.nn.Module:
    from gankit.models import build_generator

    return build_generator(cfg.model.g.name, dict(cfg.model.g.args), z_dim=cfg.model.z_dim,
                           out_shape=tuple(data_shape), num_classes=num_classes)


def load_run_generator(path, ema: bool = True, device="cpu") -> Tuple[torch.nn.Module, object]:
    """Load a generator from a run folder, a checkpoint file or an export folder.

    Args:
        path: run folder (its newest readable checkpoint), ``.pt`` checkpoint, or export folder
            (``generator.safetensors`` + ``generator.json``).
        ema: use the EMA weights when the run kept them.
        device: where to put the generator.

    Returns:
        ``(G, cfg)``: the generator in eval mode and the run's resolved config.
    """
    path = Path(path)
    if path.is_dir() and (path / "generator.json").is_file():
        return load_generator_export(path, device), from_yaml_text(json.loads((path / "generator.json").read_text())["config"])
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (expected a run folder, a checkpoint .pt or an export folder)")
    state = _resolve_state(path)
    cfg = from_yaml_text(state["config"])
    G = build_generator_from_config(cfg, state["num_classes"], state["data_shape"])
    key = "G_ema" if ema and state.get("G_ema") is not None else "G"
    G.load_state_dict(state[key])
    G.class_names = list(state.get("class_names", []))
    return G.to(device).eval(), cfg


def load_generator_export(path, device="cpu") -> torch.nn.Module:
    """Load a generator written by ``gankit export`` (safetensors weights + JSON config)."""
    from safetensors.torch import load_file

    path = Path(path)
    meta_file = path / "generator.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{meta_file} not found: pass the folder written by `gankit export`")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != EXPORT_FORMAT:
        raise ConfigError(f"{meta_file} has format {meta.get('format')!r}, expected {EXPORT_FORMAT!r}")
    cfg = from_yaml_text(meta["config"])
    G = build_generator_from_config(cfg, meta["num_classes"], meta["data_shape"])
    G.load_state_dict(load_file(str(path / "generator.safetensors")))
    G.class_names = list(meta.get("class_names", []))
    return G.to(device).eval()


def find_resume_point(run_dir: Path, map_location="cpu") -> Optional[Tuple[Path, dict]]:
    return newest_valid_checkpoint(run_dir, map_location) if checkpoint_files(run_dir) else None
