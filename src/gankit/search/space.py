"""Search spaces: a YAML file mapping dotted config keys to distributions.

::

    optim.d.lr: {log_uniform: [1.0e-5, 1.0e-3]}
    train.n_critic: {choice: [1, 2, 5]}
    model.d.args.width: {int: [16, 64], step: 16}
    loss.name: {choice: [bce, hinge]}
    optim.g.betas: {choice: [[0.5, 0.999], [0.0, 0.9]]}   # a choice may hold lists

Keys may also be nested (``optim: {d: {lr: {log_uniform: [...]}}}``). Distributions:

==================  ============================================  ============================
kind                options                                       Optuna
==================  ============================================  ============================
``uniform``         ``[low, high]``, ``step``                     ``suggest_float``
``log_uniform``     ``[low, high]`` (low > 0)                      ``suggest_float(log=True)``
``int``             ``[low, high]``, ``step`` (default 1), ``log``  ``suggest_int``
``choice``          ``[value, ...]`` (numbers, strings, lists)    ``suggest_categorical``
==================  ============================================  ============================

Every entry is checked against the config schema before the first trial: each choice, both bounds
and a value between them are merged into the base config through the same machinery as ``key=value``
overrides (:func:`gankit.config.merge_settings`) and the components are checked against their
signatures (:func:`gankit.validate.check_components`), so an unknown key names the closest one and
a value of the wrong type is refused, each message naming the space file and the entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml
from omegaconf import DictConfig, OmegaConf

from gankit.registry import ConfigError, closest

_EXAMPLE = "e.g. optim.d.lr: {log_uniform: [1.0e-5, 1.0e-3]} or loss.name: {choice: [bce, hinge]}"


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bounds(where: str, kind: str, value, integer: bool) -> Tuple[Any, Any]:
    """``[low, high]`` of a range entry, checked (numbers, or integers for ``int``; low <= high)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{where}: {kind} takes [low, high], got {value!r}; {_EXAMPLE}")
    low, high = value
    ok = (lambda v: isinstance(v, int) and not isinstance(v, bool)) if integer else _is_number
    if not (ok(low) and ok(high)):
        need = "integers" if integer else "numbers"
        raise ConfigError(f"{where}: the bounds of {kind} must be {need}, got [{low!r}, {high!r}]"
                          + ("; for other values use {choice: [...]}" if integer else ""))
    if low > high:
        raise ConfigError(f"{where}: low {low} > high {high}; write {kind}: [{high}, {low}]")
    return low, high


@dataclass(frozen=True)
class Param:
    """One searched setting.

    Attributes:
        key: the dotted config key, also the Optuna parameter name.
        kind: ``uniform``, ``log_uniform``, ``int`` or ``choice``.
        low, high, step, log: the range (``uniform``/``log_uniform``/``int``).
        choices: the values of a ``choice`` (decoded, e.g. lists); ``labels`` are what Optuna stores
            (the value itself when it is a scalar, else its YAML text).
    """

    key: str
    kind: str
    low: Any = None
    high: Any = None
    step: Any = None
    log: bool = False
    choices: Tuple[Any, ...] = ()
    labels: Tuple[Any, ...] = ()

    def suggest(self, trial) -> Any:
        """Draw this setting for an Optuna trial; returns the config value."""
        if self.kind == "choice":
            return self.decode(trial.suggest_categorical(self.key, list(self.labels)))
        if self.kind == "int":
            return trial.suggest_int(self.key, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)

    def decode(self, stored) -> Any:
        """The config value of a value Optuna stored for this parameter."""
        if self.kind != "choice":
            return stored
        return self.choices[self.labels.index(stored)]

    def grid(self, where: str) -> List[Any]:
        """The values GridSampler enumerates (its labels for a choice); continuous ranges are refused."""
        if self.kind == "choice":
            return list(self.labels)
        if self.kind == "int":
            return list(range(self.low, self.high + 1, self.step or 1))
        raise ConfigError(f"{where}: --sampler grid needs a finite set of values, but {self.kind} is continuous; "
                          f"use {{choice: [...]}} or {{int: [low, high], step: k}}, or --sampler tpe/random")

    def probes(self) -> List[Any]:
        """Values checked against the schema: every choice, or both bounds and one value between them
        (a fractional one for float ranges, so that a float range on an integer setting is refused)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [self.low, self.high]
        inside = math.sqrt(self.low * self.high) if self.log else self.low + 0.37 * (self.high - self.low)
        return [float(self.low), float(self.high), inside]

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.key}: choice of {len(self.choices)} ({', '.join(map(str, self.labels))})"
        extra = (f", step {self.step}" if self.step else "") + (", log" if self.log and self.kind == "int" else "")
        return f"{self.key}: {self.kind} [{self.low}, {self.high}]{extra}"


def _parse_range(kind: str, integer: bool, log: bool, options: Tuple[str, ...]):
    def parse(key: str, where: str, body: dict) -> Param:
        low, high = _bounds(where, kind, body[kind], integer)
        step = body.get("step")
        use_log = bool(body.get("log", False)) if "log" in options else log
        if step is not None:
            valid = isinstance(step, int) and not isinstance(step, bool) if integer else _is_number(step)
            if not valid or step <= 0:
                need = "integer" if integer else "number"
                raise ConfigError(f"{where}: step must be a positive {need}, got {step!r}")
            if use_log:
                raise ConfigError(f"{where}: step and log cannot be combined (Optuna samples log ranges continuously)")
            spans = (high - low) / step
            if abs(spans - round(spans)) > 1e-9:
                raise ConfigError(f"{where}: high - low ({high} - {low}) must be a multiple of step {step}")
        if use_log and low <= 0:
            raise ConfigError(f"{where}: {kind} needs low > 0 (a log scale), got {low}")
        return Param(key, "int" if integer else kind, low, high, step, use_log)

    parse.options = options
    return parse


def _parse_choice(key: str, where: str, body: dict) -> Param:
    values = body["choice"]
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"{where}: choice takes a list of values, got {values!r}; e.g. {{choice: [1, 2, 5]}}")
    if not values:
        raise ConfigError(f"{where}: choice is empty; list at least one value, e.g. {{choice: [1, 2, 5]}}")
    scalar = all(v is None or isinstance(v, (bool, int, float, str)) for v in values)
    labels = tuple(values) if scalar else tuple(yaml.safe_dump(v, default_flow_style=True).strip() for v in values)
    if len(set(map(repr, labels))) != len(labels):
        raise ConfigError(f"{where}: choice lists a value twice ({list(values)}); list each value once")
    return Param(key, "choice", choices=tuple(values), labels=labels)


_parse_choice.options = ()

#: Distribution kind -> parser ``(key, where, body) -> Param``; ``options`` are the extra keys it takes.
KINDS = {
    "uniform": _parse_range("uniform", integer=False, log=False, options=("step",)),
    "log_uniform": _parse_range("log_uniform", integer=False, log=True, options=()),
    "int": _parse_range("int", integer=True, log=False, options=("step", "log")),
    "choice": _parse_choice,
}


def _entries(tree: dict, prefix: str = "") -> List[Tuple[str, Any]]:
    """(dotted key, body) for each entry; a mapping whose values are all mappings is a section."""
    out = []
    for name, body in tree.items():
        key = f"{prefix}{name}"
        if isinstance(body, dict) and body and all(isinstance(v, dict) for v in body.values()):
            out += _entries(body, key + ".")
        else:
            out.append((key, body))
    return out


def parse_entry(key: str, body, where: str) -> Param:
    """One space-file entry as a :class:`Param` (ConfigError naming ``where`` for a malformed one)."""
    if not isinstance(body, dict) or not body:
        raise ConfigError(f"{where}: expected a distribution mapping, got {body!r}; {_EXAMPLE}")
    kinds = [k for k in body if k in KINDS]
    if len(kinds) != 1:
        unknown = [str(k) for k in body if k not in KINDS]
        if not kinds and unknown:
            raise ConfigError(f"{where}: unknown distribution '{unknown[0]}'.{closest(unknown[0], list(KINDS))} "
                              f"Use one of {', '.join(KINDS)}")
        raise ConfigError(f"{where}: give exactly one distribution (one of {', '.join(KINDS)}), got {list(body)}")
    kind = kinds[0]
    parser = KINDS[kind]
    extra = [str(k) for k in body if k != kind and k not in parser.options]
    if extra:
        allowed = ", ".join(parser.options) or "none"
        raise ConfigError(f"{where}: {kind} does not take '{extra[0]}' (its options: {allowed})")
    return parser(key, where, body)


@dataclass(frozen=True)
class Space:
    """A parsed search space: its file and its parameters in file order."""

    path: str
    params: Tuple[Param, ...]

    def suggest(self, trial) -> Dict[str, Any]:
        """``{dotted key: config value}`` drawn for one Optuna trial."""
        return {p.key: p.suggest(trial) for p in self.params}

    def decode(self, stored: Dict[str, Any]) -> Dict[str, Any]:
        """``{dotted key: config value}`` from a finished trial's ``params`` (Optuna's stored values)."""
        by_key = {p.key: p for p in self.params}
        return {k: by_key[k].decode(v) if k in by_key else v for k, v in stored.items()}

    def grid(self) -> Dict[str, List[Any]]:
        """GridSampler's search space (continuous entries refused)."""
        return {p.key: p.grid(self._where(p.key)) for p in self.params}

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())

    def _where(self, key: str) -> str:
        return f"space file {self.path}, entry '{key}'"

    def check(self, base: DictConfig) -> None:
        """Refuse, before any trial, an entry whose key or values the config does not accept.

        Each probe value (see :meth:`Param.probes`) is merged alone into ``base`` and the components
        are checked; then the first probe of every entry together (a family choice with its options).
        """
        from gankit.config import merge_settings

        for p in self.params:
            for value in p.probes():
                self._check_one(base, {p.key: value}, self._where(p.key), merge_settings)
        joint = {p.key: p.probes()[0] for p in self.params}
        self._check_one(base, joint, f"space file {self.path} (first value of every entry together)", merge_settings)

    @staticmethod
    def _check_one(base, settings, where, merge_settings) -> None:
        from gankit.validate import check_components

        cfg = merge_settings(base, settings, where)
        try:
            check_components(cfg)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None

    def apply(self, base: DictConfig, values: Dict[str, Any], where: str = "trial") -> DictConfig:
        """``base`` with the trial's values merged (validated as overrides are)."""
        from gankit.config import merge_settings

        return merge_settings(base, values, where)

    def to_dict(self) -> dict:
        """A plain description (stored with the study, so that a rerun with another space is caught)."""
        rows = {}
        for p in self.params:
            body = {p.kind: list(p.choices) if p.kind == "choice" else [p.low, p.high]}
            if p.step is not None:
                body["step"] = p.step
            if p.kind == "int" and p.log:
                body["log"] = True
            rows[p.key] = body
        return rows


def load_space(path, base: Optional[DictConfig] = None) -> Space:
    """Read and validate a space file.

    Args:
        path: the YAML file.
        base: the run config the trials start from; when given, every entry is checked against it
            (:meth:`Space.check`).

    Returns:
        The :class:`Space`.
    """
    from gankit.config import load_yaml

    space = parse_space(OmegaConf.to_container(load_yaml(path, "space file"), resolve=True), str(path))
    if base is not None:
        space.check(base)
    return space


def parse_space(raw: dict, path: str) -> Space:
    """A :class:`Space` from the mapping of a space file (or of :meth:`Space.to_dict`)."""
    if not raw:
        raise ConfigError(f"space file {path} is empty; map dotted config keys to distributions, {_EXAMPLE}")
    params = []
    seen = set()
    for key, body in _entries(raw):
        where = f"space file {path}, entry '{key}'"
        if key in seen:
            raise ConfigError(f"{where}: the key is given twice (once nested, once dotted?); keep one")
        seen.add(key)
        params.append(parse_entry(key, body, where))
    return Space(str(path), tuple(params))

