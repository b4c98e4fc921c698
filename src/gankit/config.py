"""Typed run configuration: dataclasses -> OmegaConf structured config, presets and overrides.

A config is built as: defaults (the dataclasses below) <- preset YAML <- user YAML <- ``key=value``
overrides. Component options live in free-form ``args`` mappings that the component's registry
validates against the builder's signature, so adding a model/loss/regulariser never changes this
schema.
"""

from __future__ import annotations

import dataclasses
import io
import os
import typing
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf import errors as oc_errors

from gankit.registry import ConfigError, closest


class ConfigNote(UserWarning):
    """Something load_config changed on its own (e.g. options dropped on a family change); one line to the user."""


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
class LatentConfig:
    name: str = "gaussian"  # latent prior: gaussian | uniform | truncated | infogan (see `gankit.priors`)
    args: Dict[str, Any] = field(default_factory=dict)  # prior options, e.g. {threshold: 0.5}


@dataclass
class ModelConfig:
    z_dim: int = 100  # noise dimensions; structured codes (InfoGAN) come on top (see model.latent)
    conditional: bool = False  # use the data set's labels (num_classes comes from the data)
    latent: LatentConfig = field(default_factory=LatentConfig)
    g: NetConfig = field(default_factory=NetConfig)
    d: NetConfig = field(default_factory=NetConfig)


@dataclass
class ObjectiveConfig:
    name: str = "adversarial"  # the game: adversarial | infogan | cyclegan | pix2pix (see gankit.objectives)
    args: Dict[str, Any] = field(default_factory=dict)  # the objective's own options (weights, pool size...)


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
    lr_decay: str = "none"  # none | linear (to 0 at train.steps) | linear_second_half (CycleGAN: constant, then linear)


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
    threads: int = 0  # torch CPU threads; 0 = automatic: one per core, fewer while other processes keep cores busy
    keep_memory: bool = True  # keep freed memory in the process (glibc mallopt): no page faults per step on the CPU
    accumulate: int = 1  # micro-batches of train.batch_size per optimiser step (effective batch = batch_size * accumulate)
    sync_bn: bool = False  # with torchrun on GPUs: BatchNorm statistics over all processes (SyncBatchNorm)
    dist_timeout: int = 600  # seconds a process waits for the others (torchrun) before it gives up with an error


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
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
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
        raise ConfigError(_type_message(base, other, e, where)) from None


def _schema_field(full_key: str):
    """``(type hint, default)`` of a dotted key of :class:`Config`, or None past the typed part (``args``)."""
    cls, hint, default = Config, Config, None
    for part in full_key.split("."):
        if not dataclasses.is_dataclass(cls):
            return None
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            return None
        f = fields[part]
        hint = typing.get_type_hints(cls)[part]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        cls = hint
    return hint, default


def _describe_type(hint) -> str:
    """A type hint in words, e.g. Optional[int] -> 'an integer or null'."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is typing.Union:
        return " or ".join(_describe_type(a) for a in args) + " or null"
    origin = typing.get_origin(hint) or hint
    if dataclasses.is_dataclass(origin):
        return "a mapping of settings"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list",
            dict: "a mapping"}.get(origin, getattr(origin, "__name__", str(origin)))


def _mismatched_section(base, other, prefix: str = "") -> str:
    """The first key of ``other`` that holds a plain value where ``base`` has a section (OmegaConf omits it)."""
    if not isinstance(other, DictConfig):
        return ""
    for key in other.keys():
        here, below = f"{prefix}{key}", other._get_node(key)
        target = base._get_node(key) if isinstance(base, DictConfig) and key in base else None
        if isinstance(target, DictConfig) and not isinstance(below, DictConfig):
            return here
        if isinstance(target, DictConfig):
            found = _mismatched_section(target, below, here + ".")
            if found:
                return found
    return ""


def _type_message(base: DictConfig, other, e: Exception, where: str) -> str:
    """A wrong-type error in gankit's words: the setting, what it must be, an example (no OmegaConf internals)."""
    key = getattr(e, "full_key", "") or _mismatched_section(base, other)
    if not key:
        first = str(getattr(e, "msg", "") or e).splitlines()[0]
        return f"{where}: {first}"
    try:
        value = OmegaConf.select(other, key) if isinstance(other, DictConfig) else None
    except Exception:  # noqa: BLE001 (the value is only quoted in the message)
        value = None
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value)
    field_info = _schema_field(key)
    if field_info is None:
        first = str(getattr(e, "msg", "") or e).splitlines()[0]
        return f"{where}: bad value for {key}: {first}"
    hint, default = field_info
    if dataclasses.is_dataclass(hint):
        first = next(f for f in dataclasses.fields(hint) if f.default is not dataclasses.MISSING)
        example = f"{key}.{first.name}={getattr(default, first.name)}"
    elif isinstance(default, dict):
        example = f"{key}.OPTION=VALUE, or {{option: value}} in a YAML file"
    else:
        shown = "null" if default is None else str(default).lower() if isinstance(default, bool) else default
        example = f"{key}={shown}"
    return f"{where}: {key} must be {_describe_type(hint)}, got {value!r}; e.g. {example}"


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
    plain = [o[1:] if o.startswith("+") else o for o in overrides]
    for o in plain:  # one at a time, so that the message names the one that does not parse
        key = o.split("=", 1)[0].strip()
        if not key or "" in key.split("."):
            raise ConfigError(f"override '{o}': the key '{key}' has an empty part; write section.key=value, "
                              f"e.g. train.steps=2000")
        try:
            OmegaConf.from_dotlist([o])
        except yaml.YAMLError as e:
            raise ConfigError(f"override '{o}': the value is not valid YAML ({_yaml_problem(e)}); close the "
                              f"bracket or brace, or quote a text value (key='a: b')") from None
        except Exception as e:  # noqa: BLE001  (OmegaConf's key grammar error names the bad token)
            raise ConfigError(f"override '{o}' cannot be parsed ({str(e).splitlines()[0]}); write it as "
                              f"section.key=value, e.g. train.steps=2000") from None
    return OmegaConf.from_dotlist(plain)


def load_yaml(path: str | Path, what: str = "config file") -> DictConfig:
    """Read a YAML mapping of settings, with errors that give the file, line and column.

    Args:
        path: the file.
        what: what the file is, for messages (``"config file"``, ``"run config"``).

    Returns:
        The mapping as an (untyped) DictConfig; merge it with :func:`load_config`.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"{what} {path} does not exist; check the path (a relative path starts in the current "
                          f"folder, {Path.cwd()})")
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give the YAML file itself (e.g. {path / 'config.yaml'})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} {path} is not a text (UTF-8) file (byte {e.start}: {e.reason}); "
                          f"a config is YAML text such as 'train: {{steps: 2000}}'") from None
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror or e}; check that the file is readable") from None
    try:
        raw = OmegaConf.load(io.StringIO(text))
    except yaml.constructor.ConstructorError as e:
        raise ConfigError(_yaml_construct_message(path, what, e)) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} {path}{_yaml_mark(e)}: YAML syntax error: {_yaml_problem(e)}; fix the YAML there "
                          f"(indent with spaces, close every bracket and quote, 'key: value' pairs)") from None
    except OSError:  # OmegaConf's message for a lone number or boolean
        raw = None
    if not isinstance(raw, DictConfig):
        kind = "a list" if isinstance(raw, ListConfig) else "a single value"
        raise ConfigError(f"{what} {path} holds {kind} at the top level; a config is a mapping of settings, e.g.\n"
                          f"train:\n  steps: 2000\nmodel:\n  z_dim: 64")
    return raw


def _yaml_mark(e) -> str:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _yaml_problem(e) -> str:
    problem, context = getattr(e, "problem", None), getattr(e, "context", None)
    mark, problem_mark = getattr(e, "context_mark", None), getattr(e, "problem_mark", None)
    if context and mark is not None and problem_mark is not None and mark.line != problem_mark.line:
        context += f" that starts at line {mark.line + 1}, column {mark.column + 1}"
    text = "; ".join(p for p in (problem, context) if p)
    return text or str(e).splitlines()[0]


def _yaml_construct_message(path: Path, what: str, e) -> str:
    problem = getattr(e, "problem", "") or ""
    if "tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '")
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        return (f"{what} {path}{_yaml_mark(e)}: the YAML tag '{shown}' is not allowed; gankit configs hold plain "
                f"values (numbers, strings, lists, mappings) and never build Python objects: remove the tag")
    if "expan" in problem and "alias" in problem.lower() or "node expansion" in problem:
        return (f"{what} {path}: its YAML aliases (&name / *name) expand to an enormous document; a gankit config "
                f"needs a few dozen values: write them out instead of nesting aliases")
    if "duplicate key" in problem:
        return f"{what} {path}{_yaml_mark(e)}: {problem}; keep one of them (later settings do not override earlier)"
    return f"{what} {path}{_yaml_mark(e)}: {_yaml_problem(e)}"


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
            cfg = _merge_layer(cfg, OmegaConf.load(preset_path(name).open()), f"preset {name}")
            if not cfg.name:
                cfg.name = name
    if config_file is not None:
        cfg = _merge_layer(cfg, load_yaml(config_file), str(config_file))
    if overrides:
        cfg = _merge_layer(cfg, _parse_overrides(overrides), "override")
    # `out` is a path like data.path: expand ~ here, once, so that every user of cfg.out agrees.
    cfg.out = os.path.expanduser(cfg.out)
    validate(cfg)
    return cfg


def merge_settings(cfg: DictConfig, settings: Dict[str, Any], where: str) -> DictConfig:
    """``cfg`` with ``{dotted key: value}`` merged as one layer (as overrides are), then validated.

    Unlike ``key=value`` strings, the values keep their Python types (a string stays a string).
    Errors are ConfigErrors that start with ``where`` (e.g. ``"space file s.yaml, entry optim.d.lr"``).
    """
    layer = OmegaConf.create({})
    for key, value in settings.items():
        OmegaConf.update(layer, key, value, force_add=True)
    merged = _merge_layer(cfg, layer, where)
    merged.out = os.path.expanduser(merged.out)
    try:
        validate(merged)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    return merged


def _merge_layer(cfg: DictConfig, layer: DictConfig, where: str) -> DictConfig:
    """Merge one layer; when it changes a component's family, drop the old family's options.

    Rule: if ``layer`` names a different builder for a component (``model.g.name=mlp`` over a
    dcgan preset), options that came from the layers below and that the new builder does not
    accept are removed (options it accepts, such as ``width``, keep their meaning and stay);
    optimiser fields the new optimiser ignores go back to their defaults. The same layer's own
    options are never dropped, so a mistyped one is still an error. Each change is one
    :class:`ConfigNote` line.
    """
    merged = _merge(cfg, layer, where)
    from gankit.validate import COMPONENTS, OPTIMIZER_FIELD_USERS, accepted_options

    for c in COMPONENTS:
        new = OmegaConf.select(layer, c.name_key) if isinstance(layer, DictConfig) else None
        old = OmegaConf.select(cfg, c.name_key)
        if new is None or new == old or OmegaConf.select(merged, c.args_key) is None:
            continue
        own = OmegaConf.select(layer, c.args_key)
        own = set(own.keys()) if isinstance(own, DictConfig) else set()
        args = OmegaConf.select(merged, c.args_key)
        inherited = [k for k in list(args.keys()) if k not in own]
        accepted = accepted_options(c.section, new) if inherited else None
        if accepted is None:  # nothing inherited, an unknown name (check_components says so) or **options
            continue
        dropped = [k for k in inherited if k not in accepted]
        for k in dropped:
            del args[k]
        if dropped:
            warnings.warn(f"{where}: {c.name_key} changed from {old} to {new}: dropped "
                          f"{', '.join(f'{c.args_key}.{k}' for k in dropped)} set for {old} ({new} does not take "
                          f"{'it' if len(dropped) == 1 else 'them'})", ConfigNote, stacklevel=3)
    defaults = OptimizerConfig()
    for side in ("g", "d"):
        key = f"optim.{side}"
        new = OmegaConf.select(layer, f"{key}.name") if isinstance(layer, DictConfig) else None
        old = OmegaConf.select(cfg, f"{key}.name")
        if new is None or new == old:
            continue
        own, target = OmegaConf.select(layer, key), OmegaConf.select(merged, key)
        known = {name for users in OPTIMIZER_FIELD_USERS.values() for name in users}
        reset = [f for f, users in OPTIMIZER_FIELD_USERS.items()
                 if new in known and new not in users and f not in own and target[f] != getattr(defaults, f)]
        for f in reset:
            target[f] = getattr(defaults, f)
        if reset:
            warnings.warn(f"{where}: {key}.name changed from {old} to {new}: reset "
                          f"{', '.join(f'{key}.{f}' for f in reset)} to the default ({new} does not use "
                          f"{'it' if len(reset) == 1 else 'them'})", ConfigNote, stacklevel=3)
    return merged


def _positive(cfg, key: str, allow_zero: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    if value is None or value < 0 or (value == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        default = _schema_field(key)[1]
        raise ConfigError(f"{key} must be {need}, got {value}; e.g. {key}={default} (the default)")


def validate(cfg: DictConfig) -> None:
    """Check values that the types alone cannot (ranges and enumerations)."""
    for key in ("train.steps", "train.batch_size", "train.n_critic", "model.z_dim", "train.n_samples",
                "train.log_every", "train.sample_every", "train.checkpoint_every", "train.keep_checkpoints",
                "train.accumulate", "train.dist_timeout"):
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
        _choice(f"optim.{side}.lr_decay", opt.lr_decay, ("none", "linear", "linear_second_half"))  # optim.LR_DECAYS
    _choice("train.amp", cfg.train.amp, ("none", "bf16", "fp16"))
    if cfg.data.resolution is not None and cfg.data.resolution <= 0:
        raise ConfigError(f"data.resolution must be > 0 (or null for the native size), got {cfg.data.resolution}")
    if cfg.data.limit is not None and cfg.data.limit <= 0:
        raise ConfigError(f"data.limit must be > 0 (or null for all samples), got {cfg.data.limit}")
    if cfg.data.num_workers < 0:
        raise ConfigError(f"data.num_workers must be >= 0 (0 decodes in the training process), got "
                          f"{cfg.data.num_workers}; e.g. data.num_workers=2")
    if cfg.data.max_memory_mb <= 0:
        raise ConfigError(f"data.max_memory_mb must be > 0, got {cfg.data.max_memory_mb}; e.g. data.max_memory_mb=4096")
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
