"""The part of MetricsQL that can be checked without VictoriaMetrics' parser: never rejects valid MetricsQL.

MetricsQL extends PromQL (``histogram_share``, ``vector(1)[5m]``, ``WITH`` templates, ``#`` comments, keep_metric_names,
...), so a PromQL parser would reject valid queries. What every valid query has: it is not empty, its brackets
``()``, ``[]``, ``{}`` pair up in order, and its string literals (``"``, ``'``, `````) are closed.
"""

from __future__ import annotations

_PAIRS = {")": "(", "]": "[", "}": "{"}


class MetricsQLError(ValueError):
    """The text cannot be a MetricsQL expression; the message says where."""


def check_metricsql(expr: str) -> None:
    """Raise ``MetricsQLError`` when ``expr`` is empty, has an unclosed string or unbalanced brackets."""
    if not expr.strip():
        raise MetricsQLError("query is empty")
    stack: list[tuple[str, int]] = []
    i, n = 0, len(expr)
    has_token = False
    while i < n:
        ch = expr[i]
        if ch in "\"'`":
            end = _string_end(expr, i)
            if end < 0:
                raise MetricsQLError(f"unclosed string literal starting at offset {i}")
            i, has_token = end + 1, True
            continue
        if ch == "#":  # a comment runs to the end of the line
            newline = expr.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if ch in "([{":
            stack.append((ch, i))
        elif ch in ")]}":
            if not stack or stack[-1][0] != _PAIRS[ch]:
                raise MetricsQLError(f"unexpected {ch!r} at offset {i}")
            stack.pop()
        if not ch.isspace():
            has_token = True
        i += 1
    if stack:
        opener, at = stack[-1]
        raise MetricsQLError(f"unclosed {opener!r} at offset {at}")
    if not has_token:
        raise MetricsQLError("query has only comments")


def _string_end(expr: str, start: int) -> int:
    """Index of the closing quote of the literal opened at ``start`` (backquotes have no escapes), or -1."""
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        ch = expr[i]
        if ch == "\\" and quote != "`":
            i += 2
            continue
        if ch == quote:
            return i
        if ch == "\n" and quote != "`":
            return -1
        i += 1
    return -1
