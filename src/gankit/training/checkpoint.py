"""Checkpoints: the complete train state, written atomically and loaded without unpickling code.

A checkpoint is a dict of state_dicts, tensors and plain Python values (so ``torch.load(...,
weights_only=True)`` reads it). Format v2 (gankit >= 0.2)::

    format, gankit_version, step, config (resolved YAML), objective_name,
    num_classes, class_names, data_shape,
    players: {name: {module, ema, optimizer, scheduler, scaler}},   # one entry per player
    objective: the game's own state (counters, fixed inputs, pools),
    rng: {cpu, noise[, cuda]}, data: the data order, callbacks: {key: state}

Format v1 (gankit 0.1: fixed G/D keys) is upgraded on load.
"""

from __future__ import annotations

import json
import sys
import warnings
import os
import re
from pathlib import Path
from typing import Optional, Tuple

import torch

from gankit.config import from_yaml_text
from gankit.io import atomic_torch_save, atomic_write_text  # noqa: F401  (re-exported)
from gankit.registry import ConfigError

FORMAT = "gankit-checkpoint-v2"
FORMAT_V1 = "gankit-checkpoint-v1"
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
    try:
        with warnings.catch_warnings():  # torch's pickle-protocol warnings advise unsafe loading too
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        # torch's own text suggests weights_only=False, i.e. running the file's code: never echo it.
        raise ValueError(f"{path} is not a readable gankit checkpoint ({_load_failure(e)}); it may be truncated, "
                         "damaged or not a checkpoint at all. Pass the run folder instead to use its newest "
                         "readable checkpoint") from None
    if not isinstance(state, dict) or "format" not in state:
        raise ValueError(f"{path} is not a gankit checkpoint (it holds {type(state).__name__}"
                         f"{' without a format field' if isinstance(state, dict) else ''}); pass a file from a run's "
                         "checkpoints/ folder")
    if state["format"] == FORMAT_V1:
        return upgrade_v1(state)
    if state["format"] != FORMAT:
        raise ValueError(f"{path} has checkpoint format {state['format']!r} written by gankit "
                         f"{state.get('gankit_version', 'of unknown version')}; this gankit reads {FORMAT!r} and "
                         f"{FORMAT_V1!r}. Use the gankit version that wrote it")
    return state


def _load_failure(e: Exception) -> str:
    """A short reason for a failed torch.load, without torch's advice to unpickle code."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if "weights_only" in str(e) or "Unsupported global" in str(e) or "UnpicklingError" in type(e).__name__:
        return "it contains objects other than tensors and plain values, which gankit refuses to unpickle"
    return f"{type(e).__name__}: {text[:160]}" if text else type(e).__name__


def upgrade_v1(state: dict) -> dict:
    """A v1 checkpoint (fixed G/D keys, gankit 0.1) in the v2 layout (players, objective state)."""
    def player(net: str, opt: str, ema=None) -> dict:
        return {"module": state[net], "ema": ema, "optimizer": state[f"opt_{opt}"],
                "scheduler": state[f"sched_{opt}"], "scaler": state["scaler"][opt]}

    return {
        "format": FORMAT, "gankit_version": "0.1 (upgraded from v1)", "step": state["step"],
        "config": state["config"], "objective_name": "adversarial", "num_classes": state["num_classes"],
        "class_names": state.get("class_names", []), "data_shape": state["data_shape"],
        "players": {"G": player("G", "g", state.get("G_ema")), "D": player("D", "d")},
        "objective": {"d_updates": state["d_steps"], "fixed": state["fixed"], "carried": state.get("carried")},
        "rng": state["rng"], "data": state["data"],
        "callbacks": {"evaluation": {"best": state.get("best")}},
    }


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
            print(f"gankit: skipping unreadable checkpoint {path.name}: {e}", file=sys.stderr)
    raise ValueError(f"no readable checkpoint in {run_dir}: " + "; ".join(errors))


def prune_checkpoints(run_dir: Path, n: int, keep: Path) -> None:
    """Keep ``keep`` (the checkpoint just written, known good) and the ``n - 1`` newest others.

    A higher-numbered file than ``keep`` can only be a damaged one (resume starts from the newest
    readable) and is pruned like any other; ``keep`` itself is never deleted.
    """
    keep = Path(keep)
    others = [p for p in checkpoint_files(run_dir) if p.resolve() != keep.resolve()]
    for old in others[max(0, n - 1):]:
        old.unlink()


def export_generator(checkpoint: Path, out_dir: Path, ema: bool = True) -> Path:
    """Write the generator alone as ``generator.safetensors`` + ``generator.json`` into ``out_dir``."""
    from safetensors.torch import save_file

    state = _resolve_state(Path(checkpoint))
    key, weights = generator_weights(state, ema, Path(checkpoint))
    tensors = {k: v.contiguous() for k, v in weights.items()}
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


class NoNoiseGenerator(ConfigError):
    """The run has no noise -> sample generator ``G`` (an image-to-image run: see ``gankit translate``)."""


def generator_weights(state: dict, ema: bool, where: Path) -> Tuple[str, dict]:
    """``("G_ema" | "G", state_dict)`` of the run's noise -> sample generator."""
    player = state["players"].get("G")
    if player is None:
        directions = sorted((state.get("objective") or {}).get("translators") or {})
        hint = (f"its translators map images to images: use `gankit translate {where} --direction "
                f"{'|'.join(directions)} --input IMAGES --out DIR`" if directions
                else "use the tool of its objective instead")
        raise NoNoiseGenerator(f"{where} is a '{state.get('objective_name')}' run with players "
                               f"{sorted(state['players'])} and no noise generator G to sample from; {hint}")
    if ema and player.get("ema") is not None:
        return "G_ema", player["ema"]
    return "G", player["module"]


def build_generator_from_config(cfg, num_classes: int, data_shape) -> torch.nn.Module:
    """The run's generator, untrained, with its latent prior attached (``G.prior``)."""
    from gankit.models import build_generator
    from gankit.priors import prior_of_config

    prior = prior_of_config(cfg)
    G = build_generator(cfg.model.g.name, dict(cfg.model.g.args), z_dim=prior.dim,
                        out_shape=tuple(data_shape), num_classes=num_classes)
    G.prior = prior
    return G


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
    weights = generator_weights(state, ema, path)[1]  # first: a translation run has no G to build
    cfg = from_yaml_text(state["config"])
    G = build_generator_from_config(cfg, state["num_classes"], state["data_shape"])
    G.load_state_dict(weights)
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


def load_run_discriminator(path, device="cpu") -> Tuple[torch.nn.Module, object]:
    """Load the discriminator ``D`` of a noise-to-image run (adversarial, InfoGAN) from its checkpoint.

    D is rebuilt from the run's config (``model.d``, the data shape and classes). Heads that an
    objective attached to D's trunk (``extra_heads``, e.g. InfoGAN's Q) are not rebuilt and their
    weights are skipped: the returned D gives the adversarial logits (and AC-GAN's class logits).

    Args:
        path: run folder (its newest readable checkpoint) or checkpoint ``.pt``; exports hold no D.
        device: where to put D.

    Returns:
        ``(D, cfg)``: D in eval mode and the run's resolved config.
    """
    from gankit.models import build_discriminator

    path = Path(path)
    if path.is_dir() and (path / "generator.json").is_file():
        raise ConfigError(f"{path} is a `gankit export` folder, which holds the generator only; pass the run "
                          "folder or one of its checkpoints/step-N.pt to use the discriminator")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (expected a run folder or a checkpoint .pt)")
    state = _resolve_state(path)
    player = state["players"].get("D")
    if player is None:
        raise ConfigError(f"{path} is a '{state.get('objective_name')}' run with players {sorted(state['players'])} "
                          "and no discriminator D of a noise-to-image game")
    cfg = from_yaml_text(state["config"])
    D = build_discriminator(cfg.model.d.name, dict(cfg.model.d.args), tuple(state["data_shape"]), state["num_classes"])
    weights = {k: v for k, v in player["module"].items() if not k.startswith("extra_heads.")}
    D.load_state_dict(weights)
    return D.to(device).eval(), cfg
