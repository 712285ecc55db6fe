"""Extension document ``apiVersion: slogen/v1, kind: Dashboard``: a dashboard declared beside the SLOs.

Why a spec and not Python: "no renderer knows the services". The service dashboard's panels (queries, units,
thresholds, panel types) are data the renderer lays out generically, validated as strictly as the SLO specs
(unknown keys rejected with a suggestion, PromQL parsed, every error with file and line).

Two flavours, chosen by ``spec``::

    apiVersion: slogen/v1
    kind: Dashboard
    metadata: {uid: volatility-service, title: Volatility service, tags: [volatility]}
    spec:
      rows:                       # a declared dashboard: rows of panels
        - title: API
          panels:
            - {title: P95 latency, type: timeseries, unit: ms, description: ..., queries: [{expr: ...}]}
    ---
    apiVersion: slogen/v1
    kind: Dashboard
    metadata: {uid: volatility-slo, title: Volatility SLOs}
    spec:
      generate: slos              # generated: one row per SLO of every spec in the run
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from typing import Any

from codegen.dashboard_model import (
    DashboardSpec,
    LinkSpec,
    PanelSpec,
    PanelType,
    QuerySpec,
    RowSpec,
    Thresholds,
    ThresholdStep,
    ValueMapping,
)
from codegen.errors import SpecError
from codegen.fields import Fields
from codegen.loader import Document, FieldPath
from codegen.promql import check_expression

API_VERSION = "slogen/v1"
KIND = "Dashboard"
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
HEX_COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
GRAFANA_VAR_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
TIME_RE = re.compile(r"^now(?:-\d+[smhdwMy])?(?:/[smhdwMy])?$")
REFRESH_RE = re.compile(r"^\d+[smhd]$")

PANEL_TYPES: tuple[PanelType, ...] = ("timeseries", "stat", "gauge", "piechart", "table", "state-timeline")
THRESHOLD_STYLES = ("off", "line", "dashed", "area", "line+area", "dashed+area")
REDUCERS = ("lastNotNull", "last", "mean", "max", "min", "sum")
TEXT_MODES = ("auto", "value", "name", "value_and_name", "none")
COLOR_MODES = ("value", "background", "none")
PANEL_KEYS = (
    "title", "description", "type", "unit", "queries", "width", "height", "thresholds", "mappings", "links",
    "min", "max", "decimals", "stack", "reduce", "text_mode", "color_mode",
)  # fmt: skip
DEFAULT_WIDTH: dict[str, int] = {"timeseries": 12, "table": 24, "state-timeline": 12}

# Grafana's built-in unit ids that dashboards here are likely to need; custom units use a ``suffix:``,
# ``prefix:``, ``si:`` or ``count:`` form. A typo ("milliseconds") is an error with the closest id suggested.
UNITS = frozenset({
    "none", "short", "string", "percent", "percentunit", "humidity", "dB", "bool", "bool_yes_no",
    "bool_on_off", "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations", "dthms", "dtdhms",
    "clockms", "clocks", "reqps", "ops", "opm", "rps", "wps", "iops", "eps", "mps", "recps", "rowsps", "cps",
    "cpm", "reqpm", "epm", "mpm", "bytes", "decbytes", "bits", "decbits", "bps", "Bps", "binBps", "hertz",
    "locale", "dateTimeAsIso", "dateTimeFromNow", "currencyUSD", "currencyEUR",
})  # fmt: skip
CUSTOM_UNIT_RE = re.compile(r"^(?:suffix|prefix|si|count):.+$")
UNIT_ALIASES = {
    "milliseconds": "ms", "millisecond": "ms", "seconds": "s", "second": "s", "sec": "s", "minutes": "m",
    "hours": "h", "days": "d", "%": "percent", "percentage": "percent", "ratio": "percentunit",
    "req/s": "reqps", "requests/s": "reqps", "msg/s": "mps", "messages/s": "mps", "count": "short",
}  # fmt: skip
NAMED_COLORS = frozenset(
    f"{shade}{hue}"
    for hue in ("green", "red", "yellow", "orange", "blue", "purple")
    for shade in ("", "dark-", "semi-dark-", "light-", "super-light-")
) | {"text", "transparent", "white", "black"}


def is_dashboard_document(data: Any) -> bool:
    """Any ``kind: Dashboard`` is ours, so a wrong apiVersion is reported here, not as a broken SLO spec."""
    return isinstance(data, dict) and data.get("kind") == KIND


def promql_for_parsing(expr: str) -> str:
    """Replace Grafana variables so the parser sees plain PromQL (``[$__rate_interval]`` -> ``[5m]``)."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return "5m" if name.startswith("__") and name not in ("__name__",) else "x"

    return GRAFANA_VAR_RE.sub(sub, expr)


# ----------------------------------------------------------------------------------------------------------
# Validation


class _Checker(Fields):
    """Field reading for dashboard documents (snake_case keys, no SLO context), plus list and number helpers."""

    def __init__(self, doc: Document, errors: list[SpecError]) -> None:
        super().__init__(doc, "prometheus/v1", errors)

    def items(self, value: Any, path: FieldPath, required: bool = False) -> list[Any]:
        if value is None:
            if required:
                self.err(path, "required (a non-empty list)")
            return []
        if not isinstance(value, list):
            self.err(path, f"must be a list, got {type(value).__name__}")
            return []
        if required and not value:
            self.err(path, "must not be empty")
        return value

    def number(self, value: Any, path: FieldPath) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            self.err(path, f"must be a number, got {value!r}")
            return None
        return float(value)

    def integer(self, value: Any, path: FieldPath, low: int, high: int, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.err(path, f"must be a whole number from {low} to {high}, got {value!r}")
            return default
        return value

    def choice(self, value: Any, path: FieldPath, allowed: Sequence[str], default: str) -> str:
        text = self.string(value, path)
        if not text:
            return default
        if text not in allowed:
            close = difflib.get_close_matches(text, list(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.err(path, f"must be one of {', '.join(allowed)}, got {text!r}{hint}")
            return default
        return text

    def color(self, value: Any, path: FieldPath, default: str) -> str:
        text = self.string(value, path)
        if not text:
            return default
        if text not in NAMED_COLORS and not HEX_COLOR_RE.match(text):
            close = difflib.get_close_matches(text, sorted(NAMED_COLORS), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.err(path, f"unknown color {text!r}: use a Grafana color name or #rrggbb{hint}")
            return default
        return text


def parse_dashboard_document(doc: Document, errors: list[SpecError]) -> DashboardSpec | None:
    """Validate one ``kind: Dashboard`` document; None (with errors appended) when it is unusable."""
    c = _Checker(doc, errors)
    before = len(errors)
    top = c.mapping(doc.data, (), ["apiVersion", "kind", "metadata", "spec"])
    if top["apiVersion"] != API_VERSION:
        c.err(
            ("apiVersion",),
            f"unsupported apiVersion {top['apiVersion']!r} for kind Dashboard: expected {API_VERSION}",
        )
    meta = c.mapping(top["metadata"], ("metadata",), ["uid", "title", "description", "tags"], required=True)
    uid = c.string(meta["uid"], ("metadata", "uid"), required=True)
    if uid and not UID_RE.match(uid):
        c.err(
            ("metadata", "uid"),
            f"invalid dashboard uid {uid!r}: 1-40 characters of A-Z, a-z, 0-9, '-' and '_'",
        )
    title = c.string(meta["title"], ("metadata", "title"), required=True)
    tags = tuple(
        c.string(t, ("metadata", "tags", i), required=True)
        for i, t in enumerate(c.items(meta["tags"], ("metadata", "tags")))
    )
    spec = c.mapping(top["spec"], ("spec",), ["generate", "time_from", "refresh", "links", "rows"], required=True)
    generate = c.string(spec["generate"], ("spec", "generate"))
    if generate and generate != "slos":
        c.err(("spec", "generate"), f"unknown generator {generate!r}: the only one is 'slos'")
    time_from = c.string(spec["time_from"], ("spec", "time_from")) or "now-6h"
    if not TIME_RE.match(time_from):
        c.err(("spec", "time_from"), f"invalid time {time_from!r}: expected e.g. now-6h")
    refresh = c.string(spec["refresh"], ("spec", "refresh")) or "30s"
    if not REFRESH_RE.match(refresh):
        c.err(("spec", "refresh"), f"invalid refresh {refresh!r}: expected e.g. 30s or 1m")
    links = _links(c, spec["links"], ("spec", "links"))
    rows: tuple[RowSpec, ...] = ()
    if generate == "slos":
        if spec["rows"] is not None:
            c.err(("spec", "rows"), "a generated dashboard (generate: slos) takes no rows")
    else:
        raw_rows = c.items(spec["rows"], ("spec", "rows"), required=True)
        rows = tuple(r for i, raw in enumerate(raw_rows) if (r := _row(c, raw, ("spec", "rows", i))) is not None)
        seen: dict[str, FieldPath] = {}
        for i, row in enumerate(rows):
            for j, panel in enumerate(row.panels):
                if panel.title in seen:
                    c.err(("spec", "rows", i, "panels", j, "title"), f"panel title {panel.title!r} is repeated")
                seen.setdefault(panel.title, ("spec", "rows", i, "panels", j))
    if len(errors) > before:
        return None
    return DashboardSpec(
        uid=uid,
        title=title,
        source=doc.path,
        line=doc.line(()),
        description=c.string(meta["description"], ("metadata", "description")),
        tags=tags,
        generate="slos" if generate == "slos" else None,
        rows=rows,
        links=links,
        time_from=time_from,
        refresh=refresh,
    )


def _links(c: _Checker, value: Any, path: FieldPath) -> tuple[LinkSpec, ...]:
    links: list[LinkSpec] = []
    for i, raw in enumerate(c.items(value, path)):
        here = (*path, i)
        f = c.mapping(raw, here, ["title", "url", "dashboard", "runbook"], required=True)
        title = c.string(f["title"], (*here, "title"), required=True)
        url = c.string(f["url"], (*here, "url")) or None
        board = c.string(f["dashboard"], (*here, "dashboard")) or None
        runbook: str | None = None
        if f["runbook"] is True:
            runbook = ""
        elif f["runbook"] is not None:
            runbook = c.string(f["runbook"], (*here, "runbook"), required=True).lstrip("#").lower()
        targets = [t for t in (url, board, runbook) if t is not None]
        if len(targets) != 1:
            c.err(here, "a link needs exactly one of url, dashboard (a uid) or runbook (an anchor, or true)")
        if board is not None and not UID_RE.match(board):
            c.err((*here, "dashboard"), f"invalid dashboard uid {board!r}")
        links.append(LinkSpec(title, url, board, runbook))
    return tuple(links)


def _row(c: _Checker, raw: Any, path: FieldPath) -> RowSpec | None:
    f = c.mapping(raw, path, ["title", "panels"], required=True)
    title = c.string(f["title"], (*path, "title"), required=True)
    raw_panels = c.items(f["panels"], (*path, "panels"), required=True)
    panels = tuple(p for j, rp in enumerate(raw_panels) if (p := _panel(c, rp, (*path, "panels", j))) is not None)
    return RowSpec(title, panels) if title and panels else None


def _panel(c: _Checker, raw: Any, path: FieldPath) -> PanelSpec | None:
    f = c.mapping(raw, path, PANEL_KEYS, required=True)
    before = len(c.errors)
    title = c.string(f["title"], (*path, "title"), required=True)
    description = c.string(f["description"], (*path, "description"), required=True)
    kind = c.choice(f["type"], (*path, "type"), PANEL_TYPES, "")
    if not kind and f["type"] is None:
        c.err((*path, "type"), f"required: one of {', '.join(PANEL_TYPES)}")
    unit = c.string(f["unit"], (*path, "unit"), required=True)
    if unit and unit not in UNITS and not CUSTOM_UNIT_RE.match(unit):
        close = [UNIT_ALIASES[unit]] if unit in UNIT_ALIASES else difflib.get_close_matches(unit, sorted(UNITS), 1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        c.err((*path, "unit"), f"unknown Grafana unit {unit!r} (or write suffix:<text>){hint}")
    queries = tuple(
        q
        for i, rq in enumerate(c.items(f["queries"], (*path, "queries"), required=True))
        if (q := _query(c, rq, (*path, "queries", i))) is not None
    )
    width = c.integer(f["width"], (*path, "width"), 1, 24, DEFAULT_WIDTH.get(kind, 6))
    height = c.integer(f["height"], (*path, "height"), 2, 40, 8)
    thresholds = _thresholds(c, f["thresholds"], (*path, "thresholds"))
    mappings = _mappings(c, f["mappings"], (*path, "mappings"))
    low = c.number(f["min"], (*path, "min"))
    high = c.number(f["max"], (*path, "max"))
    if low is not None and high is not None and low >= high:
        c.err((*path, "max"), f"max ({high:g}) must be greater than min ({low:g})")
    decimals = c.integer(f["decimals"], (*path, "decimals"), 0, 10, -1)
    stack = c.boolean(f["stack"], (*path, "stack"))
    if stack and kind != "timeseries":
        c.err((*path, "stack"), "stacking applies to timeseries panels only")
    reduce = c.choice(f["reduce"], (*path, "reduce"), REDUCERS, "lastNotNull")
    text_mode = c.choice(f["text_mode"], (*path, "text_mode"), TEXT_MODES, "auto")
    color_mode = c.choice(f["color_mode"], (*path, "color_mode"), COLOR_MODES, "value")
    if len(c.errors) > before or not kind:
        return None
    return PanelSpec(
        title=title,
        description=description,
        type=kind,  # type: ignore[arg-type]  # checked by choice()
        unit=unit,
        queries=queries,
        width=width,
        height=height,
        thresholds=thresholds,
        mappings=mappings,
        links=_links(c, f["links"], (*path, "links")),
        min=low,
        max=high,
        decimals=None if decimals < 0 else decimals,
        stack=stack,
        reduce=reduce,
        text_mode=text_mode,
        color_mode=color_mode,
    )


def _query(c: _Checker, raw: Any, path: FieldPath) -> QuerySpec | None:
    f = c.mapping(raw, path, ["expr", "legend", "instant"], required=True)
    expr = c.string(f["expr"], (*path, "expr"), required=True).strip()
    if expr and (problem := check_expression(promql_for_parsing(expr))):
        c.err((*path, "expr"), f"invalid PromQL: {problem}")
        return None
    if not expr:
        return None
    return QuerySpec(expr, c.string(f["legend"], (*path, "legend")), c.boolean(f["instant"], (*path, "instant")))


def _thresholds(c: _Checker, raw: Any, path: FieldPath) -> Thresholds | None:
    if raw is None:
        return None
    f = c.mapping(raw, path, ["base", "steps", "style"])
    base = c.color(f["base"], (*path, "base"), "green")
    style = c.choice(f["style"], (*path, "style"), THRESHOLD_STYLES, "line")
    steps: list[ThresholdStep] = []
    for i, rs in enumerate(c.items(f["steps"], (*path, "steps"), required=True)):
        s = c.mapping(rs, (*path, "steps", i), ["value", "color"], required=True)
        value = c.number(s["value"], (*path, "steps", i, "value"))
        if value is None and s["value"] is None:
            c.err((*path, "steps", i, "value"), "required")
        color = c.color(s["color"], (*path, "steps", i, "color"), "red")
        if value is not None:
            if steps and value <= steps[-1].value:
                c.err((*path, "steps", i, "value"), f"steps must ascend: {value:g} after {steps[-1].value:g}")
            steps.append(ThresholdStep(value, color))
    return Thresholds(base, tuple(steps), style)


def _mappings(c: _Checker, raw: Any, path: FieldPath) -> tuple[ValueMapping, ...]:
    out: list[ValueMapping] = []
    for i, rm in enumerate(c.items(raw, path)):
        m = c.mapping(rm, (*path, i), ["value", "text", "color"], required=True)
        value = m["value"]
        if value is None or isinstance(value, bool | dict | list):
            c.err((*path, i, "value"), "required: the value to map (a number or a string)")
            continue
        text = c.string(m["text"], (*path, i, "text"), required=True)
        color = c.color(m["color"], (*path, i, "color"), "") or None
        out.append(ValueMapping(_value_key(value), text, color))
    return tuple(out)


def _value_key(value: Any) -> str:
    """Grafana keys value mappings by the value's text: ``1`` and ``1.0`` must both become ``"1"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def dashboard_uid_errors(boards: Sequence[DashboardSpec]) -> list[SpecError]:
    """Two documents with one uid would overwrite each other's JSON file and Grafana dashboard."""
    errors: list[SpecError] = []
    first: dict[str, DashboardSpec] = {}
    for board in boards:
        seen = first.setdefault(board.uid, board)
        if seen is not board:
            errors.append(
                SpecError(
                    board.source,
                    board.line,
                    None,
                    "metadata.uid",
                    f"dashboard uid {board.uid!r} is already used by {seen.source}:{seen.line}",
                )
            )
    return errors
