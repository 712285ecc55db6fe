"""Reading a plugin's free-form JSON-like ``config`` into typed values, with errors that name the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codegen.slo_plugins.api import PluginConfigError


def config_mapping(config: Any, allowed: Mapping[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """``config`` as a dict of ``allowed`` keys (absent ones None); None or ``{}`` is an empty config.

    Unknown keys are errors naming the valid ones (Go's decoder would ignore them: a typo would silently do
    nothing); a value of the wrong JSON type is an error like Go's ``json.Unmarshal``.
    """
    if config is None:
        return dict.fromkeys(allowed)
    if not isinstance(config, Mapping):
        raise PluginConfigError(f"config must be a mapping, got {type(config).__name__}")
    unknown = sorted(str(k) for k in config if k not in allowed)
    if unknown:
        valid = ", ".join(allowed) or "none"
        raise PluginConfigError(f"unknown config key(s) {', '.join(unknown)} (valid keys: {valid})")
    out: dict[str, Any] = dict.fromkeys(allowed)
    for key, kind in allowed.items():
        value = config.get(key)
        if value is None:
            continue
        bad_bool = isinstance(value, bool) and kind is not bool and not (isinstance(kind, tuple) and bool in kind)
        if not isinstance(value, kind) or bad_bool:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise PluginConfigError(f"config key {key!r} must be {names}, got {type(value).__name__}")
        out[key] = value
    return out
