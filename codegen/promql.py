"""PromQL syntax checks without a Prometheus binary (PyPI ``promql-parser``)."""

from __future__ import annotations

from functools import lru_cache

import promql_parser

from codegen.conventions import render_window


@lru_cache(maxsize=65536)
def check_expression(expr: str) -> str | None:
    """Return the parser's complaint about ``expr``, or None when it parses as an instant expression."""
    try:
        parsed = promql_parser.parse(expr)
    except ValueError as exc:
        return str(exc) or "invalid PromQL"
    if isinstance(parsed, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
        return "must be an instant vector or scalar expression, not a range vector"
    if isinstance(parsed, promql_parser.StringLiteral):
        return "must be an instant vector or scalar expression, not a string"
    return None


@lru_cache(maxsize=65536)  # parse and the validate plugin check each template: all of 10,000 SLOs' must fit
def check_template(template: str) -> str | None:
    """Sloth renders templates with a 1m window before parsing; so do we."""
    return check_expression(render_window(template, "1m"))


def absent_labels(expr: str) -> dict[str, str]:
    """Labels ``absent(expr)`` returns: a plain selector's equality matchers (not ``__name__``), else none.

    ``expr`` may be the selector or the whole ``absent(...)`` call.
    """
    try:
        parsed = promql_parser.parse(expr)
    except ValueError:
        return {}
    if isinstance(parsed, promql_parser.Call) and parsed.func.name == "absent" and len(parsed.args) == 1:
        parsed = parsed.args[0]
    if not isinstance(parsed, promql_parser.VectorSelector):
        return {}
    equal = [m for m in parsed.matchers.matchers if m.op == promql_parser.MatchOp.Equal and m.name != "__name__"]
    equal = [m for m in equal if m.value]  # label="" matches a missing label; absent() makes no empty labels
    names = [m.name for m in equal]
    return {m.name: m.value for m in equal if names.count(m.name) == 1}
