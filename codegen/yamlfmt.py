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


@lru_cache(maxsize=65536)
def _plain_ok(text: str) -> bool:
    return (
        text.isascii()
        and text.isprintable()
        and not (
            text.lower() in _KEYWORDS
            or _UNSAFE_START.match(text)
            or _UNSAFE_ANYWHERE.search(text)
            or text != text.rstrip()
            or _NUMBER_LIKE.fullmatch(text)
        )
    )


def _scalar(value: Any) -> str:
    if type(value) is str:  # the common case first (an ``Enum`` str subclass takes the general path)
        return _string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        text = repr(value)  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
        return text.replace("e", ".0e", 1) if "e" in text and "." not in text else text
    return _string(str(value))


@lru_cache(maxsize=65536)
def _string(text: str) -> str:
    """Cached: label values, series names and annotations repeat across every scenario of every SLO."""
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
        or _NOT_BLOCK_PRINTABLE.search(text)
        or text.endswith("\n\n")
        or any(ln != ln.rstrip() for ln in body)
        or _UNSAFE_ANYWHERE.search(text.replace("\n", "").replace(": ", "").replace(" #", ""))
    ):
        return None
    head = "|" if text.endswith("\n") else "|-"
    return head + "".join(f"\n{indent}{ln}" if ln else "\n" for ln in body)


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Append the lines of a block mapping or sequence at ``indent``."""
    if isinstance(value, dict):
        if not value:
            out.append(indent + "{}")
        for key, item in value.items():
            prefix = f"{indent}{_scalar(key)}:"
            _emit_member(prefix, item, indent + "  ", out, indent)
    elif isinstance(value, list):
        if not value:
            out.append(indent + "[]")
        for item in value:
            if isinstance(item, dict) and item:
                first = True
                for key, sub in item.items():
                    prefix = f"{indent}{'- ' if first else '  '}{_scalar(key)}:"
                    _emit_member(prefix, sub, indent + "    ", out, indent + "  ")
                    first = False
            elif isinstance(item, list) and item:
                out.append(f"{indent}-")
                _emit(item, indent + "  ", out)
            else:
                _emit_member(f"{indent}-", item, indent + "  ", out, indent)
    else:
        out.append(indent + _scalar(value))


def _emit_member(prefix: str, item: Any, child_indent: str, out: list[str], key_indent: str) -> None:
    if type(item) is str and "\n" not in item:  # most members: a one-line string, no type tests below
        out.append(f"{prefix} {_string(item)}")
    elif isinstance(item, dict) and item:
        out.append(prefix)
        _emit(item, key_indent + "  ", out)
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
    out: list[str] = []
    _emit(data, "", out)
    return "\n".join(out) + "\n"
