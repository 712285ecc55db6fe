"""PromQL checks for what slogen composes: user expressions must keep their meaning (and parse) once embedded.

``codegen.promql`` answers "does this parse"; this module answers the questions composition raises: is it an
instant vector (``max(...)``, ``absent(...)`` and ``or`` need one), does it survive being wrapped in parentheses
(a trailing ``# comment`` would swallow the closing one), and are latency ``matchers`` label matchers and nothing
more (they are spliced into a selector). ``string_literal`` escapes label values for PromQL series selectors.
"""

from __future__ import annotations

import re

from codegen.promql import check_expression, parsed_kind, shape

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPERATOR = re.compile(r"=~|!~|!=|=")
# A PromQL string literal: double- or single-quoted with backslash escapes (no raw newline), or backtick raw.
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`', re.DOTALL)
_RESERVED_MATCHERS = {
    "__name__": "the metric name comes from `histogram`",
    "le": "slogen adds the le matcher from `threshold`",
}


def check_instant_vector(expr: str) -> str | None:
    """None when ``expr`` is a valid instant-vector expression; else why not (a scalar, a range, a string...)."""
    problem = check_expression(expr)
    if problem:
        return problem
    if parsed_kind(shape(f"absent(\n{expr}\n)")) is None:
        return "must be an instant vector expression (a selector, a function or aggregation of one), not a scalar"
    return None


def check_composable(expr: str) -> str | None:
    """None when ``(expr)`` parses: slogen wraps every user expression it composes in parentheses."""
    if parsed_kind(shape(f"({expr})")) is None:
        return "ends in a # comment, which would swallow the parentheses slogen wraps around it; remove the comment"
    return None


def parse_matchers(text: str) -> tuple[str, str | None]:
    """``(canonical, None)`` for a list of label matchers (``job="x", path=~"/a.*"``), else ``("", reason)``.

    The canonical form joins ``name<op><string>`` with commas and no spaces; the strings keep their original
    quoting, so their meaning is exactly what the user wrote.
    """
    parts: list[str] = []
    i, n = 0, len(text)

    def skip_space(at: int) -> int:
        while at < n and text[at] in " \t\r\n":
            at += 1
        return at

    i = skip_space(i)
    while i < n:
        name = _LABEL_NAME.match(text, i)
        if name is None:
            return "", f"expected a label name at {text[i : i + 20]!r}"
        if name.group() in _RESERVED_MATCHERS:
            return "", f"{name.group()} may not be matched here: {_RESERVED_MATCHERS[name.group()]}"
        i = skip_space(name.end())
        operator = _OPERATOR.match(text, i)
        if operator is None:
            return "", f"expected =, !=, =~ or !~ after {name.group()!r}"
        i = skip_space(operator.end())
        value = _STRING.match(text, i)
        if value is None:
            return "", f"expected a quoted string after {name.group()}{operator.group()}"
        parts.append(f"{name.group()}{operator.group()}{value.group()}")
        i = skip_space(value.end())
        if i < n:
            if text[i] != ",":
                return "", f"expected ',' between matchers at {text[i : i + 20]!r}"
            i = skip_space(i + 1)
    canonical = ",".join(parts)
    if canonical:
        problem = check_expression(f"m{{{canonical}}}")
        if problem:
            return "", problem
    return canonical, None


def string_literal(value: str) -> str:
    """``value`` as a double-quoted PromQL string (series selectors in promtool tests, label matchers)."""
    out = ['"']
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
