"""Validate a run config before anything slow: no data is read, no network is built.

:func:`check_components` checks what the types alone cannot and what would otherwise fail only
once the data set is decoded or the first batch reaches a network: every component's name and
options against its registry builder's signature, PacGAN pack / batch divisibility, optimiser
options that the chosen optimiser ignores, metric names, and the output folder.

The component table below is also what :func:`gankit.config.load_config` uses to drop a previous
family's options when a layer changes a component's name (:func:`accepted_options`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Tuple

from omegaconf import DictConfig, ListConfig, OmegaConf

from gankit.registry import ConfigError, Registry, check_arguments, closest


def _load_package(package: str) -> Optional[object]:
    """Import ``package`` and every module in it (registration by import); None when it does not exist."""
    if importlib.util.find_spec(package) is None:
        return None
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
        importlib.import_module(f"{package}.{info.name}")
    return pkg


def _generators(cfg: Optional[DictConfig] = None) -> List[Tuple[Registry, Tuple[str, ...]]]:
    from gankit.models import DISCRIMINATORS, GENERATORS, TRANSLATORS, load_builtin_models  # noqa: F401

    load_builtin_models()
    # model.g names a noise-to-image generator or, for image-to-image objectives, a translator. Some
    # names are both ("resnet"), so with a config the objective decides which family is meant.
    translators = [(TRANSLATORS, ("in_shape", "out_shape"))]
    if cfg is not None and _translates(cfg):
        return translators
    return [(GENERATORS, ("z_dim", "out_shape", "num_classes"))] + translators


def _translates(cfg: DictConfig) -> bool:
    """Whether the run's objective maps images to images (its class declares translation ``directions``)."""
    registry = getattr(_load_package("gankit.objectives"), "OBJECTIVES", None)
    name = OmegaConf.select(cfg, "objective.name")
    return registry is not None and name in registry and bool(getattr(registry.get(name), "directions", None))


def _discriminators() -> List[Tuple[Registry, Tuple[str, ...]]]:
    from gankit.models import DISCRIMINATORS, load_builtin_models

    load_builtin_models()
    return [(DISCRIMINATORS, ("in_shape", "num_classes"))]


def _losses() -> List[Tuple[Registry, Tuple[str, ...]]]:
    from gankit.losses import LOSSES

    return [(LOSSES, ())]


def _data_sources() -> List[Tuple[Registry, Tuple[str, ...]]]:
    import gankit.data.sources  # noqa: F401  (registers the built-in sources)
    from gankit.data import DATA_SOURCES

    return [(DATA_SOURCES, ("req",))]


# The latent-prior and objective registries are being introduced alongside this module; they are
# looked up only if their package exists, so that this check works before and after they land.
def _priors() -> List[Tuple[Registry, Tuple[str, ...]]]:
    pkg = _load_package("gankit.priors")
    registry = getattr(pkg, "PRIORS", None)
    return [(registry, ("z_dim",))] if registry is not None else []


def _objectives() -> List[Tuple[Registry, Tuple[str, ...]]]:
    pkg = _load_package("gankit.objectives")
    registry = getattr(pkg, "OBJECTIVES", None)
    return [(registry, ("setup",))] if registry is not None else []


@dataclass(frozen=True)
class Component:
    """A config section naming a registered builder and holding its options.

    Attributes:
        section: config path of the section, e.g. ``"model.g"``.
        name_field: the key naming the builder in it (``"name"``, or ``"source"`` for data).
        registries: ``() -> [(registry, arguments gankit supplies itself), ...]``, tried in order.
    """

    section: str
    name_field: str
    registries: Callable[[], List[Tuple[Registry, Tuple[str, ...]]]]

    @property
    def name_key(self) -> str:
        return f"{self.section}.{self.name_field}"

    @property
    def args_key(self) -> str:
        return f"{self.section}.args"


COMPONENTS: Tuple[Component, ...] = (
    Component("model.g", "name", _generators),
    Component("model.d", "name", _discriminators),
    Component("loss", "name", _losses),
    Component("data", "source", _data_sources),
    Component("model.latent", "name", _priors),
    Component("objective", "name", _objectives),
)

# Optimiser fields that only some optimisers read (see gankit.training.optim); a non-default value
# for an optimiser that ignores it is an error instead of a silent no-op.
OPTIMIZER_FIELD_USERS = {"betas": ("adam",), "momentum": ("sgd", "rmsprop")}


def _builder(component: Component, name: str) -> Optional[Tuple[Callable, Tuple[str, ...]]]:
    """``(builder, fixed arguments)`` of ``name``, or None when no registry of the component holds it."""
    for registry, fixed in component.registries():
        if name in registry:
            return registry.get(name), fixed
    return None


def accepted_options(section: str, name: str) -> Optional[set]:
    """The option names builder ``name`` of config section ``section`` accepts.

    Returns:
        A set of names, or None when unknown (no such section or name, or the builder takes
        ``**options``): the caller must then keep every option.
    """
    component = next((c for c in COMPONENTS if c.section == section), None)
    found = _builder(component, name) if component is not None else None
    if found is None:
        return None
    fn, fixed = found
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in fixed}


def _plain(value):
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


def _check_component(cfg: DictConfig, component: Component) -> None:
    registries = _generators(cfg) if component.registries is _generators else component.registries()
    if not registries:
        return
    if OmegaConf.select(cfg, component.section) is None:
        return  # the config schema predates this section
    name = OmegaConf.select(cfg, component.name_key)
    args = _plain(OmegaConf.select(cfg, component.args_key)) or {}
    found = next(((registry.get(name), fixed) for registry, fixed in registries if name in registry), None)
    if found is None:
        names = sorted({n for registry, _ in registries for n in registry.names()})
        kinds = " or ".join(registry.kind for registry, _ in registries)
        raise ConfigError(f"{component.name_key}: unknown {kinds} '{name}'.{closest(name, names)} "
                          f"Valid names: {', '.join(names)}")
    fn, fixed = found
    check_arguments(fn, args, component.args_key, exclude=fixed)


def _check_regularizers(cfg: DictConfig) -> None:
    spec = _plain(cfg.regularizers) or {}
    if not spec:
        return
    from gankit.regularizers import REGULARIZERS, load_builtin_regularizers

    load_builtin_regularizers()
    for name, options in spec.items():
        where = f"regularizers.{name}"
        if options is None or options is False:
            continue  # disabled
        if name not in REGULARIZERS:
            raise ConfigError(f"{where}: unknown regularizer '{name}'.{closest(name, REGULARIZERS.names())} "
                              f"Valid regularizer names: {', '.join(REGULARIZERS.names())} (null disables one)")
        if options is True:
            options = {}
        if not isinstance(options, Mapping):
            raise ConfigError(f"{where} must be a mapping of the regularizer's options (e.g. {where}={{weight: 10}}), "
                              f"true for its defaults or null to disable it; got {options!r}")
        check_arguments(REGULARIZERS.get(name), options, where)


def _check_pack(cfg: DictConfig) -> None:
    pack = (_plain(cfg.model.d.args) or {}).get("pack", 1)
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ConfigError(f"model.d.args.pack must be an integer >= 1 (samples per D input), got {pack!r}")
    batch = cfg.train.batch_size
    if batch % pack:
        lower, upper = batch - batch % pack, batch + pack - batch % pack
        raise ConfigError(f"model.d.args.pack={pack} must divide train.batch_size={batch} (D sees groups of "
                          f"{pack} samples); set train.batch_size to a multiple of {pack}, e.g. "
                          f"{lower or upper} or {upper}")


def _check_optimizers(cfg: DictConfig) -> None:
    from gankit.config import OptimizerConfig
    from gankit.training.optim import OPTIMIZERS

    defaults = OptimizerConfig()
    known = {name for users in OPTIMIZER_FIELD_USERS.values() for name in users}
    for side in ("g", "d"):
        opt = cfg.optim[side]
        if opt.name not in OPTIMIZERS:
            raise ConfigError(f"optim.{side}.name: unknown optimizer '{opt.name}'."
                              f"{closest(opt.name, OPTIMIZERS.names())} Valid optimizer names: "
                              f"{', '.join(OPTIMIZERS.names())}")
        for field_name, users in OPTIMIZER_FIELD_USERS.items():
            value = _plain(opt[field_name])
            if opt.name in known and opt.name not in users and value != getattr(defaults, field_name):
                verb = "uses" if len(users) == 1 else "use"
                raise ConfigError(f"optim.{side}.{field_name}={value} has no effect with optim.{side}.name={opt.name} "
                                  f"(only {' / '.join(users)} {verb} it); remove the setting, or choose "
                                  f"optim.{side}.name={users[0]}")


def _check_eval(cfg: DictConfig) -> None:
    metrics = list(cfg.eval.metrics or [])
    args = _plain(cfg.eval.args) or {}
    if not metrics and not args:
        return
    from gankit.metrics import METRICS, load_builtin_metrics
    from gankit.metrics.evaluate import _check_args

    load_builtin_metrics()
    for name in metrics:
        if name not in METRICS:
            raise ConfigError(f"eval.metrics: unknown metric '{name}'.{closest(name, METRICS.names())} "
                              f"Valid metric names: {', '.join(METRICS.names())}")
    _check_args(args)


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _write_failure(base: Path) -> str:
    """Why nothing can be created in the folder ``base`` (by making and removing a probe folder), or ''."""
    import os
    import uuid

    probe = base / f".gankit-write-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as e:
        return str(e.strerror or e)
    return ""


def check_output_folder(path: str | Path, setting: str) -> Path:
    """Check that a folder can be created (or written into) at ``path`` without creating it.

    A probe folder is created and removed under the nearest existing parent, which is what
    ``mkdir(parents=True)`` will need; permission bits alone would not tell for root or for
    read-only file systems.

    Args:
        path: the folder gankit will create or write into.
        setting: the option that named it (``out``, ``--out``), for the message.

    Returns:
        The path, with ``~`` expanded.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{setting}={path} is a file, not a folder; choose a folder (it is created if missing), "
                          f"or move the file away")
    base = _nearest_existing(path)
    if not base.is_dir():
        raise ConfigError(f"{setting}={path}: {base} is a file, so no folder can be made under it; choose another "
                          f"location for {setting}")
    failure = _write_failure(base)
    if failure:
        raise ConfigError(f"{setting}={path} cannot be written: creating a folder in {base} failed "
                          f"({failure}); choose a writable location for {setting} (or fix the permissions "
                          f"of {base})")
    return path


def check_output_file(path: str | Path, setting: str, example: str = "samples.png") -> Path:
    """Check that a file can be written at ``path`` (its folder is created if missing) before the work.

    Args:
        path: the file gankit will write (atomically, creating missing parent folders).
        setting: the option that named it (``--out``), for the message.
        example: a file name to suggest when ``path`` is a folder.

    Returns:
        The path, with ``~`` expanded.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{setting} {path} is a folder; give a file name, e.g. {setting} {path / example}")
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise ConfigError(f"{setting} {path}: {base} is a file, so it cannot hold {path.name}; choose another "
                          f"location for {setting}")
    failure = _write_failure(base)
    if failure:
        raise ConfigError(f"{setting} {path} cannot be written: {base} refuses new files ({failure}); "
                          f"choose a writable location for {setting}")
    return path


def check_components(cfg: DictConfig, run_dir: Optional[str | Path] = None) -> None:
    """Validate everything a run needs that can be checked without data or networks.

    Call it before loading data. It imports the registries (and torch) but decodes nothing.

    Args:
        cfg: a config from :func:`gankit.config.load_config` (already type- and range-checked).
        run_dir: the exact run folder (``--out``) when given; else ``cfg.out`` is checked.

    Raises:
        ConfigError naming the setting and the fix.
    """
    for component in COMPONENTS:
        _check_component(cfg, component)
    _check_regularizers(cfg)
    _check_pack(cfg)
    _check_optimizers(cfg)
    _check_eval(cfg)
    if run_dir is not None:
        check_output_folder(run_dir, "--out")
    else:
        check_output_folder(cfg.out, "out")

