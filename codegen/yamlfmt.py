"""A small, fast, deterministic YAML emitter for the shapes slogen writes (mappings, lists, strings, numbers).

PyYAML's representer/emitter cost ~2.5 ms per SLO, most of the compile time. Our data is plain, so we emit it
directly: insertion-ordered keys, sequences not indented under their key (like Go's yaml.v2), block literals for
multi-line PromQL, plain scalars where YAML 1.1 reads them back as the same string, JSON-style double quotes
otherwise. ``yaml.safe_load(dump(x)) == x`` is a tested invariant.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_KEYWORDS = frozenset({"", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", "<<", "="})
_UNSAFE_START = re.compile(r"[\s\-?:,\[\]{}#&*!|>'\"%@`]")
_UNSAFE_ANYWHERE = re.compile(r": |:$| #|[\x00-\x1f\x7f\u0085\u2028\u2029\ufeff]")
_NUMBER_LIKE = re.compile(
    r"[-+]?(\.?\d[\d_]*(\.[\d_]*)?([eE][-+]?\d+)?|\.(inf|nan)|0x[0-9a-f_]+|0b[01_]+|0o?[0-7_]+|\d[\d_]*(:[0-5]?\d)+"
    r"(\.\d*)?)|\d{4}-\d\d?-\d\d?.*",
    re.IGNORECASE,
)


def _plain_ok(text: str) -> bool:
    return (
        text.isascii()
        and text.isprintable()
        and not (
            text.lower() in _KEYWORDS
            or _UNSAFE_START.match(text)
            or ": " in text  # _UNSAFE_ANYWHERE on printable ASCII, without its per-character alternation
            or " #" in text
            or text.endswith(":")
            or text != text.rstrip()
            or _NUMBER_LIKE.fullmatch(text)
        )
    )


def _scalar(value: Any) -> str:
    if type(value) is str:  # the common case first (an ``Enum`` str subclass takes the general path)
        return string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        text = repr(value)  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
        return text.replace("e", ".0e", 1) if "e" in text and "." not in text else text
    return string(str(value))


@lru_cache(maxsize=65536)
def string(text: str) -> str:
    """A one-line string as a plain or double-quoted scalar: the one place the quoting rules live.

    Cached: label values, series names and annotations repeat across every scenario of every SLO."""
    return text if _plain_ok(text) else _double_quoted(text)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


# YAML's printable set (c-printable) minus what we escape anyway (C0/C1 controls, DEL, U+2028/9, the BOM,
# surrogates), as a regex class: one scan per string instead of a Python loop over every character (the
# emitter's hot spot at 10,000 SLOs).
_PRINTABLE_CLASS = "\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd\\U00010000-\\U0010ffff"
_NOT_BLOCK_PRINTABLE = re.compile(f"[^\\t\\n{_PRINTABLE_CLASS}]")
_TO_ESCAPE = re.compile(f'["\\\\]|[^{_PRINTABLE_CLASS}]')


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _double_quoted(text: str) -> str:
    return '"' + _TO_ESCAPE.sub(_escape, text) + '"'


def _block_literal(text: str, indent: str) -> str | None:
    """``|`` or ``|-`` block for multi-line text, or None when a block cannot represent it exactly."""
    lines = text.split("\n")
    body = lines[:-1] if text.endswith("\n") else lines
    if (
        not body
        or not body[0]
        or body[0].startswith((" ", "\t"))
        or text.endswith("\n\n")
        or not _fits_block(text, body)
    ):
        return None
    head = "|" if text.endswith("\n") else "|-"
    if "" in body:  # an empty line is written without indentation
        return head + "".join(f"\n{indent}{ln}" if ln else "\n" for ln in body)
    newline = "\n" + indent
    return head + newline + newline.join(body)


def _fits_block(text: str, body: list[str]) -> bool:
    """No character a block literal cannot hold, no line ending in white space, and none of what
    ``_UNSAFE_ANYWHERE`` finds once the newlines, ``: `` and `` #`` are removed. ASCII text (nearly all PromQL) is
    checked with substring tests and ``isprintable``: the regexes, an alternation tried at every character, took
    half the rule files' emit time."""
    flat = text.replace("\n", "").replace(": ", "").replace(" #", "")
    if not text.isascii():
        return not (
            _NOT_BLOCK_PRINTABLE.search(text) or any(ln != ln.rstrip() for ln in body) or _UNSAFE_ANYWHERE.search(flat)
        )
    return (  # printable ASCII: a space is the only white space a line can end with
        flat.isprintable()
        and ": " not in flat
        and " #" not in flat
        and not flat.endswith(":")
        and " \n" not in text
        and not text.endswith(" ")
    )


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Append the lines of a block mapping or sequence at ``indent``."""
    if isinstance(value, dict):
        if value:
            emit_mapping(value, indent, indent, out)
        else:
            out.append(indent + "{}")
    elif isinstance(value, list):
        if not value:
            out.append(indent + "[]")
        for item in value:
            if isinstance(item, dict) and item:
                emit_mapping(item, indent + "  ", indent + "- ", out)
            elif isinstance(item, list) and item:
                out.append(f"{indent}-")
                _emit(item, indent + "  ", out)
            else:
                emit_member(f"{indent}-", item, indent + "  ", out, indent)
    else:
        out.append(indent + _scalar(value))


@lru_cache(maxsize=4096)
def key_prefix(indent: str, key: str) -> str:
    """``indent key:`` for a string key (public: purpose-built writers share the key quoting); cached: a run
    writes a few dozen keys at a few indents, millions of times."""
    return f"{indent}{string(key)}:"


def emit_mapping(mapping: dict[Any, Any], indent: str, first_indent: str, out: list[str]) -> None:
    """A non-empty mapping's members at ``indent``; the first key starts at ``first_indent`` (``- `` for a
    sequence item). One-line strings, most members, are written here without a call per member."""
    child_indent = indent + "  "
    key_indent = first_indent
    for key, item in mapping.items():
        prefix = key_prefix(key_indent, key) if type(key) is str else f"{key_indent}{_scalar(key)}:"
        key_indent = indent
        if type(item) is str and "\n" not in item:
            out.append(f"{prefix} {string(item)}")
        else:
            emit_member(prefix, item, child_indent, out, indent)


def emit_member(prefix: str, item: Any, child_indent: str, out: list[str], key_indent: str) -> None:
    """Append ``prefix`` (``indent key:``) and ``item``: a nested block, a block literal at ``child_indent`` for
    multi-line text that fits one, else a scalar. Public: writers for one fixed shape fall back to it for any
    value that is not a one-line string, so each choice is made here only."""
    if type(item) is str and "\n" not in item:
        out.append(f"{prefix} {string(item)}")
    elif isinstance(item, dict) and item:
        out.append(prefix)
        emit_mapping(item, key_indent + "  ", key_indent + "  ", out)
    elif isinstance(item, list) and item:
        out.append(prefix)
        _emit(item, key_indent, out)  # sequences sit at their key's indentation
    elif isinstance(item, dict | list):
        out.append(f"{prefix} {'{}' if isinstance(item, dict) else '[]'}")
    elif isinstance(item, str) and "\n" in item and (block := _block_literal(item, child_indent)) is not None:
        out.append(f"{prefix} {block}")
    else:
        out.append(f"{prefix} {_scalar(item)}")


def dump(data: Any) -> str:
    """``data`` as a YAML document (block style, insertion-ordered keys), ending in a newline."""
    out: list[str] = []
    _emit(data, "", out)
    return "\n".join(out) + "\n"
