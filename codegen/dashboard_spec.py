"""Extension document ``apiVersion: slogen/v1, kind: Dashboard``: a service dashboard declared beside the SLOs.

Placeholder until the dashboard renderer lands: recognises the document kind so slo/ can hold it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codegen.errors import SpecError
from codegen.loader import Document


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str


def is_dashboard_document(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == "Dashboard" and data.get("apiVersion") == "slogen/v1"


def parse_dashboard_document(doc: Document, errors: list[SpecError]) -> DashboardSpec | None:
    meta = doc.data.get("metadata") or {}
    return DashboardSpec(str(meta.get("uid", "")), str(meta.get("title", "")))
