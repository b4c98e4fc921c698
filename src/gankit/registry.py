"""Name -> builder registries.

Every swappable component (data source, model, loss, regulariser, metric, optimiser) is chosen by
name from a Registry. A builder is a plain function (or class) with typed keyword arguments; the
registry validates user-supplied arguments against that signature, so a misspelt option fails with
the closest valid name instead of being silently ignored.
"""

from __future__ import annotations

import difflib
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Dict, Mapping, Optional


class ConfigError(ValueError):
    """A setting is missing, unknown or has an impossible value. The message names it and the fix."""


def closest(name: str, options) -> str:
    """Return ' Did you mean X?' for the closest option, or '' when nothing is close."""
    match = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else ""


class Registry:
    """A named collection of builders.

    Args:
        kind: what the entries are (``"model"``, ``"loss"``...), used in error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, Callable] = {}
        self._docs: Dict[str, str] = {}

    def register(self, name: str, doc: Optional[str] = None) -> Callable[[Callable], Callable]:
        """Decorator: ``@MODELS.register("dcgan")``. ``doc`` defaults to the builder's first doc line."""

        def wrap(fn: Callable) -> Callable:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = fn
            first_line = (inspect.getdoc(fn) or "").strip().splitlines()
            self._docs[name] = doc or (first_line[0] if first_line else "")
            return fn

        return wrap

    def unregister(self, name: str) -> None:
        """Remove an entry (tests register components for their own use and remove them after)."""
        self.get(name)
        del self._entries[name], self._docs[name]

    @contextmanager
    def temporary(self, name: str, fn: Callable):
        """Register ``fn`` as ``name`` for the duration of a ``with`` block."""
        self.register(name)(fn)
        try:
            yield fn
        finally:
            self.unregister(name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def doc(self, name: str) -> str:
        self.get(name)
        return self._docs[name]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def get(self, name: str) -> Callable:
        if name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} '{name}'.{closest(name, self._entries)} "
                f"Valid {self.kind} names: {', '.join(self.names())}"
            )
        return self._entries[name]

    def build(self, name: str, args: Optional[Mapping[str, Any]] = None, where: str = "", **fixed):
        """Call builder ``name`` with the user's ``args`` plus ``fixed`` arguments from the caller.

        Args:
            name: registered name.
            args: user options (from the config); unknown keys are an error naming the closest one.
            where: the config path of ``args`` (e.g. ``"model.g.args"``) for error messages.
            fixed: arguments the caller supplies (shapes, class counts); users cannot override them.
        """
        fn = self.get(name)
        args = dict(args or {})
        check_arguments(fn, args, where or f"{self.kind} '{name}'", exclude=fixed)
        return fn(**fixed, **args)


def check_arguments(fn: Callable, args: Mapping[str, Any], where: str, exclude=()) -> None:
    """Raise ConfigError if ``args`` holds a key ``fn`` does not accept (or one in ``exclude``)."""
    params = inspect.signature(fn).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    valid = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    valid = [n for n in valid if n not in exclude]
    for key in args:
        if key in exclude:
            raise ConfigError(f"{where}.{key} is set by gankit itself and cannot be configured; remove it")
        if key not in valid and not accepts_any:
            if not valid:
                raise ConfigError(f"unknown setting {where}.{key}: {where} takes no settings here; remove {key}")
            raise ConfigError(
                f"unknown setting {where}.{key}.{closest(key, valid)} Valid settings: {', '.join(valid)}"
            )
