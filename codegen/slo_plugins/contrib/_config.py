"""Reading a contrib plugin's JSON config the way Go's ``encoding/json`` reads it into Sloth's config structs.

Keys match case-insensitively (``metricname`` fills ``metricName``), a missing or ``null`` config means defaults,
and a value of the wrong type is an error (``PluginConfigError``). Keys the plugin does not know are ignored as
Go ignores them, but logged as a warning so a typo is seen.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from codegen.slo_plugins.api import PluginConfigError

Labels = tuple[tuple[str, str], ...]


def config_object(config: Any, known: tuple[str, ...], logger: logging.Logger, plugin_id: str) -> dict[str, Any]:
    """The config as a dict keyed by the plugin's own spelling of each known key (Go's case-insensitive match)."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise PluginConfigError(f"invalid config: expected a JSON object, got {_json_type(config)}")
    by_fold = {k.casefold(): k for k in known}
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = by_fold.get(str(key).casefold())
        if name is None:
            logger.warning(
                "%s: unknown config key %r is ignored (as Sloth ignores it); known keys: %s",
                plugin_id,
                key,
                ", ".join(known),
            )
            continue
        out[name] = value  # a later spelling of the same key wins, as in Go
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def string_map(value: Any, key: str) -> dict[str, str]:
    """A JSON object of strings (Go ``map[string]string``); ``null`` is empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PluginConfigError(f"invalid config: {key} must be an object of strings, got {_json_type(value)}")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(v, str):
            raise PluginConfigError(f"invalid config: {key}.{k} must be a string, got {_json_type(v)}")
        out[str(k)] = v
    return out


def string_list(value: Any, key: str) -> list[str]:
    """A JSON array of strings (Go ``[]string``); ``null`` is empty."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise PluginConfigError(f"invalid config: {key} must be an array of strings, got {_json_type(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise PluginConfigError(f"invalid config: {key}[{i}] must be a string, got {_json_type(item)}")
    return list(value)


def string(value: Any, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PluginConfigError(f"invalid config: {key} must be a string, got {_json_type(value)}")
    return value


def boolean(value: Any, key: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PluginConfigError(f"invalid config: {key} must be true or false, got {_json_type(value)}")
    return value


def number(value: Any, key: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PluginConfigError(f"invalid config: {key} must be a number, got {_json_type(value)}")
    return float(value)


# Prometheus' model.Duration: units y w d h m s ms, each at most once and in that order; "0" alone is zero.
_PROM_UNITS_MS: tuple[tuple[str, int], ...] = (
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
)
_PROM_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def prom_duration_ms(value: Any, key: str) -> int:
    """Milliseconds of a Prometheus duration string (``model.Duration`` in JSON); ``null`` and ``"0"`` are 0."""
    if value is None:
        return 0
    if not isinstance(value, str):
        raise PluginConfigError(f"invalid config: {key} must be a duration string (e.g. '5m'), got {_json_type(value)}")
    if value == "0":
        return 0
    match = _PROM_DURATION_RE.match(value)
    if not value or match is None:
        raise PluginConfigError(f"invalid config: {key}: not a valid duration string: {value!r} (e.g. 30s, 5m, 1h30m)")
    return sum(int(n) * mult for n, (_, mult) in zip(match.groups(), _PROM_UNITS_MS, strict=True) if n)


def format_prom_duration_ms(ms: int) -> str:
    """Prometheus' ``model.Duration.String()``: years and weeks only when exact (``4w``, ``30d``, ``1m30s``)."""
    if ms == 0:
        return "0s"
    out = ""
    for unit, mult in _PROM_UNITS_MS:
        if unit in ("y", "w") and ms % mult != 0:
            continue
        value, ms = divmod(ms, mult)
        if value:
            out += f"{value}{unit}"
    return out


def go_g(value: float) -> str:
    """Go's ``%g`` (shortest representation): ``0``, ``0.05``, ``-0.1``, ``1e-05``, ``1e+06``."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = repr(float(value))
    mantissa, _, exp_text = text.partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    mantissa = mantissa.lstrip("-")
    int_part, _, frac = mantissa.partition(".")
    digits = (int_part + frac).lstrip("0")
    # decimal exponent of the first significant digit
    exp = int(exp_text) if exp_text else 0
    if int_part.strip("0"):
        exp += len(int_part.lstrip("0")) - 1
    else:
        exp -= len(frac) - len(frac.lstrip("0")) + 1
    digits = digits.rstrip("0") or "0"
    if exp < -4 or exp >= 6:  # Go switches to %e outside [1e-4, 1e6) for the shortest representation
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp >= 0:
        whole = digits[: exp + 1].ljust(exp + 1, "0")
        rest = digits[exp + 1 :]
        return f"{sign}{whole}{'.' + rest if rest else ''}"
    return f"{sign}0.{'0' * (-exp - 1)}{digits}"


def label_matcher(labels: Mapping[str, str]) -> str:
    """Prometheus' ``LabelSet.String()``: sorted, ``", "``-separated, Go-quoted values."""
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(labels.items())) + "}"


def go_quote(value: str) -> str:
    """Go's ``%q`` for the label values Sloth writes (backslash, quote and control characters escaped)."""
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def merge_labels(*label_sets: Labels | Mapping[str, str]) -> dict[str, str]:
    """Later sets win (Sloth's ``MergeLabels``)."""
    out: dict[str, str] = {}
    for labels in label_sets:
        out.update(labels.items() if isinstance(labels, Mapping) else labels)
    return out


def sorted_labels(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))
