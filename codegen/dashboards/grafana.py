"""Generic Grafana renderer: a ``DashboardSpec`` (declared or generated) to modern JSON via grafanalib.

grafanalib 0.7.1 builds the panels (``TimeSeries``, ``Stat``, ``PieChartv2``, ``Table``, ``StateTimeline``,
and its generic ``Panel`` for the gauge, whose dedicated class writes its options where Grafana 8+ no longer
reads them). What grafanalib gets wrong for a current Grafana is fixed here, in one place: an explicit
schemaVersion, threshold steps with a real ``null`` base and float values, ``lastNotNull`` reductions, no
``maxDataPoints: 100`` cap, Prometheus targets shaped like Grafana's own export, and the legacy keys of its
Angular era removed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from codegen.conventions import MARKER
from codegen.dashboard_model import (
    DashboardSpec,
    LinkSpec,
    PanelSpec,
    QuerySpec,
    TableSpec,
    Thresholds,
    ValueMapping,
)

DATASOURCE_UID = "prometheus"
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": DATASOURCE_UID}
SCHEMA_VERSION = 39
GRID_COLUMNS = 24

# Keys grafanalib writes that a schema-39 dashboard does not have (or that harm, like maxDataPoints: 100).
_LEGACY_PANEL_KEYS = frozenset({
    "cacheTimeout", "editable", "error", "height", "hideTimeOverride", "maxDataPoints", "minSpan", "span",
    "repeatDirection", "maxPerRow", "columns", "fontSize", "timeFrom", "timeShift", "interval", "repeat",
})  # fmt: skip
_LEGACY_DASHBOARD_KEYS = frozenset({"rows", "style", "sharedCrosshair", "hideControls", "gnetId", "__inputs"})
_BUILTIN_ANNOTATION: dict[str, Any] = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


@dataclass(frozen=True)
class Variable:
    """A Prometheus query variable (``label_values(...)``), multi-select with "All"."""

    name: str
    label: str
    query: str


@dataclass(frozen=True)
class RenderContext:
    """Run-wide facts a renderer may not know by itself: where the runbook lives."""

    runbook_base_url: str


def link_url(link: LinkSpec, ctx: RenderContext) -> str:
    if link.url is not None:
        return link.url
    if link.dashboard is not None:
        return f"/d/{link.dashboard}"
    anchor = link.runbook or ""
    return f"{ctx.runbook_base_url}#{anchor}" if anchor else ctx.runbook_base_url


# ----------------------------------------------------------------------------------------------------------
# Field config pieces


def threshold_steps(thresholds: Thresholds | None) -> list[dict[str, Any]]:
    """Grafana steps: a ``null`` base, then ascending floats (grafanalib would write the string 'null')."""
    if thresholds is None:
        return [{"color": "green", "value": None}]
    steps: list[dict[str, Any]] = [{"color": thresholds.base, "value": None}]
    # round: 99.9 / 100 is 0.9990000000000001 in binary; Grafana shows the threshold to the user.
    steps += [{"color": s.color, "value": float(round(s.value, 10))} for s in thresholds.steps]
    return steps


def value_mappings(mappings: Sequence[ValueMapping]) -> list[dict[str, Any]]:
    if not mappings:
        return []
    options: dict[str, Any] = {}
    for index, m in enumerate(mappings):
        option: dict[str, Any] = {"index": index, "text": m.text}
        if m.color:
            option["color"] = m.color
        options[m.value] = option
    return [{"type": "value", "options": options}]


def targets(queries: Sequence[QuerySpec], table: bool = False) -> list[dict[str, Any]]:
    """Prometheus targets as Grafana exports them (grafanalib's ``Target`` sets intervalFactor 2).

    A table shows the current value of each series, one row per label set: its queries are instant tables.
    """
    out: list[dict[str, Any]] = []
    for index, q in enumerate(queries):
        instant = q.instant or table
        out.append(
            {
                "datasource": dict(DATASOURCE),
                "editorMode": "code",
                "expr": q.expr,
                "format": "table" if table else "time_series",
                "instant": instant,
                "legendFormat": q.legend or "__auto",
                "range": not instant,
                "refId": chr(ord("A") + index),
            }
        )
    return out


def _links(links: Sequence[LinkSpec], ctx: RenderContext) -> list[dict[str, Any]]:
    return [{"targetBlank": True, "title": link.title, "url": link_url(link, ctx)} for link in links]


# ----------------------------------------------------------------------------------------------------------
# Panels


def _common(p: PanelSpec, grid: g.GridPos, ctx: RenderContext) -> dict[str, Any]:
    return {
        "title": p.title,
        "description": p.description,
        "dataSource": dict(DATASOURCE),
        "targets": targets(p.queries, table=p.type == "table"),
        "gridPos": grid,
        "links": _links(p.links, ctx),
        "thresholds": threshold_steps(p.thresholds),
    }


def _defaults_extra(p: PanelSpec) -> dict[str, Any]:
    """min/max/decimals as floats where grafanalib's validators accept only ints."""
    extra: dict[str, Any] = {}
    if p.min is not None:
        extra["min"] = float(p.min)
    if p.max is not None:
        extra["max"] = float(p.max)
    if p.decimals is not None:
        extra["decimals"] = p.decimals
    return extra


def build_panel(p: PanelSpec, grid: g.GridPos, ctx: RenderContext) -> dict[str, Any]:
    """One panel as a JSON-ready dict."""
    common = _common(p, grid, ctx)
    defaults = _defaults_extra(p)
    mappings = value_mappings(p.mappings)
    reduce = {"calcs": [p.reduce], "fields": "", "values": False}
    panel: Any
    if p.type == "timeseries":
        style = p.thresholds.style if p.thresholds is not None else "off"
        panel = g.TimeSeries(
            **common,
            unit=p.unit,
            mappings=mappings,
            thresholdsStyleMode=style,
            stacking={"group": "A", "mode": "normal"} if p.stack else {"group": "A", "mode": "none"},
            fillOpacity=30 if p.stack else 10,
            showPoints="never",
            tooltipMode="multi",
            tooltipSort="desc",
            legendDisplayMode="list",
            spanNulls=False,
            extraJson={"fieldConfig": {"defaults": defaults}} if defaults else None,
        )
    elif p.type == "stat":
        panel = g.Stat(
            **common,
            format=p.unit,
            reduceCalc=p.reduce,
            mappings=mappings,
            textMode=p.text_mode,
            colorMode=p.color_mode,
            graphMode="none" if p.text_mode == "name" else "area",
            noValue="No data",
            decimals=p.decimals,
            extraJson={
                "fieldConfig": {"defaults": {"color": {"mode": "thresholds"}, **defaults}},
                "options": {"wideLayout": True, "showPercentChange": False},
            },
        )
    elif p.type == "gauge":
        panel = _GenericPanel(
            "gauge",
            {
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "thresholds"},
                        "mappings": mappings,
                        "unit": p.unit,
                        **defaults,
                    },
                    "overrides": [],
                },
                "options": {
                    "reduceOptions": reduce,
                    "orientation": "auto",
                    "showThresholdLabels": False,
                    "showThresholdMarkers": True,
                    "minVizHeight": 75,
                    "minVizWidth": 75,
                    "sizing": "auto",
                },
            },
            **common,
        )
    elif p.type == "piechart":
        panel = g.PieChartv2(
            **common,
            unit=p.unit,
            mappings=mappings,
            reduceOptionsCalcs=[p.reduce],
            pieType="pie",
            legendDisplayMode="table",
            legendPlacement="right",
            legendValues=["value", "percent"],
            tooltipMode="single",
            custom={"hideFrom": {"legend": False, "tooltip": False, "viz": False}},
            extraJson={"fieldConfig": {"defaults": defaults}} if defaults else None,
        )
    elif p.type == "table" and p.table is not None:
        panel = _GenericPanel("table", merged_table(p.table, p.unit, mappings, defaults, ctx), **common)
    elif p.type == "table":
        panel = g.Table(
            **common,
            unit=p.unit,
            filterable=False,
            transformations=[
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True, "Value": True, "__name__": True},
                        "indexByName": {},
                        "renameByName": {},
                    },
                }
            ],
            extraJson={
                "fieldConfig": {"defaults": {"mappings": mappings, **defaults}},
                "options": {"cellHeight": "sm", "footer": {"show": False}},
            },
        )
    else:
        panel = g.StateTimeline(
            **common,
            mappings=mappings,
            colorMode="thresholds",
            fillOpacity=80,
            mergeValues=True,
            showValue="auto",
            rowHeight=0.9,
            alignValue="left",
            extraJson={"fieldConfig": {"defaults": {"unit": p.unit, **defaults}}},
        )
    return _modernize_panel(_to_dict(panel))


def merged_table(
    table: TableSpec, unit: str, mappings: list[dict[str, Any]], defaults: dict[str, Any], ctx: RenderContext
) -> dict[str, Any]:
    """A table of several instant queries joined on their labels (Grafana's documented ``merge``, ``organize``
    and ``sortBy`` transformations), showing only ``table.columns``."""
    shown = [c.field for c in table.columns]
    sort_title = next(c.title for c in table.columns if c.field == table.sort_by)
    overrides: list[dict[str, Any]] = []
    for column in table.columns:
        properties: list[dict[str, Any]] = []
        if column.unit is not None:
            properties.append({"id": "unit", "value": column.unit})
        if column.decimals is not None:
            properties.append({"id": "decimals", "value": column.decimals})
        if column.thresholds is not None:
            properties.append(
                {"id": "thresholds", "value": {"mode": "absolute", "steps": threshold_steps(column.thresholds)}}
            )
            properties.append({"id": "custom.cellOptions", "value": {"type": "color-background"}})
        if column.link is not None:
            properties.append(
                {"id": "links", "value": [{"title": column.link.title, "url": link_url(column.link, ctx)}]}
            )
        if properties:
            overrides.append({"matcher": {"id": "byName", "options": column.title}, "properties": properties})
    return {
        "fieldConfig": {"defaults": {"mappings": mappings, "unit": unit, **defaults}, "overrides": overrides},
        "options": {"cellHeight": "sm", "footer": {"show": False}, "showHeader": True},
        "transformations": [
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": {},
                    "includeByName": {name: True for name in shown},
                    "indexByName": {name: i for i, name in enumerate(shown)},
                    "renameByName": {c.field: c.title for c in table.columns},
                },
            },
            {
                "id": "sortBy",
                "options": {
                    "fields": {},
                    "sort": [{"desc": table.descending, "field": sort_title}],
                },
            },
        ],
    }


class _GenericPanel(g.Panel):  # type: ignore[misc]  # grafanalib is untyped
    """grafanalib's generic ``Panel`` with a type and its options, for panels without a current class."""

    def __init__(self, panel_type: str, body: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._body = {"type": panel_type, **body}

    def to_json_data(self) -> dict[str, Any]:
        return dict(self.panel_json(self._body))


def _to_dict(obj: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(obj, cls=DashboardEncoder))
    assert isinstance(data, dict)
    return data


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _modernize_panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel.get("type") == "row":
        return {k: panel[k] for k in ("collapsed", "gridPos", "panels", "title", "type")}
    for key in _LEGACY_PANEL_KEYS:
        panel.pop(key, None)
    panel = _drop_none(panel)
    if panel.get("transparent") is False:
        panel.pop("transparent")
    field_config = panel.get("fieldConfig", {})
    if "defaults" in field_config:
        field_config["defaults"] = _drop_none(field_config["defaults"])
        if isinstance(field_config["defaults"].get("custom"), dict):
            field_config["defaults"]["custom"] = _drop_none(field_config["defaults"]["custom"])
    if panel.get("type") == "table":
        panel.pop("color", None)
        panel.pop("mappings", None)
    if panel.get("transformations") == []:
        panel.pop("transformations")
    if not panel.get("links"):
        panel.pop("links", None)
    return panel


# ----------------------------------------------------------------------------------------------------------
# Layout and the dashboard


def layout(spec: DashboardSpec, ctx: RenderContext) -> list[dict[str, Any]]:
    """Rows full width, panels flowing left to right and wrapping at 24 columns; ids in reading order."""
    panels: list[dict[str, Any]] = []
    y = 0
    for row in spec.rows:
        row_panel = _to_dict(g.RowPanel(title=row.title, gridPos=g.GridPos(h=1, w=GRID_COLUMNS, x=0, y=y)))
        panels.append(_modernize_panel(row_panel))
        y += 1
        x = line_height = 0
        for p in row.panels:
            if x + p.width > GRID_COLUMNS:
                y, x, line_height = y + line_height, 0, 0
            panels.append(build_panel(p, g.GridPos(h=p.height, w=p.width, x=x, y=y), ctx))
            x += p.width
            line_height = max(line_height, p.height)
        y += line_height
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
    return panels


def _variable(v: Variable) -> dict[str, Any]:
    data = _to_dict(
        g.Template(
            name=v.name,
            label=v.label,
            query=v.query,
            dataSource=dict(DATASOURCE),
            includeAll=True,
            multi=True,
            refresh=2,
            default="$__all",
            allValue=".*",
        )
    )
    data["query"] = {"query": v.query, "refId": "PrometheusVariableQueryEditor-VariableQuery"}
    data["definition"] = v.query
    data["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    for key in ("auto", "auto_count", "auto_min", "tagValuesQuery", "tagsQuery", "useTags"):
        data.pop(key, None)
    data["regex"] = ""
    return data


def build_dashboard(
    spec: DashboardSpec, ctx: RenderContext, variables: Sequence[Variable] = (), generated_from: str = ""
) -> dict[str, Any]:
    """The dashboard model (Grafana's "bare" JSON, as file provisioning and the HTTP API take it)."""
    origin = f"{MARKER} from {generated_from}" if generated_from else MARKER
    description = f"{spec.description.rstrip('.')}. " if spec.description else ""
    links = [
        g.DashboardLink(
            type="link",
            title=link.title,
            uri=link_url(link, ctx),
            keepTime=link.dashboard is not None,
            targetBlank=link.dashboard is None,
            includeVars=False,
            icon="dashboard" if link.dashboard is not None else "doc",
            tooltip="Open the dashboard" if link.dashboard is not None else f"Open {link.title}",
        )
        for link in spec.links
    ]
    board = g.Dashboard(
        title=spec.title,
        uid=spec.uid,
        description=f"{description}{origin}; do not edit in Grafana: change the spec, run `make generate`.",
        tags=sorted({*spec.tags, "slogen"}),
        editable=False,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        timezone="browser",
        refresh=spec.refresh,
        time=g.Time(spec.time_from, "now"),
        links=links,
        schemaVersion=SCHEMA_VERSION,
        version=1,
    )
    data = _to_dict(board)
    for key in _LEGACY_DASHBOARD_KEYS:
        data.pop(key, None)
    data["annotations"] = {"list": [dict(_BUILTIN_ANNOTATION)]}
    data["timepicker"] = _drop_none(data["timepicker"])
    data["templating"] = {"list": [_variable(v) for v in variables]}
    data["panels"] = layout(spec, ctx)
    data["fiscalYearStartMonth"] = 0
    data["liveNow"] = False
    data["weekStart"] = ""
    return data


def to_json(board: dict[str, Any]) -> str:
    """Byte-for-byte reproducible: sorted keys, two-space indent, trailing newline."""
    return json.dumps(board, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
