"""The loader's shortcuts (remembered tags, strings and nulls made without PyYAML's constructor, alias counting only
when an anchor is written) must read every scalar exactly as PyYAML's own resolver and constructor do."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen.loader import _SlothLoader, _StrictLoader, load_text

LOADERS: tuple[type[_StrictLoader], ...] = (_StrictLoader, _SlothLoader)

# Texts on the edges of YAML 1.1's implicit types (and our YAML 1.2 float additions).
TRICKY = [
    *("", "~", "null", "Null", "NULL", "nULL", "none", "y", "Y", "yes", "Yes", "YES", "yEs", "n", "no", "NO", "on"),
    *("On", "OFF", "off", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "0", "-0", "+0", "00", "012"),
    *("0o17", "0x1F", "0X1f", "0b101", "0b102", "1_000", "_1", "1__0", "190:20:30", "1:60", "-1:30", "1e3", "1E3"),
    *("1e+3", "1.e3", "1.0e-3", ".5", "+.5", "-.5e1", "99.9e0", "1.10", "1_0.0_1", ".inf", ".Inf", ".INF", "-.inf"),
    *("+.inf", ".nan", ".NaN", ".NAN", "nan", "inf", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2002-1-1"),
    *("2001-12-14 21:59:43.10", "2001-12-14T21:59:43Z", "2001-13-40", "=", "<<", "<", "-", "+", ".", "1.2.3"),
    *("0.", "-.", "1e", "e3", "0x", "0o", "1:2:3.5", "12:30", "abc", "a b", "route", "9999999999999999999999"),
]
SCALAR = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet="0123456789+-._:eExXoObBnNyYtTfFlLsuaArR ~=<", min_size=1, max_size=12),
)


def _plain_tag(loader: type[_StrictLoader], text: str) -> str:
    """What PyYAML's own resolver makes of a plain scalar for ``loader``'s implicit resolvers."""
    reference = loader("")
    try:
        return str(yaml.resolver.BaseResolver.resolve(reference, yaml.ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]
    finally:
        reference.dispose()


@pytest.mark.parametrize("loader", LOADERS)
@given(st.lists(st.one_of(SCALAR, st.text(max_size=8)), max_size=20))
def test_resolve_gives_pyyamls_tag_for_every_text(loader: type[_StrictLoader], texts: list[str]) -> None:
    fast = loader("")
    try:
        for text in [*texts, *texts]:  # the second pass answers from what the first remembered
            assert fast.resolve(yaml.ScalarNode, text, (True, False)) == _plain_tag(loader, text), text
            assert fast.resolve(yaml.ScalarNode, text, (False, True)) == "tag:yaml.org,2002:str"
        assert fast.resolve(yaml.MappingNode, None, (True, False)) == "tag:yaml.org,2002:map"
        assert fast.resolve(yaml.SequenceNode, None, (True, False)) == "tag:yaml.org,2002:seq"
    finally:
        fast.dispose()


def _typed(value: Any) -> Any:
    """``value`` with each scalar's exact type made visible (``True == 1``; ``YamlInt`` is an ``int``)."""
    if isinstance(value, dict):
        return {_typed(k): _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | datetime.date):
        return (type(value).__name__, value)
    if isinstance(value, int):
        return ("int", int(value))
    if isinstance(value, float):
        return ("float", repr(float(value)))
    raise AssertionError(f"unexpected {type(value).__name__}")


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Block mappings and sequences of plain scalars, some keys themselves tricky, some items anchored."""
    lines: list[str] = []
    anchors = 0

    def block(indent: int, depth: int) -> None:
        nonlocal anchors
        keys = draw(st.lists(st.one_of(st.sampled_from(["name", "sli", "labels"]), SCALAR), max_size=4, unique=True))
        for key in keys:
            kind = draw(st.sampled_from(["scalar", "scalar", "map", "seq", "anchor"] if depth < 3 else ["scalar"]))
            if kind == "map":
                lines.append(f"{' ' * indent}{key}:")
                block(indent + 2, depth + 1)
            elif kind == "seq":
                lines.append(f"{' ' * indent}{key}:")
                for item in draw(st.lists(SCALAR, min_size=1, max_size=3)):
                    lines.append(f"{' ' * indent}- {item}")
            elif kind == "anchor":
                anchors += 1
                lines.append(f"{' ' * indent}{key}: &a{anchors} {draw(SCALAR)}")
                lines.append(f"{' ' * indent}again{anchors}: *a{anchors}")
            else:
                lines.append(f"{' ' * indent}{key}: {draw(SCALAR)}")

    block(0, 0)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", LOADERS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(documents())
def test_values_are_pyyamls(loader: type[_StrictLoader], text: str) -> None:
    """Every scalar, key or value, plain or aliased, reads as PyYAML's resolver and constructor read it."""

    class Reference(loader):  # type: ignore[valid-type,misc]
        resolve = yaml.resolver.BaseResolver.resolve

    try:
        expected = yaml.load(text, Loader=Reference)  # SafeLoader constructor, PyYAML resolver
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return  # not YAML (or a value the constructor refuses): the hostile tests cover the errors
    documents, errors = load_text(text, "x.yaml", sloth_compat=loader is _SlothLoader)
    if errors:  # keys PyYAML merges silently (1 and 0x1, yes and on), and the tags specs may not use (= and <<)
        assert all(any(w in e.message for w in ("duplicate key", "not supported")) for e in errors), errors
        return
    assert [_typed(d.data) for d in documents] == ([_typed(expected)] if expected is not None else [])


def test_an_alias_without_an_anchor_is_still_an_error() -> None:
    """The alias-counting shortcut (no ``&`` in the text) leaves the composer to refuse an undefined alias."""
    documents, errors = load_text("a: *nothing\n", "x.yaml")
    assert not documents and errors and "invalid YAML" in errors[0].message


def test_aliases_are_counted_when_an_anchor_is_written() -> None:
    """An anchor anywhere turns alias counting on: a bomb is still stopped."""
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    documents, errors = load_text("\n".join(rows) + "\n", "x.yaml")
    assert not documents and "alias bomb" in errors[-1].message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: !!bool maybe\n", "invalid bool value 'maybe': expected true, false, yes, no, on or off (any case)"),
        ("a: !!bool ''\n", "invalid bool value '': expected true, false, yes, no, on or off (any case)"),
        ("a: !!bool 1\n", "invalid bool value '1': expected true, false, yes, no, on or off (any case)"),
        ("a: !!int\n", "invalid int value '': expected an integer (e.g. 42, 0x2A, 0o52, 1_000)"),
        ("a: !!int _\n", "invalid int value '_': expected an integer (e.g. 42, 0x2A, 0o52, 1_000)"),
        ("a: !!float\n", "invalid float value '': expected a number (e.g. 1.5, 1e3, .inf)"),
        (
            "a: !!timestamp foo\n",
            "invalid timestamp value 'foo': expected a date or time (e.g. 2001-12-14 or 2001-12-14T21:59:43Z)",
        ),
        (
            "a: !!timestamp\n",
            "invalid timestamp value '': expected a date or time (e.g. 2001-12-14 or 2001-12-14T21:59:43Z)",
        ),
    ],
)
def test_an_explicit_tag_on_a_malformed_value_is_an_error(text: str, problem: str) -> None:
    """An explicit tag skips the resolver's patterns and PyYAML's constructors then fail with KeyError,
    IndexError or AttributeError: the loader reports the value, it does not crash."""
    _, errors = load_text(text, "x.yaml")
    assert [(e.line, e.field, e.message) for e in errors] == [(1, "a", problem)]


@given(
    st.sampled_from(["bool", "int", "float", "timestamp", "null", "str"]),
    st.one_of(SCALAR, st.text(alphabet="0123456789-+.:_eExXoObTtZz ", max_size=12)),
)
def test_any_explicitly_tagged_scalar_loads_or_is_an_error(kind: str, text: str) -> None:
    """Never an exception: hostile input gets an error naming the value."""
    documents, errors = load_text(f"a: !!{kind} {text}\n", "x.yaml")
    assert documents or errors
