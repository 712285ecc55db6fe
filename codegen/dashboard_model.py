"""The dashboard model: frozen data a ``kind: Dashboard`` document or the SLO dashboard builder produces.

A leaf module (no parsing, no PromQL), so the SLO model can hold dashboards without importing their parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PanelType = Literal["timeseries", "stat", "gauge", "piechart", "table", "state-timeline"]


@dataclass(frozen=True)
class QuerySpec:
    """One PromQL target; ``legend`` is Grafana's legendFormat (``{{label}}`` templates allowed)."""

    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class ThresholdStep:
    value: float
    color: str


@dataclass(frozen=True)
class Thresholds:
    """Grafana's absolute threshold steps: ``base`` below the first step, ascending steps above."""

    base: str = "green"
    steps: tuple[ThresholdStep, ...] = ()
    style: str = "line"


@dataclass(frozen=True)
class ValueMapping:
    """Show ``text`` (coloured ``color``) instead of a value, e.g. health 1 -> "UP"."""

    value: str
    text: str
    color: str | None = None


@dataclass(frozen=True)
class LinkSpec:
    """A link to a URL, another generated dashboard (``dashboard`` uid) or the runbook (``runbook`` anchor).

    The runbook's base URL is a run-wide option (``--runbook-base-url``), so specs name only the anchor.
    """

    title: str
    url: str | None = None
    dashboard: str | None = None
    runbook: str | None = None  # "" links to the runbook itself


@dataclass(frozen=True)
class TableColumn:
    """One column of a merged table: a label or a query's value (``Value #<refId>``), shown as ``title``."""

    field: str
    title: str
    unit: str | None = None
    decimals: int | None = None
    thresholds: Thresholds | None = None
    link: LinkSpec | None = None  # ``${__data.fields.<label>}`` in its URL is the row's value of that label


@dataclass(frozen=True)
class TableSpec:
    """A table joining its instant queries on their labels (Grafana's ``merge``), one row per label set.

    Only ``columns`` are shown, in order; rows sort by ``sort_by`` (a column's field).
    """

    columns: tuple[TableColumn, ...]
    sort_by: str
    descending: bool = False


@dataclass(frozen=True)
class PanelSpec:
    title: str
    description: str
    type: PanelType
    unit: str
    queries: tuple[QuerySpec, ...]
    width: int
    height: int = 8
    thresholds: Thresholds | None = None
    mappings: tuple[ValueMapping, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    stack: bool = False
    reduce: str = "lastNotNull"
    text_mode: str = "auto"
    color_mode: str = "value"
    table: TableSpec | None = None  # generated tables only; declared tables list each series' labels


@dataclass(frozen=True)
class RowSpec:
    title: str
    panels: tuple[PanelSpec, ...]


@dataclass(frozen=True)
class DashboardSpec:
    """A dashboard to render: declared ``rows``, or ``generate == "slos"`` for the SLO overview of the run."""

    uid: str
    title: str
    source: str = ""
    line: int | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    generate: Literal["slos"] | None = None
    rows: tuple[RowSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    time_from: str = "now-6h"
    refresh: str = "30s"
