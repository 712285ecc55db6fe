"""Spec errors that name the file, the line, the SLO and the field, so a broken spec is fixed in one pass."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Escaped wherever user text reaches a terminal: C0/C1 controls (ANSI escapes, carriage returns), line and
# paragraph separators, bidi overrides ("Trojan source"), and lone surrogates (which cannot even be encoded).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` with every character that could move the cursor, hide text or fail to encode written as an escape."""
    if text.isprintable() and text.isascii():
        return text
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI:
            code = ord(char)
            out.append(
                {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
                or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
            )
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True, order=True)
class SpecError:
    """One problem in one spec file."""

    path: str
    line: int | None
    slo: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        slo = f' slo "{self.slo}"' if self.slo else ""
        field = f" field {self.field}" if self.field else ""
        return printable(f"{where}:{slo}{field}: {self.message}")


class SpecErrors(Exception):
    """Every error of a run, reported together; raised before anything is written."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (e.path, e.line or 0, e.field, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))
