"""Typed run configuration: dataclasses -> OmegaConf structured config, presets and overrides.

A config is built as: defaults (the dataclasses below) <- preset YAML <- user YAML <- ``key=value``
overrides. Component options live in free-form ``args`` mappings that the component's registry
validates against the builder's signature, so adding a model/loss/regulariser never changes this
schema.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from omegaconf import DictConfig, OmegaConf
from omegaconf import errors as oc_errors

from gankit.registry import ConfigError, closest


@dataclass
class DataConfig:
    source: str = "mnist5k"  # registry name, see `gankit data` / README
    path: Optional[str] = None  # file or folder for sources that read from disk
    resolution: Optional[int] = 32  # images are resized/padded to this; None keeps the native size
    channels: Optional[int] = None  # None keeps the source's channel count; 1 or 3 converts
    args: Dict[str, Any] = field(default_factory=dict)  # source-specific options
    limit: Optional[int] = None  # keep a seeded random subset of this many samples (small-data runs)
    strict: bool = False  # image-folder: abort on an unreadable file instead of skipping it
    in_memory: Optional[bool] = None  # None: in memory when it fits in data.max_memory_mb
    max_memory_mb: int = 4096
    num_workers: int = 2  # DataLoader workers for streamed sources


@dataclass
class NetConfig:
    name: str = "dcgan"
    args: Dict[str, Any] = field(default_factory=dict)  # family options: width, norm, ...


@dataclass
class ModelConfig:
    z_dim: int = 100
    conditional: bool = False  # use the data set's labels (num_classes comes from the data)
    g: NetConfig = field(default_factory=NetConfig)
    d: NetConfig = field(default_factory=NetConfig)


@dataclass
class LossConfig:
    name: str = "bce"  # bce | minimax | wasserstein | hinge | lsgan ...
    args: Dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimizerConfig:
    name: str = "adam"  # adam | rmsprop | sgd
    lr: float = 2e-4
    betas: List[float] = field(default_factory=lambda: [0.5, 0.999])  # adam only
    momentum: float = 0.0  # sgd / rmsprop
    weight_decay: float = 0.0  # L2 penalty, applied by the optimiser
    grad_clip: float = 0.0  # clip the gradient's global L2 norm to this; 0 = off
    lr_decay: str = "none"  # none | linear (to 0 at train.steps)


@dataclass
class OptimConfig:
    g: OptimizerConfig = field(default_factory=OptimizerConfig)
    d: OptimizerConfig = field(default_factory=OptimizerConfig)


@dataclass
class TrainConfig:
    steps: int = 1500  # generator steps
    batch_size: int = 64
    n_critic: int = 1  # discriminator steps per generator step
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    ema: float = 0.0  # decay of the generator's exponential moving average; 0 = off
    ema_start: int = 0  # step from which the EMA tracks (before: copies G)
    amp: str = "none"  # none | bf16 | fp16 (mixed precision on the GPU)
    channels_last: bool = True
    compile: bool = False
    reuse_fake: bool = True  # D's first step per iteration trains on the batch G just made (saves a G pass)
    augment: str = ""  # DiffAugment policy for D inputs, e.g. "color,translation,cutout"
    log_every: int = 50
    sample_every: int = 250
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    n_samples: int = 64  # images in each fixed-noise grid
    threads: int = 0  # torch CPU threads; 0 = torch's default


@dataclass
class EvalConfig:
    every: int = 0  # evaluate every N steps during training; 0 = only when asked
    metrics: List[str] = field(default_factory=list)
    n_samples: int = 10000
    best: str = ""  # metric name whose best value keeps checkpoints/best.pt, e.g. "fid"
    args: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    name: str = ""  # run name; the run folder is out/<name>
    out: str = "runs"
    description: str = ""  # presets: one line shown by `gankit presets`
    source: str = ""  # presets: the paper or code the recipe comes from
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    regularizers: Dict[str, Any] = field(default_factory=dict)  # name -> args (null disables)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


DEFAULT_PRESET = "dcgan-mnist"


def preset_names() -> list[str]:
    files = resources.files("gankit").joinpath("presets").iterdir()
    return sorted(p.name[: -len(".yaml")] for p in files if p.name.endswith(".yaml"))


def preset_path(name: str):
    names = preset_names()
    if name not in names:
        raise ConfigError(f"unknown preset '{name}'.{closest(name, names)} Run `gankit presets` to list them.")
    return resources.files("gankit").joinpath("presets", f"{name}.yaml")


def _merge(base: DictConfig, other, where: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, other)
    except oc_errors.ConfigKeyError as e:
        raise ConfigError(_unknown_key_message(base, e, where)) from None
    except (oc_errors.ValidationError, oc_errors.ConfigTypeError) as e:
        key = getattr(e, "full_key", "") or "?"
        raise ConfigError(f"{where}: bad value for '{key}': {e.msg if hasattr(e, 'msg') else e}") from None


def _unknown_key_message(base: DictConfig, e: Exception, where: str) -> str:
    full = getattr(e, "full_key", "") or str(getattr(e, "key", ""))
    parent_path, _, key = full.rpartition(".")
    parent = OmegaConf.select(base, parent_path) if parent_path else base
    options = list(parent.keys()) if isinstance(parent, DictConfig) else []
    return f"{where}: unknown key '{full}'.{closest(key, options)} Valid keys here: {', '.join(map(str, options))}"


def _parse_overrides(overrides: Sequence[str]) -> DictConfig:
    for o in overrides:
        if "=" not in o:
            raise ConfigError(f"override '{o}' is not of the form key=value (e.g. train.steps=2000)")
    # Hydra users write +key=value to add a key; here free-form mappings (args, regularizers) accept
    # new keys anyway, so a leading '+' is allowed and ignored.
    try:
        return OmegaConf.from_dotlist([o[1:] if o.startswith("+") else o for o in overrides])
    except Exception as e:  # the grammar error names the bad token
        raise ConfigError(f"cannot parse overrides {list(overrides)}: {e}") from None


def load_config(
    preset: Optional[str] = None,
    config_file: Optional[str | Path] = None,
    overrides: Sequence[str] = (),
    base: Optional[DictConfig] = None,
) -> DictConfig:
    """Build and validate a run config.

    Args:
        preset: name of a shipped preset; default ``dcgan-mnist`` when neither preset nor base given.
        config_file: a YAML file merged over the preset.
        overrides: ``key=value`` strings merged last.
        base: start from this config (e.g. a resumed run's) instead of the defaults + preset.

    Returns:
        A validated, read-only-typed DictConfig backed by :class:`Config`.
    """
    cfg = OmegaConf.structured(Config) if base is None else base
    if base is None:
        name = preset or (None if config_file else DEFAULT_PRESET)
        if name:
            cfg = _merge(cfg, OmegaConf.load(preset_path(name).open()), f"preset {name}")
            if not cfg.name:
                cfg.name = name
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        cfg = _merge(cfg, OmegaConf.load(path), str(path))
    if overrides:
        cfg = _merge(cfg, _parse_overrides(overrides), "override")
    validate(cfg)
    return cfg


def _positive(cfg, key: str, allow_zero: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    if value is None or value < 0 or (value == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key} must be {need}, got {value}")


def validate(cfg: DictConfig) -> None:
    """Check values that the types alone cannot (ranges and enumerations)."""
    for key in ("train.steps", "train.batch_size", "train.n_critic", "model.z_dim", "train.n_samples",
                "train.log_every", "train.sample_every", "train.checkpoint_every", "train.keep_checkpoints"):
        _positive(cfg, key)
    for key in ("optim.g.lr", "optim.d.lr"):
        _positive(cfg, key)
    for key in ("optim.g.weight_decay", "optim.d.weight_decay", "optim.g.grad_clip", "optim.d.grad_clip",
                "train.ema", "eval.every", "train.threads", "train.ema_start"):
        _positive(cfg, key, allow_zero=True)
    if not 0.0 <= cfg.train.ema < 1.0:
        raise ConfigError(f"train.ema must be in [0, 1) (a decay such as 0.999), got {cfg.train.ema}")
    for side in ("g", "d"):
        opt = cfg.optim[side]
        if len(opt.betas) != 2 or not all(0.0 <= b < 1.0 for b in opt.betas):
            raise ConfigError(f"optim.{side}.betas must be two numbers in [0, 1), got {list(opt.betas)}")
        _choice(f"optim.{side}.lr_decay", opt.lr_decay, ("none", "linear"))
    _choice("train.amp", cfg.train.amp, ("none", "bf16", "fp16"))
    if cfg.data.resolution is not None and cfg.data.resolution <= 0:
        raise ConfigError(f"data.resolution must be > 0 (or null for the native size), got {cfg.data.resolution}")
    if cfg.data.limit is not None and cfg.data.limit <= 0:
        raise ConfigError(f"data.limit must be > 0 (or null for all samples), got {cfg.data.limit}")
    if cfg.data.channels not in (None, 1, 3):
        raise ConfigError(f"data.channels must be 1, 3 or null (keep the source's), got {cfg.data.channels}")
    if cfg.train.augment:
        from gankit.augment import parse_policy

        parse_policy(cfg.train.augment)
    device = cfg.train.device
    if not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")):
        raise ConfigError(f"train.device must be auto, cpu, cuda or cuda:N, got '{device}'")


def _choice(key: str, value: str, options: Sequence[str]) -> None:
    if value not in options:
        raise ConfigError(f"{key} must be one of {', '.join(options)}, got '{value}'.{closest(value, options)}")


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)


def from_yaml_text(text: str) -> DictConfig:
    """Rebuild a typed config from a saved run's resolved YAML (checkpoints, exports)."""
    return load_config(base=_merge(OmegaConf.structured(Config), OmegaConf.create(text), "saved config"))


def describe_presets() -> list[tuple[str, str, str]]:
    """(name, description, source) for every shipped preset."""
    rows = []
    for name in preset_names():
        raw = OmegaConf.load(preset_path(name).open())
        rows.append((name, raw.get("description", ""), raw.get("source", "")))
    return rows


def field_names(cls=Config) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]
