"""OpenSLO ``openslo/v1`` objects of a whole run, collected by kind and name so ``*Ref`` fields resolve across files.

An object is a YAML document or an item of a top-level YAML list. Inline objects (an SLO's ``indicator``, a
policy's inline ``AlertCondition``) are read where they stand and are not referable, as in the spec.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from codegen.errors import SpecError
from codegen.fields import Fields
from codegen.loader import Document, FieldPath
from codegen.parse_settings import ParseSettings

OPENSLO_V1_API: Final = "openslo/v1"
KINDS: Final = ("SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")
# The spec's object names (RFC 1123 labels): all implementations must accept them; slogen accepts no others.
OBJECT_NAME_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def is_openslo_v1(data: Any) -> bool:
    """A document holding OpenSLO v1 objects: one object, or a list whose first object is one."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    return isinstance(data, dict) and data.get("apiVersion") == OPENSLO_V1_API


@dataclass
class V1Object:
    """One OpenSLO object where it stands: its document and its path inside it (``()`` or ``(index,)``)."""

    kind: str
    name: str
    data: dict[str, Any]
    doc: Document
    path: FieldPath

    def fields(self, errors: list[SpecError], settings: ParseSettings) -> Fields:
        """Errors at paths relative to the object, labelled with the object's kind and name."""
        ctx = Fields(self.doc, OPENSLO_V1_API, errors, base=self.path, warnings=settings.warnings)
        ctx.slo = f"{self.kind} {self.name}"
        return ctx

    def inline(self, kind: str, value: dict[str, Any], path: FieldPath) -> V1Object:
        """An object written inside this one at ``path``."""
        meta = value.get("metadata")
        name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
        name = name or f"{self.name}.{'.'.join(str(p) for p in path)}"
        return V1Object(kind, name, value, self.doc, (*self.path, *path))


@dataclass
class Objects:
    """Every top-level object of the run by ``(kind, name)``."""

    by_key: dict[tuple[str, str], V1Object] = field(default_factory=dict)

    def all(self) -> list[V1Object]:
        return list(self.by_key.values())

    def resolve(self, ctx: Fields, path: FieldPath, kind: str, name: Any) -> V1Object | None:
        """The ``kind`` object a ``*Ref`` names, or an error naming the reference."""
        if not isinstance(name, str) or not name:
            ctx.err(path, f"must name a {kind} (a string)")
            return None
        found = self.by_key.get((kind, name))
        if found is None:
            ctx.err(path, f"reference to {kind} {name!r}: no {kind} named {name!r} in the files of this run")
        return found


def collect(documents: Iterable[Document], errors: list[SpecError], settings: ParseSettings) -> Objects:
    """All objects of the run; a bad envelope (kind, apiVersion, name) or a repeated name is an error."""
    objects = Objects()
    for doc in documents:
        data_list = doc.data if isinstance(doc.data, list) else None
        items: list[tuple[Any, FieldPath]] = (
            [(item, (index,)) for index, item in enumerate(data_list)] if data_list is not None else [(doc.data, ())]
        )
        for data, path in items:
            ctx = Fields(doc, OPENSLO_V1_API, errors, base=path, warnings=settings.warnings)
            if not isinstance(data, dict):
                ctx.err((), "an OpenSLO object must be a mapping")
                continue
            if data.get("apiVersion") != OPENSLO_V1_API:
                ctx.err(
                    ("apiVersion",),
                    f"apiVersion {data.get('apiVersion')!r} in a list of {OPENSLO_V1_API} objects: one list holds "
                    f"{OPENSLO_V1_API} objects only",
                )
                continue
            kind = data.get("kind")
            if kind not in KINDS:
                ctx.err(("kind",), f"unsupported OpenSLO v1 kind {kind!r}: the v1 kinds are {', '.join(KINDS)}")
                continue
            meta = data.get("metadata")
            name = meta.get("name") if isinstance(meta, dict) else None
            if not isinstance(name, str) or not OBJECT_NAME_RE.match(name):
                ctx.err(
                    ("metadata", "name"),
                    f"{kind} name {name!r}: required, lowercase alphanumerics and '-', up to 63 characters (RFC 1123)",
                )
                continue
            first = objects.by_key.get((kind, name))
            if first is not None:
                ctx.slo = f"{kind} {name}"
                ctx.err(
                    ("metadata", "name"),
                    f"{kind} {name!r} is defined twice (first at {first.doc.path}:{first.doc.line(first.path)})",
                )
                continue
            objects.by_key[(kind, name)] = V1Object(kind, name, data, doc, path)
    return objects
