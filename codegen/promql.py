"""PromQL syntax checks without a Prometheus binary (PyPI ``promql-parser``)."""

from __future__ import annotations

import re
from functools import lru_cache

import promql_parser

from codegen.conventions import render_window

# What ``shape`` scans, left to right: comments and strings are taken whole (so nothing inside them is read as a
# matcher), a label matcher ``name=`` or ``name!=`` with a plain-text value, and any quote left over (a string
# the scan could not close: then the text is left as it is). The lookahead (every token's first character) lets
# the scan skip the other characters fast.
_SHAPE_TOKEN = re.compile(
    r"(?=[#'\"`a-zA-Z_])(?:#[^\n]*|'(?:[^'\\\n]|\\.)*'|`[^`]*`"
    r'|(?<![\w:])(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*!?=\s*(?P<value>"[a-zA-Z0-9_.:/-]+")(?![\w"])'
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|(?P<stray>[\"'`]))"
)
SHAPE_VALUE = '"x"'


def shape(expr: str) -> str:
    """``expr`` with every plain-text value of an ``=`` or ``!=`` label matcher replaced by ``"x"``.

    Why: the parser accepts or rejects an expression, and builds its tree, the same whatever such a value is (it
    is not empty either way, has no escapes, and only regex matchers compile their value), so expressions that
    differ only in them (10,000 SLOs over one metric, one route each) share one parse. ``__name__`` values, regex
    matchers, values with other characters and every string that is not a matcher value are kept.
    """
    if '"' not in expr:
        return expr
    out: list[str] = []
    last = 0
    for token in _SHAPE_TOKEN.finditer(expr):
        if token.group("stray"):
            return expr
        name = token.group("name")
        if name and name != "__name__":
            out += (expr[last : token.start("value")], SHAPE_VALUE)
            last = token.end("value")
    if not out:
        return expr
    out.append(expr[last:])
    return "".join(out)


@lru_cache(maxsize=4096)  # shapes, not texts: a few per metric
def parsed_kind(shaped: str) -> type | None:
    """The parsed tree's node type of a ``shape``; None when it does not parse."""
    try:
        return type(promql_parser.parse(shaped))
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def check_expression(expr: str) -> str | None:
    """Return the parser's complaint about ``expr``, or None when it parses as an instant expression."""
    kind = parsed_kind(shape(expr))
    if kind is None:  # the complaint quotes the text: parse the text itself for it
        try:
            kind = type(promql_parser.parse(expr))
        except ValueError as exc:
            return str(exc) or "invalid PromQL"
    if issubclass(kind, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
        return "must be an instant vector or scalar expression, not a range vector"
    if issubclass(kind, promql_parser.StringLiteral):
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
