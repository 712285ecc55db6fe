"""Go semantics the ported plugins depend on, so a Python plugin accepts, rejects and prints exactly what its Go
original does: ``strings.TrimSpace``, ``strconv.ParseFloat``/``ParseBool``, ``regexp.Compile``, ``fmt``'s ``%f``,
and the string a YAML scalar becomes when Sloth decodes it into a ``map[string]string``."""

from __future__ import annotations

import math
import re
import struct

import promql_parser

# unicode.IsSpace: Python's str.isspace() also counts U+001C..U+001F, which Go does not trim.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"

_DEC = r"\d(?:_?\d)*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DECIMAL_RE = re.compile(rf"[+-]?(?:{_DEC}(?:\.(?:{_DEC})?)?|\.{_DEC})(?:[eE][+-]?{_DEC})?")
_HEX_RE = re.compile(rf"[+-]?0[xX]_?(?:{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP][+-]?{_DEC}")
_SPECIAL_RE = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_MAX_REPEAT = 1000  # regexp/syntax rejects larger {n,m} counts


def trim_space(text: str) -> str:
    """``strings.TrimSpace``."""
    return text.strip(GO_SPACE)


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)``: Go literal syntax (underscores between digits, hex with a ``p``
    exponent, ``inf``/``infinity``/``nan``), no surrounding spaces, and out-of-range values rejected."""
    if _SPECIAL_RE.fullmatch(text):
        return float(text.lower().replace("infinity", "inf"))
    if _DECIMAL_RE.fullmatch(text):
        value = float(text.replace("_", ""))
    elif _HEX_RE.fullmatch(text):
        try:
            value = float.fromhex(text.replace("_", ""))
        except OverflowError:
            value = math.inf
    else:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    if math.isinf(value):
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def parse_bool(text: str) -> bool:
    """``strconv.ParseBool``."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def regexp_error(pattern: str) -> str | None:
    """Why ``regexp.Compile(pattern)`` fails, or None. RE2 syntax is checked by promql-parser's regex engine
    (the same syntax family Prometheus itself uses), plus the two rules where Go is stricter than it: no
    repetition of a repetition (``a**``) and at most 1000 in ``{n,m}``."""
    quoted = pattern.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    try:
        promql_parser.parse(f'up{{re=~"{quoted}"}}')
    except ValueError as exc:
        return f"error parsing regexp: {exc}"
    return _go_repetition_error(pattern)


def _go_repetition_error(pattern: str) -> str | None:
    i, after_repeat, lazy_taken = 0, False, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            after_repeat = False
            continue
        if char == "[":
            i = _class_end(pattern, i)
            after_repeat = False
            continue
        repeat = re.match(r"\{(\d+)(,(\d*))?\}", pattern[i:]) if char == "{" else None
        if char in "*+?" or repeat:
            if char == "?" and after_repeat and not lazy_taken:
                lazy_taken = True
                i += 1
                continue
            if after_repeat:
                return f"error parsing regexp: invalid nested repetition operator: `{pattern[i]}`"
            if repeat:
                counts = [int(n) for n in (repeat.group(1), repeat.group(3)) if n]
                if any(n > _MAX_REPEAT for n in counts):
                    return f"error parsing regexp: invalid repeat count: `{repeat.group(0)}`"
                i += len(repeat.group(0))
            else:
                i += 1
            after_repeat, lazy_taken = True, False
            continue
        after_repeat = False
        i += 1
    return None


def _class_end(pattern: str, start: int) -> int:
    """Index after the character class opening at ``start`` (``]`` first in the class is literal)."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        if pattern[i] == "\\":
            i += 1
        elif pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            i = end + 1 if end != -1 else i
        i += 1
    return i + 1


def format_f(value: float) -> str:
    """``fmt.Sprintf("%f", value)``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:f}"


def format_float32_g(value: float) -> str:
    """``strconv.FormatFloat(value, 'g', -1, 32)``: the shortest text that reads back as the same float32."""
    if math.isnan(value):
        return "NaN"
    single = _float32(value)
    if math.isinf(single):
        return "+Inf" if single > 0 else "-Inf"
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    for precision in range(1, 10):
        text = f"{single:.{precision - 1}e}"
        if _float32(float(text)) == single:
            break
    mantissa, exp_text = text.split("e")
    exponent = int(exp_text)
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    if exponent < -4 or exponent >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    point = exponent + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _float32(value: float) -> float:
    """The float64 rounded to float32, as Go's conversion does (an infinity beyond float32's range)."""
    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def yaml_scalar_string(value: bool | int | float | str | None) -> str:
    """The string Sloth's YAML decoder (YAML to JSON, then into ``map[string]string``) makes of a scalar:
    ``true``/``false``, integers in decimal, floats as float32 shortest text, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format_float32_g(value)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
    return value
