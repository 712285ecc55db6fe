"""Number text exactly as Sloth's Go code prints it, so generated expressions and labels match byte for byte."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache


@lru_cache(maxsize=4096)
def go_float(value: float) -> str:
    """Shortest round-trip float text as Go's ``%g`` prints it (``30``, ``0.95``, ``0.0009999999999999432``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def go_float_plain(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest round-trip digits, never an exponent."""
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
