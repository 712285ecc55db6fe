"""Exact counter increments per tile: ``rate(x[5m])`` in an SLI query rewritten to the counter's delta.

Why: ``rate()`` sees only the samples inside its range and extrapolates to the edges, so the scrape interval that
straddles a tile edge is estimated, never counted. Summing disjoint 5m tiles over a day puts 288 such estimates in
the window; a service with ~50 errors a day is then several percent off. The delta ``x - x offset 5m`` of
consecutive tiles telescopes instead: tiles summed over ``W`` equal ``x(t) - x(t - W)``, the exact count of the
increments scraped in ``(t - W, t]``, however many tiles the window has.

Counter resets and series younger than the tile keep Prometheus' own reading: ``(x - x offset 5m) >= 0`` has no
sample where the counter went down or did not exist 5m ago, and ``or increase(x[5m])`` fills exactly those.

Only queries that are linear in their rates are rewritten: sums of ``rate``/``increase`` of named 5m selectors,
scaled by numbers, combined with ``+``, ``-`` and the set operators. There every rate can become a count (the
ratio of errors to total keeps its meaning); anything else (other range functions, comparisons, a constant added,
an instant selector, offsets, subqueries) keeps its rate form, and the caller its `rate()` tiles.
"""

from __future__ import annotations

import re
from functools import lru_cache

import promql_parser

from codegen.durations import format_duration
from codegen.promql import shape

TILE_SECONDS = 300  # the base tile every SLI window is built from (codegen.exact_rules)
TILE = format_duration(TILE_SECONDS)
_COUNTING = frozenset({"rate", "increase"})
_LINEAR_BINARY = frozenset({"+", "-", "and", "or", "unless"})
_SCALING = frozenset({"*", "/"})
_PASS_THROUGH = frozenset({"label_replace", "label_join"})  # relabel their first argument, values untouched

# Strings and comments are matched whole, so a "rate(" or "[" inside a label value is never taken for code.
_SKIPPED = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|#[^\n]*'
_CALL = re.compile(_SKIPPED + r"|(?<![\w:])(rate|increase)\s*\(", re.DOTALL)  # group 1: a counting call
_BRACKET = re.compile(_SKIPPED + r"|(\[)", re.DOTALL)  # group 1: the selector's range opens
_RANGE_END = re.compile(r"\[\s*" + TILE + r"\s*\]\s*\)")
_SELECTOR = re.compile(r"[a-zA-Z_:][\w:]*\s*(?:\{(?:" + _SKIPPED + r"|[^{}\"'`#])*\})?", re.DOTALL)


def _counting_calls(node: object) -> int | None:
    """How many ``rate``/``increase`` of a named 5m selector ``node`` holds; None when it is not linear in them."""
    match node:
        case promql_parser.AggregateExpr():
            return _counting_calls(node.expr) if str(node.op) == "sum" and node.param is None else None
        case promql_parser.ParenExpr() | promql_parser.UnaryExpr():
            return _counting_calls(node.expr)
        case promql_parser.BinaryExpr():
            return _binary_calls(node)
        case promql_parser.Call():
            return _call_calls(node)
        case _:
            return None


def _binary_calls(node: promql_parser.BinaryExpr) -> int | None:
    op = str(node.op)
    if op in _LINEAR_BINARY:
        if isinstance(node.lhs, promql_parser.NumberLiteral) or isinstance(node.rhs, promql_parser.NumberLiteral):
            return None  # a constant added is not scaled with the counts
        lhs, rhs = _counting_calls(node.lhs), _counting_calls(node.rhs)
        return None if lhs is None or rhs is None else lhs + rhs
    if op in _SCALING:
        if isinstance(node.rhs, promql_parser.NumberLiteral):
            return _counting_calls(node.lhs)
        if op == "*" and isinstance(node.lhs, promql_parser.NumberLiteral):
            return _counting_calls(node.rhs)
    return None  # comparisons, vector products, powers, modulo


def _call_calls(node: promql_parser.Call) -> int | None:
    name, args = node.func.name, node.args
    if name in _COUNTING:
        arg = args[0]
        if not isinstance(arg, promql_parser.MatrixSelector) or arg.range.total_seconds() != TILE_SECONDS:
            return None
        selector = arg.vector_selector
        named = bool(selector.name) and all(m.name != "__name__" for m in selector.matchers.matchers)
        plain = selector.offset is None and selector.at is None and not selector.matchers.or_matchers
        return 1 if named and plain else None
    if name == "vector" and isinstance(args[0], promql_parser.NumberLiteral) and args[0].val == 0:
        return 0
    if name in _PASS_THROUGH:
        return _counting_calls(args[0])
    return None


def _delta(selector: str) -> str:
    return f"(({selector} - {selector} offset {TILE}) >= 0 or increase({selector}[{TILE}]))"


@lru_cache(maxsize=4096)  # shapes, not texts: queries that differ only in matcher values share the answer
def _linear_calls(shaped: str) -> int | None:
    """``_counting_calls`` of a ``promql.shape``; None when it does not parse."""
    try:
        return _counting_calls(promql_parser.parse(shaped))
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def delta_query(query: str) -> str | None:
    """``query`` (an SLI query over a 5m range) with every ``rate``/``increase`` of a counter turned into the
    counter's exact increase over the tile; None when the query is not linear in them (keep the rate form)."""
    calls = _linear_calls(shape(query))
    if not calls:
        return None
    out: list[str] = []
    done = last = 0
    position = 0
    while (token := _CALL.search(query, position)) is not None:
        position = token.end()
        if token.group(1) is None:
            continue  # a string or a comment
        bracket = next((m.start() for m in _BRACKET.finditer(query, position) if m.group(1)), -1)
        end = _RANGE_END.match(query, bracket) if bracket >= 0 else None
        if end is None:
            return None
        selector = query[position:bracket].strip()
        if not _plain_selector(selector):
            return None
        out += [query[last : token.start()], _delta(selector)]
        last = position = end.end()
        done += 1
    return "".join([*out, query[last:]]) if done == calls else None


def _plain_selector(text: str) -> bool:
    """Whether the text cut out of a call is one named vector selector (a name, then at most one brace block of
    strings and matcher text): the call, a valid operand, then becomes another valid operand, so the three times
    longer query need not be parsed again (promql-parser compiles every regex matcher on each parse)."""
    return _SELECTOR.fullmatch(text) is not None
