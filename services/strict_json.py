"""Strict JSON for untrusted input (API bodies, Kafka messages): fast when well-formed, exact when not.

orjson decodes the common case; it is strict, so anything it refuses is read again by the stdlib with hooks that
say precisely what is wrong. NaN/Infinity literals are refused (they are not JSON), and integers are read as
floats (features are floats): a 400-digit integer becomes inf, which feature validation rejects by name, instead
of an OverflowError later.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


def loads_strict(data: bytes) -> Any:
    """Decode `data`; raises ValueError (broken JSON, a NaN/Infinity literal, bad UTF-8) or RecursionError."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return loads_precise(data)


def loads_precise(data: bytes) -> Any:
    """The stdlib reading with the hooks: `loads_strict`'s fallback, and the benchmarks' plain baseline."""
    return json.loads(data, parse_constant=_reject_constant, parse_int=float)
