"""Go ``text/template`` checks for alert labels and annotations, without a Go toolchain.

Prometheus parses every alerting rule's label values and annotations as Go templates when it loads the rules
(``promtool check rules`` too), so a stray ``{{`` makes the whole rule file unloadable. ``check_template`` accepts
a subset of the template language that Go certainly accepts -- text, comments, trim markers, pipelines of
literals, fields, variables, defined functions and parenthesised pipelines, ``if``/``else if``/``else``/``with``/
``range``/``end``, ``break``/``continue``, ``$x :=``/``$x =`` -- and rejects everything else with a reason.
Being stricter than Go is allowed (the user gets a message); accepting what Go rejects is not.

``literal`` turns plain text into a template that prints it unchanged, for text slogen itself puts into
annotations (descriptions, runbook URLs, queries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Go's own template functions, and the functions Prometheus adds, as far back as Prometheus 2.30.
GO_FUNCTIONS = frozenset(
    [
        "and",
        "call",
        "html",
        "index",
        "slice",
        "js",
        "len",
        "not",
        "or",
        "print",
        "printf",
        "println",
        "urlquery",
        "eq",
        "ge",
        "gt",
        "le",
        "lt",
        "ne",
    ]
)
PROMETHEUS_FUNCTIONS = frozenset(
    [
        "query",
        "first",
        "label",
        "value",
        "strvalue",
        "args",
        "reReplaceAll",
        "safeHtml",
        "match",
        "title",
        "toUpper",
        "toLower",
        "graphLink",
        "tableLink",
        "sortByLabel",
        "humanize",
        "humanize1024",
        "humanizeDuration",
        "humanizePercentage",
        "humanizeTimestamp",
        "pathPrefix",
        "externalURL",
        "stripPort",
        "parseDuration",
        "toTime",
    ]
)
FUNCTIONS = GO_FUNCTIONS | PROMETHEUS_FUNCTIONS
# Prometheus prefixes every template with these definitions.
PREDEFINED_VARIABLES = ("$", "$labels", "$externalLabels", "$externalURL", "$value")

_SPACE = " \t\r\n"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_ESCAPE = re.compile(r"\\(?:[abfnrtv\\]|[0-3][0-7]{2}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
_KEYWORDS = frozenset(["block", "break", "continue", "define", "else", "end", "if", "nil", "range", "template", "with"])


class TemplateError(ValueError):
    """The template is not in the accepted subset; the message says where and why."""


@dataclass
class _Token:
    kind: str  # text of punctuation, or: string, raw, char, number, field, variable, ident, dot
    text: str


def _unquote_ok(body: str, quote: str) -> bool:
    """Whether a Go quoted string's body (between the quotes) has only valid escapes."""
    i = 0
    while i < len(body):
        if body[i] == "\\":
            if body[i : i + 2] == "\\" + quote:
                i += 2
                continue
            match = _ESCAPE.match(body, i)
            if match is None:
                return False
            escape = match.group()
            if (escape[1] in "uU" and 0xD800 <= int(escape[2:], 16) <= 0xDFFF) or (
                escape[1] == "U" and int(escape[2:], 16) > 0x10FFFF
            ):
                return False
            i = match.end()
        elif body[i] == quote or body[i] == "\n":
            return False
        else:
            i += 1
    return True


def _lex_action(text: str, start: int) -> tuple[list[_Token], int]:
    """Tokens of one action starting after ``{{`` (and a trim marker); returns them and the index after ``}}``."""
    tokens: list[_Token] = []
    i = start
    n = len(text)
    while True:
        if i >= n:
            raise TemplateError("unclosed action")
        char = text[i]
        if text.startswith("}}", i):
            return tokens, i + 2
        if char in _SPACE:
            j = i
            while j < n and text[j] in _SPACE:
                j += 1
            if text.startswith("-}}", j):
                return tokens, j + 3
            i = j
            continue
        if text.startswith(":=", i):
            tokens.append(_Token(":=", ":="))
            i += 2
        elif char in "|()=,":
            tokens.append(_Token(char, char))
            i += 1
        elif char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\n":
                    raise TemplateError("unterminated quoted string")
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise TemplateError("unterminated quoted string")
            body = text[i + 1 : j]
            if not _unquote_ok(body, '"'):
                raise TemplateError(f"bad quoted string {text[i : j + 1]!r}")
            tokens.append(_Token("string", body))
            i = j + 1
        elif char == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise TemplateError("unterminated raw quoted string")
            tokens.append(_Token("raw", text[i + 1 : j]))
            i = j + 1
        elif char == "'":
            j = i + 1
            while j < n and text[j] != "'":
                if text[j] == "\n":
                    raise TemplateError("unterminated character constant")
                j += 2 if text[j] == "\\" else 1
            body = text[i + 1 : j] if j < n else ""
            if j >= n or not ((len(body) == 1 and body != "\\") or (body.startswith("\\") and _unquote_ok(body, "'"))):
                raise TemplateError("bad character constant")
            if body.startswith("\\") and _ESCAPE.fullmatch(body) is None and body != "\\'":
                raise TemplateError("bad character constant")
            tokens.append(_Token("char", body))
            i = j + 1
        elif char in "+-" or char.isdigit() or (char == "." and i + 1 < n and text[i + 1].isdigit()):
            match = _NUMBER.match(text, i)
            if match is None:
                raise TemplateError(f"bad number syntax at {text[i : i + 10]!r}")
            tokens.append(_Token("number", match.group()))
            i = match.end()
            _expect_terminator(text, i)
        elif char == ".":
            match = _IDENT.match(text, i + 1)
            if match is None:
                tokens.append(_Token("dot", "."))
                i += 1
            else:
                tokens.append(_Token("field", match.group()))
                i = match.end()
            _expect_terminator(text, i)
        elif char == "$":
            match = _IDENT.match(text, i + 1)
            name = "$" + (match.group() if match else "")
            tokens.append(_Token("variable", name))
            i += len(name)
            _expect_terminator(text, i)
        elif match := _IDENT.match(text, i):
            tokens.append(_Token("ident", match.group()))
            i = match.end()
            _expect_terminator(text, i)
        else:
            raise TemplateError(f"unexpected character {char!r} in action")


def _expect_terminator(text: str, i: int) -> None:
    """Go ends a word only at a space, ``.``, ``,``, ``|``, ``:``, ``(``, ``)``, the end or ``}}``."""
    if i >= len(text) or text[i] in _SPACE + ".,|:()" or text.startswith("}}", i):
        return
    raise TemplateError(f"unexpected character {text[i]!r} after {text[max(0, i - 10) : i]!r}")


class _Parser:
    """Checks the token stream of every action against the accepted grammar, with block and variable scopes."""

    def __init__(self) -> None:
        self.variables: list[str] = list(PREDEFINED_VARIABLES)
        self.blocks: list[tuple[str, int, bool]] = []  # keyword, variables in scope at its start, seen plain else

    def action(self, tokens: list[_Token]) -> None:
        if not tokens:
            raise TemplateError("empty action {{ }}")
        head = tokens[0]
        if head.kind == "ident" and head.text in _KEYWORDS:
            self.keyword(head.text, tokens[1:])
            return
        self.pipeline(tokens, allow_declaration=True)

    def keyword(self, word: str, rest: list[_Token]) -> None:
        if word in ("if", "with", "range"):
            self.blocks.append((word, len(self.variables), False))
            self.pipeline(rest, allow_declaration=True, ranging=word == "range")
        elif word == "else":
            if not self.blocks:
                raise TemplateError("{{else}} outside if, with or range")
            keyword, scope, seen_else = self.blocks[-1]
            if seen_else:
                raise TemplateError("{{else}} after {{else}}")
            if rest:
                if not (rest[0].kind == "ident" and rest[0].text == "if" and keyword == "if"):
                    raise TemplateError("only {{else if ...}} may follow else")
                self.pipeline(rest[1:], allow_declaration=True)
            else:
                self.blocks[-1] = (keyword, scope, True)
        elif word == "end":
            if rest:
                raise TemplateError("{{end}} takes no arguments")
            if not self.blocks:
                raise TemplateError("unexpected {{end}}")
            _, scope, _ = self.blocks.pop()
            del self.variables[scope:]
        elif word in ("break", "continue"):
            if rest:
                raise TemplateError(f"{{{{{word}}}}} takes no arguments")
            if not any(keyword == "range" for keyword, _, _ in self.blocks):
                raise TemplateError(f"{{{{{word}}}}} outside {{{{range}}}}")
        elif word == "nil":
            raise TemplateError("nil is not a command")
        else:
            raise TemplateError(f"{{{{{word}}}}} is not supported in alert templates")

    def pipeline(self, tokens: list[_Token], allow_declaration: bool, ranging: bool = False) -> None:
        if not tokens:
            raise TemplateError("missing value for command")
        declared: list[str] = []
        if allow_declaration:
            names: list[str] = []
            i = 0
            while i < len(tokens) and tokens[i].kind == "variable":
                names.append(tokens[i].text)
                if i + 1 < len(tokens) and tokens[i + 1].kind == "," and ranging and len(names) == 1:
                    i += 2
                    continue
                break
            after = len(names) * 2 - 1
            if names and after < len(tokens) and tokens[after].kind in (":=", "="):
                if tokens[after].kind == "=":
                    for name in names:
                        self.use(name)
                elif any(name == "$" for name in names):
                    raise TemplateError("cannot declare $")
                else:
                    declared = names
                tokens = tokens[after + 1 :]
                if not tokens:
                    raise TemplateError("missing value for declaration")
        stages: list[list[_Token]] = [[]]
        depth = 0
        for token in tokens:
            depth += {"(": 1, ")": -1}.get(token.kind, 0)
            if depth < 0:
                raise TemplateError("unexpected right parenthesis")
            if token.kind == "|" and depth == 0:
                stages.append([])
            else:
                stages[-1].append(token)
        if depth:
            raise TemplateError("unclosed left parenthesis")
        for number, stage in enumerate(stages):
            self.command(stage, later=number > 0)
        self.variables.extend(declared)

    def command(self, tokens: list[_Token], later: bool) -> None:
        if not tokens:
            raise TemplateError("missing value for command")
        operands: list[tuple[str, list[_Token]]] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.kind == "(":
                depth, j = 1, i + 1
                while depth:
                    depth += {"(": 1, ")": -1}.get(tokens[j].kind, 0)
                    j += 1
                self.pipeline(tokens[i + 1 : j - 1], allow_declaration=False)
                kind, i = "paren", j
            elif token.kind in ("string", "raw", "char", "number", "dot", "field", "variable", "ident"):
                kind, i = token.kind, i + 1
                if kind == "variable":
                    self.use(token.text)
                elif kind == "ident":
                    if token.text in ("true", "false"):
                        kind = "bool"
                    elif token.text == "nil":
                        kind = "nil"
                    elif token.text in _KEYWORDS:
                        raise TemplateError(f"unexpected keyword {token.text!r} in command")
                    elif token.text not in FUNCTIONS:
                        raise TemplateError(f'function "{token.text}" not defined')
            else:
                raise TemplateError(f"unexpected {token.text!r} in command")
            while i < len(tokens) and tokens[i].kind == "field":  # .a.b chains
                if kind not in ("dot", "field", "variable", "paren"):
                    raise TemplateError(f"unexpected field after {kind}")
                i += 1
            operands.append((kind, tokens[i - 1 : i]))
        first = operands[0][0]
        if first == "nil" and len(operands) == 1:
            raise TemplateError("nil is not a command")
        if len(operands) > 1 and first not in ("ident", "field", "variable"):
            raise TemplateError(f"cannot give arguments to a {first}")
        if later and first in ("string", "raw", "char", "number", "dot", "bool", "nil"):
            raise TemplateError("a literal cannot receive a pipeline")

    def use(self, name: str) -> None:
        if name not in self.variables:
            raise TemplateError(f'undefined variable "{name}"')


def check_template(text: str) -> str | None:
    """None when Prometheus will parse ``text`` as an alert label or annotation template, else the reason."""
    if "{{" not in text:
        return None
    parser = _Parser()
    i = 0
    try:
        while (start := text.find("{{", i)) >= 0:
            j = start + 2
            if text.startswith("-", j) and j + 1 < len(text) and text[j + 1] in _SPACE:
                j += 2
            if text.startswith("/*", j):
                end = text.find("*/", j + 2)
                if end < 0:
                    raise TemplateError("unclosed comment")
                after = end + 2
                if text.startswith("}}", after):
                    i = after + 2
                elif text.startswith(" -}}", after):
                    i = after + 4
                else:
                    raise TemplateError("comment ends before closing delimiter")
                continue
            tokens, i = _lex_action(text, j)
            parser.action(tokens)
        if parser.blocks:
            raise TemplateError(f"unexpected EOF: {{{{{parser.blocks[-1][0]}}}}} has no {{{{end}}}}")
    except TemplateError as exc:
        return f'invalid Go template: {exc} (write a literal {{{{ as {{{{"{{{{"}}}})'
    return None


def literal(text: str) -> str:
    """A template that prints ``text`` verbatim: each ``{{`` becomes the action ``{{"{{"}}``."""
    return text.replace("{{", '{{"{{"}}')
