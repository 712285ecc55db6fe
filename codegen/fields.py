"""Reading spec fields: key-style (snake_case or Kubernetes camelCase), strict keys with suggestions, typed
values, and errors that carry the file, line, SLO and dotted field path."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from codegen.conventions import RESERVED_LABELS
from codegen.durations import DurationError, format_duration, parse_duration
from codegen.errors import SpecError
from codegen.loader import Document, FieldPath
from codegen.model import SpecKind

NAME_RE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")
LABEL_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# RESERVED_LABELS are set by the generator from the service and SLO name. Sloth lets a spec label override them,
# which silently breaks its own alert selectors and dashboards; here that is an error.
METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
ALERT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONDITION_RE = re.compile(r"^\s*(==|!=|>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
NAME_RULE = "name must start and end with an alphanumeric and can only contain alphanumeric, '.', '_', and '-'"
SEVERITIES = ("critical", "warning", "info")
# Kubernetes object labels and annotations: an optional DNS prefix and a name (app.kubernetes.io/name).
K8S_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# Kubernetes object names: a DNS-1123 subdomain (metadata.name) or label (metadata.namespace).
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.capitalize() for word in rest)


def spell(kind: SpecKind, snake: str) -> str:
    """A field name as documents of ``kind`` write it: the Kubernetes form is camelCase."""
    return camel(snake) if kind == "sloth.slok.dev/v1" else snake


@dataclass
class Fields:
    """Per-document parsing state: where we are, which key style applies, and the errors so far."""

    doc: Document
    kind: SpecKind
    errors: list[SpecError]
    base: FieldPath = ()
    slo: str | None = None
    # --sloth-compat: read what Sloth reads. Unknown keys become warnings (Sloth ignores them) and prometheus/v1
    # keys match case-insensitively, as Go's encoding/json (behind Sloth's YAML -> JSON decoder) matches them.
    sloth_compat: bool = False
    warnings: list[SpecError] = field(default_factory=list)

    def key(self, snake: str) -> str:
        return spell(self.kind, snake)

    def err(self, path: FieldPath, message: str) -> None:
        full = (*self.base, *path)
        self.errors.append(SpecError(self.doc.path, self.doc.line(full), self.slo, dotted(full), message))

    def warn(self, path: FieldPath, message: str) -> None:
        """Something read differently than written (e.g. dropped as Sloth drops it): reported, never silent."""
        full = (*self.base, *path)
        self.warnings.append(SpecError(self.doc.path, self.doc.line(full), self.slo, dotted(full), message))

    def mapping(self, value: Any, path: FieldPath, allowed: Sequence[str], required: bool = False) -> dict[str, Any]:
        """Return ``value`` as a dict after rejecting unknown keys (with the closest valid one suggested)."""
        if value is None:
            if required:
                self.err(path, "required")
            return dict.fromkeys(allowed)
        if not isinstance(value, dict):
            self.err(path, f"must be a mapping, got {type(value).__name__}")
            return dict.fromkeys(allowed)
        spelled = _spellings(self.kind, tuple(allowed))
        if self.sloth_compat:
            return self._compat_mapping(value, path, allowed, list(spelled.values()))
        if not spelled.keys_spelled.issuperset(value):
            valid = list(spelled.values())
            for key in value:
                if key not in spelled.keys_spelled:
                    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
                    self.err((*path, key), f"unknown key {key!r}{hint}")
        get = value.get
        return {k: get(v) for k, v in spelled.items()}

    def _compat_mapping(
        self, value: dict[Any, Any], path: FieldPath, allowed: Sequence[str], valid: list[str]
    ) -> dict[str, Any]:
        """Sloth's decoding: an exact key, else (prometheus/v1 only) a case-insensitive one; the last key that
        lands on a field wins; any other key is ignored, with a warning naming it."""
        fold = self.kind == "prometheus/v1"
        by_fold = {v.casefold(): v for v in valid}
        found: dict[str, Any] = {}
        for key, item in value.items():
            name = key if key in valid else (by_fold.get(str(key).casefold()) if fold else None)
            if name is None:
                close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.warn((*path, key), f"unknown key {key!r} is ignored, as Sloth ignores it{hint}")
                continue
            found[name] = item
        return {k: found.get(self.key(k)) for k in allowed}

    def string(self, value: Any, path: FieldPath, required: bool = False) -> str:
        if value is None or value == "":
            if required:
                self.err(path, "required")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.err(path, f"must be a string, got {type(value).__name__}")
            return ""
        return str(value)

    def boolean(self, value: Any, path: FieldPath) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.err(path, f"must be true or false, got {value!r}")
            return False
        return value

    def duration(self, value: Any, path: FieldPath) -> str | None:
        if value is None:
            return None
        try:
            return format_duration(parse_duration(str(value)))
        except DurationError as exc:
            self.err(path, str(exc))
            return None

    def labels(
        self, value: Any, path: FieldPath, what: str = "label", key_re: re.Pattern[str] = LABEL_KEY_RE
    ) -> tuple[tuple[str, str], ...]:
        """A string-to-string mapping whose keys match ``key_re`` (Prometheus label names by default)."""
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.err(path, f"{what}s must be a mapping of {what} key to value")
            return ()
        out: list[tuple[str, str]] = []
        for key, raw in value.items():
            if not key_re.match(str(key)):
                message = f"invalid {what} key {key!r}: must match {key_re.pattern}"
                if not (self.sloth_compat and key_re is LABEL_KEY_RE and str(key) and key != "__name__"):
                    self.err((*path, key), message)
                    continue
                # Sloth v0.16 validates names with Prometheus 3's UTF-8 rules: only Prometheus 2 rejects this one
                self.warn((*path, key), f"{message} for Prometheus 2 (Sloth accepts UTF-8 names)")
            if what == "label" and key == "__name__":
                self.err((*path, key), "label key __name__ is not allowed")
                continue
            if what == "label" and key_re is LABEL_KEY_RE and key in RESERVED_LABELS:
                self.err((*path, key), f"label key {key!r} is reserved: it is set from the service and SLO name")
                continue
            if raw is None or raw == "" or isinstance(raw, dict | list):
                self.err((*path, key), f"{what} value is required (a non-empty string)")
                continue
            out.append((str(key), stringify(raw)))
        return tuple(sorted(out))


class _Spellings(dict[str, str]):
    """Each allowed field name (snake_case) and how the document's key style spells it."""

    keys_spelled: frozenset[str]


_SPELLINGS: dict[tuple[SpecKind, tuple[str, ...]], _Spellings] = {}


def _spellings(kind: SpecKind, allowed: tuple[str, ...]) -> _Spellings:
    """Memoised: every SLO asks for the same few field lists, and camelCasing each name each time showed up."""
    found = _SPELLINGS.get((kind, allowed))
    if found is None:
        found = _Spellings((k, spell(kind, k)) for k in allowed)
        found.keys_spelled = frozenset(found.values())
        _SPELLINGS[(kind, allowed)] = found
    return found


def stringify(value: Any) -> str:
    """A scalar as label text: numbers as the spec wrote them (``1.10``, not ``1.1``), as Sloth keeps them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "yaml_text", value))


def dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def merge_labels(*label_sets: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    merged: dict[str, str] = {}
    for labels in label_sets:
        merged.update(labels)
    return tuple(sorted(merged.items()))
