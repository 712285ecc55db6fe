"""Spec errors that name the file, the line, the SLO and the field, so a broken spec is fixed in one pass."""

from __future__ import annotations

from dataclasses import dataclass


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
        return f"{where}:{slo}{field}: {self.message}"


class SpecErrors(Exception):
    """Every error of a run, reported together; raised before anything is written."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (e.path, e.line or 0, e.field, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))
