"""Validation of model-family options.

Family options arrive from the config (``model.g.args`` / ``model.d.args``), so a bad value must fail
with a :class:`~gankit.registry.ConfigError` that names the setting and says what is allowed.
"""

from __future__ import annotations

from typing import Any, List, Sequence

from gankit.registry import ConfigError, closest


def choice(value: Any, valid: Sequence[str], setting: str) -> str:
    """Return ``value`` if it is one of ``valid``.

    Args:
        value: the configured value.
        valid: the allowed strings.
        setting: full config path, e.g. ``"model.d.args.norm"``.

    Returns:
        ``value`` unchanged.
    """
    if value not in valid:
        raise ConfigError(
            f"{setting} must be one of {', '.join(valid)}, got {value!r}.{closest(value, valid)}"
        )
    return value


def integer(value: Any, setting: str, minimum: int) -> int:
    """Return ``value`` as an int, checking that it is an integer ``>= minimum``."""
    # bool is an int subclass; `true` for a width is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{setting} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def number(value: Any, setting: str, low: float, high: float, high_inclusive: bool = True) -> float:
    """Return ``value`` as a float in ``[low, high]`` (or ``[low, high)``)."""
    ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
    in_range = ok_type and low <= value and (value <= high if high_inclusive else value < high)
    if not in_range:
        bracket = "]" if high_inclusive else ")"
        raise ConfigError(f"{setting} must be a number in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


def flag(value: Any, setting: str) -> bool:
    """Return ``value`` if it is a bool (``true``/``false`` in YAML)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{setting} must be true or false, got {value!r}")
    return value


def widths(hidden: Any, layers: Any, setting: str) -> List[int]:
    """Resolve the MLP ``hidden``/``layers`` pair to a list of hidden-layer widths.

    Args:
        hidden: one width (repeated ``layers`` times) or a list of widths (a YAML list arrives as an
            OmegaConf ListConfig, hence any sequence).
        layers: number of hidden layers; ``None`` means 3 for an int ``hidden`` and the list's
            length for a list.
        setting: config prefix, e.g. ``"model.g.args"``.

    Returns:
        The widths, one per hidden layer.
    """
    if isinstance(hidden, (int, bool)):
        count = 3 if layers is None else integer(layers, f"{setting}.layers", 1)
        return [integer(hidden, f"{setting}.hidden", 1)] * count
    try:
        values = list(hidden)
    except TypeError:
        raise ConfigError(f"{setting}.hidden must be an integer or a list of integers, got {hidden!r}") from None
    if not values:
        raise ConfigError(f"{setting}.hidden is an empty list; give at least one width")
    out = [integer(v, f"{setting}.hidden", 1) for v in values]
    if layers is not None and layers != len(out):
        raise ConfigError(
            f"{setting}.layers={layers} contradicts {setting}.hidden={out} ({len(out)} widths); "
            f"remove {setting}.layers when hidden is a list"
        )
    return out
