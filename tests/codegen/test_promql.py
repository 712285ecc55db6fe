"""codegen.promql: ``shape`` lets expressions that differ only in plain matcher values share one parse, so it must
never change whether an expression parses, nor its tree (bar those values)."""

from __future__ import annotations

import promql_parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen.counter_delta import _counting_calls, delta_query
from codegen.promql import check_expression, shape
from codegen.promql_check import check_composable, check_instant_vector


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('sum(rate(x{job="api",route="/a/b-1.2:3"}[5m]))', 'sum(rate(x{job="x",route="x"}[5m]))'),
        ('x{a != "v", b=~"v", c!~"v"}', 'x{a != "x", b=~"v", c!~"v"}'),  # regexes compile: kept
        ('x{__name__="y", a="b c", b="", c="\\n", d="é"}', 'x{__name__="y", a="b c", b="", c="\\n", d="é"}'),
        ('x{a="1"} # b="2"', 'x{a="x"} # b="2"'),  # a comment is not code
        ('label_replace(x, "dst", "r1", "src", "(.*)")', 'label_replace(x, "dst", "r1", "src", "(.*)")'),
        ("x{a='1', b=`2`, c=\"3\"}", "x{a='1', b=`2`, c=\"x\"}"),  # only double-quoted plain values
        ('x{a="b c=\\"d\\""}', 'x{a="b c=\\"d\\""}'),  # a matcher inside a string is text
        ('x{a="1", b="2}', 'x{a="1", b="2}'),  # a string the scan cannot close: left as it is
        ("rate(x[5m])", "rate(x[5m])"),
    ],
)
def test_shape_replaces_only_plain_matcher_values(expr: str, expected: str) -> None:
    assert shape(expr) == expected


def _reference_check(expr: str) -> str | None:
    """``check_expression`` as it was before shapes: one parse of the text itself."""
    try:
        parsed = promql_parser.parse(expr)
    except ValueError as exc:
        return str(exc) or "invalid PromQL"
    if isinstance(parsed, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
        return "must be an instant vector or scalar expression, not a range vector"
    if isinstance(parsed, promql_parser.StringLiteral):
        return "must be an instant vector or scalar expression, not a string"
    return None


def _reference_calls(expr: str) -> int | None:
    try:
        return _counting_calls(promql_parser.parse(expr))
    except ValueError:
        return None


TEMPLATES = (
    "sum(rate(x{{a={v}}}[5m]))",
    "sum(rate(x{{a!={v}, b=~{v}}}[5m])) - sum(rate(y{{c={v}}}[5m]))",
    "{{a={v}}}",
    "{{a!={v}}}",
    "rate(x{{a={v}}}[5m])",
    'label_replace(x{{a={v}}}, "d", {v}, "s", "(.*)")',
    "x{{a={v}}} != {v}",
    "x{{a={v}, __name__={v}}}",
    "x{{a={v}}} # {v}\n+ y{{b={v}}}",
    "sum(rate(x{{a={v}}}[5m])) > 0",
)
VALUES = st.one_of(
    st.text(alphabet="ab1._:/-\" \\\n#{}=!~'`é()[]", max_size=8).map(lambda t: f'"{t}"'),
    st.text(max_size=6),
    st.sampled_from(['"r1"', '"5.."', '""', '"a\\"b"', '"a\\qb"', '"é"', "'q'", "`q`", '"x"y"', '"1"} or z{b="2"']),
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(template=st.sampled_from(TEMPLATES), value=VALUES)
def test_a_shape_parses_exactly_when_its_text_does(template: str, value: str) -> None:
    expr = template.format(v=value)
    assert check_expression(expr) == _reference_check(expr)
    try:
        tree: type | None = type(promql_parser.parse(expr))
    except ValueError:
        tree = None
    try:
        shaped: type | None = type(promql_parser.parse(shape(expr)))
    except ValueError:
        shaped = None
    assert shaped == tree
    assert _reference_calls(shape(expr)) == _reference_calls(expr)
    assert (check_instant_vector(expr) is None) == (_reference_check(expr) is None and _parses(f"absent(\n{expr}\n)"))
    assert (check_composable(expr) is None) == _parses(f"({expr})")


def _parses(expr: str) -> bool:
    try:
        promql_parser.parse(expr)
    except ValueError:
        return False
    return True


def test_queries_that_differ_in_matcher_values_keep_their_own_rewrite() -> None:
    """The shared parse answers only "linear or not"; the rewrite is of each query's own text."""
    one = delta_query('sum(rate(x{route="r1"}[5m]))')
    two = delta_query('sum(rate(x{route="r2"}[5m]))')
    assert one is not None and 'route="r1"' in one and 'route="r2"' not in one
    assert two is not None and 'route="r2"' in two
    assert delta_query('sum(rate(x{route="r1"}[5m])) > 0') is None
