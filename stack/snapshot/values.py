"""Panel values as Grafana shows them: units, decimals, thresholds, value mappings, axis ticks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from stack.snapshot.style import color


def format_value(value: float, unit: str | None, decimals: int | None = None) -> str:
    """A value as Grafana shows it for the units the generated dashboards use."""
    if value is None or math.isnan(value):
        return "NaN"
    unit = unit or "short"

    def num(v: float, default: int = 2) -> str:
        places = decimals if decimals is not None else (0 if abs(v) >= 100 or v == int(v) else default)
        return f"{v:.{places}f}"

    if unit.startswith("suffix:"):
        return f"{num(value)}{unit[len('suffix:') :]}"
    if unit == "percentunit":
        return f"{num(value * 100, 1)}%"
    if unit == "percent":
        return f"{num(value, 1)}%"
    if unit == "ms":
        return f"{num(value / 1000)} s" if abs(value) >= 1000 else f"{num(value)} ms"
    if unit == "s":
        if abs(value) >= 60:
            return f"{num(value / 60)} min"
        return f"{num(value * 1000)} ms" if 0 < abs(value) < 1 else f"{num(value)} s"
    if unit in ("reqps", "mps", "ops", "rps"):
        suffix = {"reqps": "req/s", "mps": "mps", "ops": "ops", "rps": "rps"}[unit]
        return f"{num(value)} {suffix}"
    for size, letter in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{num(value / size)} {letter}"
    return num(value)


def threshold_color(value: float, thresholds: Mapping[str, Any] | None) -> str:
    """The colour of the highest step whose value is <= `value` (the first step, value null, is the base)."""
    steps = (thresholds or {}).get("steps") or [{"color": "green", "value": None}]
    chosen = steps[0].get("color")
    for step in steps[1:]:
        if step.get("value") is not None and value >= float(step["value"]):
            chosen = step.get("color")
    return color(chosen)


def mapped(value: float, mappings: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(text, colour) of a value mapping that matches `value` exactly, else None."""
    for mapping in mappings:
        if mapping.get("type") != "value":
            continue
        for key, result in (mapping.get("options") or {}).items():
            try:
                if float(key) == value:
                    return str(result.get("text", key)), color(result.get("color"))
            except ValueError:
                continue
    return None


def last_not_null(points: Sequence[tuple[float, float]]) -> float | None:
    for _, v in reversed(points):
        if not math.isnan(v):
            return v
    return None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks
