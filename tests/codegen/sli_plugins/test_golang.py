"""The Go semantics the ported plugins rely on, against values Go's own standard library documents or tests."""

from __future__ import annotations

import math
import re

import pytest

from codegen.sli_plugins.golang import (
    format_f,
    format_float32_g,
    parse_bool,
    parse_float,
    regexp_error,
    trim_space,
    yaml_scalar_string,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.25", 0.25),
        ("1_23.50_0_0e+1_2", 1.235e14),
        ("0x1p-2", 0.25),
        ("0x_1_2.3_4_5p+1_2", float.fromhex("0x12.345p+12")),
        (".5", 0.5),
        ("5.", 5.0),
        ("+INF", math.inf),
        ("-Infinity", -math.inf),
        ("1e-400", 0.0),
    ],
)
def test_parse_float_accepts(text: str, value: float) -> None:
    assert parse_float(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "-_123.5e+12",
        "1__23.5e+12",
        "123_.5e+12",
        "123._5e+12",
        "123.5_e+12",
        "123.5e+12_",
        "123.5e_+12",
        "0x1.8",
        "0xp1",
        "+nan",
        "1e400",
        "one",
        "0.2.1",
        "1e",
    ],
)
def test_parse_float_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f'parsing "{text}"')):
        parse_float(text)


def test_parse_float_nan() -> None:
    assert math.isnan(parse_float("NaN"))


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("t", True), ("TRUE", True), ("True", True), ("0", False), ("F", False), ("false", False)],
)
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["yes", "tRUE", "10", "", " true"])
def test_parse_bool_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bool(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1, "0.1"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (16777217.0, "1.6777216e+07"),
        (0.123456789, "0.12345679"),
        (3.4028235e38, "3.4028235e+38"),
        (1e39, "+Inf"),
        (-0.0, "-0"),
        (-2.5, "-2.5"),
    ],
)
def test_format_float32_g(value: float, text: str) -> None:
    assert format_float32_g(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (300, "300"), (0.004, "0.004"), (None, ""), (math.inf, ".inf"), ("x", "x")],
)
def test_yaml_scalar_string(value: bool | int | float | str | None, text: str) -> None:
    assert yaml_scalar_string(value) == text


def test_format_f() -> None:
    assert [format_f(v) for v in (0.01, 1 / 3, 10.0, math.inf, -math.inf, math.nan)] == [
        "0.010000",
        "0.333333",
        "10.000000",
        "+Inf",
        "-Inf",
        "NaN",
    ]


def test_trim_space_is_gos() -> None:
    assert trim_space("\t\u3000 x \x85\n") == "x"
    assert trim_space("\x1cx\x1f") == "\x1cx\x1f"  # Python's strip() would drop these; Go keeps them


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        ("^github.com/slok/sloth/?$", True),
        ("(SERVFAIL|FORMERR)", True),
        ("a*?", True),
        (r"\pL+", True),
        ("[[:alpha:]]", True),
        ("(?i)x", True),
        ("a{2,1000}", True),
        ("[]a]*", True),
        ("(SERVFAIL|", False),
        ("([xyz", False),
        ("a**", False),
        ("a*??", False),
        ("x{2}{3}", False),
        ("a{1001}", False),
        ("(?=x)", False),
        (r"\1", False),
        ("[z-a]", False),
    ],
)
def test_regexp_error(pattern: str, ok: bool) -> None:
    assert (regexp_error(pattern) is None) is ok
