"""codegen.counter_delta: which SLI queries become exact counter increments, and that the rewrite keeps them whole.

Exactness itself is proven on promtool's engine in test_exact_rules.py (sparse errors off the evaluation grid).
"""

from __future__ import annotations

import json

import promql_parser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codegen.counter_delta import delta_query


def delta(selector: str) -> str:
    return f"(({selector} - {selector} offset 5m) >= 0 or increase({selector}[5m]))"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('sum(rate(http_requests_total{code=~"5.."}[5m]))', "sum(" + delta('http_requests_total{code=~"5.."}') + ")"),
        ("sum(increase(x[5m]))", f"sum({delta('x')})"),
        ("sum by (a) (rate(x[ 5m ]))", f"sum by (a) ({delta('x')})"),
        ("sum(rate(x[5m])) - sum(rate(y[5m])) * 2", f"sum({delta('x')}) - sum({delta('y')}) * 2"),
        ("2 * sum(rate(x[5m])) / 60", f"2 * sum({delta('x')}) / 60"),
        ("sum(rate(x[5m])) or vector(0)", f"sum({delta('x')}) or vector(0)"),
        ("-(sum(rate(x[5m])))", f"-(sum({delta('x')}))"),
        (
            'sum(label_replace(rate(x[5m]), "a", "$1", "b", "(.*)"))',
            "sum(label_replace(" + delta("x") + ', "a", "$1", "b", "(.*)"))',
        ),
        ('sum(rate(x{a="rate(y[5m])"}[5m]))', "sum(" + delta('x{a="rate(y[5m])"}') + ")"),  # a call in a string
        ("sum(rate(x{a='[5m])'}[5m]))", "sum(" + delta("x{a='[5m])'}") + ")"),
    ],
)
def test_linear_queries_become_counter_increments(query: str, expected: str) -> None:
    assert delta_query(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "sum(rate(x[5m])) + 1",  # a constant is not scaled with the counts
        "sum(rate(x[1m]))",  # not the tile's range
        "max(rate(x[5m]))",  # picks a series by value
        "sum(rate(x[5m] offset 1m))",
        "sum(rate(x[5m] @ 100))",
        'sum(rate({__name__=~"x|y"}[5m]))',  # names dropped by the delta could collide
        "sum(irate(x[5m]))",
        "sum(rate(x[5m])) > 0",  # a threshold in rate units
        "sum(rate(x[5m])) / sum(rate(y[5m]))",  # a ratio of rates is not a count
        "sum(rate(x[5m])) * on() group_left() up",  # an instant selector
        "sum(rate(x[5m:1m]))",
        "vector(1)",
        "sum(x)",
        "sum(rate(x[5m]",  # does not parse
    ],
)
def test_other_queries_keep_their_rate_form(query: str) -> None:
    assert delta_query(query) is None


@given(value=st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_any_label_value_survives_the_rewrite_whole(value: str) -> None:
    """Whatever a label value holds (quotes, brackets, "rate(", "#"), the rewrite splits no string: the result
    parses and reads the same selector, with the same value, three times (now, 5m ago, and the reset fallback)."""
    quoted = json.dumps(value)  # a PromQL double-quoted string: JSON escapes are PromQL escapes
    query = f"sum(rate(http_requests_total{{path={quoted}}}[5m]))"
    try:
        promql_parser.parse(query)
    except ValueError:
        return  # not a query a spec could hold
    rewritten = delta_query(query)
    assert rewritten is not None
    tree = promql_parser.parse(rewritten)
    assert str(tree).count("offset 5m") == 1
    text = str(tree)
    assert text.count("http_requests_total") == 3
    assert rewritten.count(quoted) == 3
