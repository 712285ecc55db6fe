"""Prometheus durations: parsed to seconds, formatted exactly like Prometheus' ``model.Duration.String()``.

Sloth names rules after the formatted window (``ratio_rate4w`` for 28 days), so the format must match bit for bit.
"""

from __future__ import annotations

import re
from functools import lru_cache

_UNITS: dict[str, int] = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


# Prometheus holds durations as int64 nanoseconds; beyond this promtool says "duration out of range".
MAX_SECONDS = (2**63 - 1) // 10**9


class DurationError(ValueError):
    """A string that is not a Prometheus duration (or is zero, or longer than Prometheus can hold)."""


def parse_duration(text: str) -> int:
    """Return the number of whole seconds in a Prometheus duration such as ``5m``, ``1h30m`` or ``4w``."""
    match = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
    if not match or not text.strip():
        raise DurationError(f"invalid duration {text!r}: expected e.g. 5m, 1h, 30d, 4w")
    if any(value and len(value) > 20 for value in match.groups()):
        raise DurationError(f"invalid duration {text.strip()[:40]!r}: duration out of range")
    seconds = sum(int(value) * mult for value, mult in zip(match.groups(), _UNITS.values(), strict=True) if value)
    if seconds > MAX_SECONDS:
        raise DurationError(f"invalid duration {text!r}: duration out of range (Prometheus' limit is about 292y)")
    if seconds <= 0:
        raise DurationError(f"invalid duration {text!r}: must be greater than zero")
    return seconds


@lru_cache(maxsize=1024)
def format_duration(seconds: int) -> str:
    """Format like Prometheus: years and weeks only when exact, so 28d -> ``4w`` and 30d -> ``30d``."""
    if seconds == 0:
        return "0s"
    out = ""
    remaining = seconds
    for unit, mult in _UNITS.items():
        exact_only = unit in ("y", "w")
        if exact_only and remaining % mult != 0:
            continue
        value = remaining // mult
        if value > 0:
            out += f"{value}{unit}"
            remaining -= value * mult
    return out


def humanize_duration(seconds: float) -> str:
    """Readable duration for docs: ``43m 12s``, ``2h 24m``, ``7d 4h``."""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    parts: list[str] = []
    for unit, mult in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        value, total = divmod(total, mult)
        if value:
            parts.append(f"{value}{unit}")
        if len(parts) == 2:
            break
    return " ".join(parts)
