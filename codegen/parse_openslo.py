"""OpenSLO ``openslo/v1alpha`` kind ``SLO``, read as Sloth v0.16 reads it.

Each objective becomes one SLO: name ``<metadata.name>-<index>`` (so the ID is ``<service>-<name>-<index>``),
objective ``target`` x 100, period ``timeWindows[0].count`` days (the default period without a window), a raw
SLI ``1 - (good / total)`` in Sloth's exact text, and no alerts (OpenSLO v1alpha has no alerting Sloth reads).

Sloth drops some fields without a word: ``budgetingMethod: Timeslices`` (it always counts occurrences),
calendar-aligned windows (it always rolls), ``indicator.thresholdMetric``, an objective's ``value``/``op``/
``timeSliceTarget``, and any unknown key (e.g. ``metadata.labels``). Here each is an error naming the field, or
with ``--sloth-compat`` a warning that says what Sloth does instead. ``displayName`` and ``ratioMetrics.counter``
are read and unused, as in Sloth (neither changes the rules).
"""

from __future__ import annotations

import math
from typing import Any, Final

from codegen.conventions import WINDOW_TEMPLATE_RE
from codegen.errors import SpecError
from codegen.fields import NAME_RE, NAME_RULE, Fields
from codegen.loader import Document, FieldPath
from codegen.model import (
    SLO,
    Alerting,
    AlertOptions,
    NoDataAlert,
    RawSLI,
    Source,
    SpecDocument,
    WindowCatalog,
)
from codegen.parse_settings import ParseSettings, catalog_for
from codegen.parse_sli import query_template

OPENSLO_API: Final = "openslo/v1alpha"
QUERY_SOURCES = ("prometheus", "sloth")
QUERY_TYPE = "promql"
DAY = 86400
NO_ALERTS = Alerting(
    page=AlertOptions(disabled=True), ticket=AlertOptions(disabled=True), no_data=NoDataAlert(disabled=True)
)


def error_ratio_query(good: str, total: str) -> str:
    """Sloth's raw SLI for a good/total ratio, whitespace included (it shows in the generated rules)."""
    return f"\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n"


def parse_openslo_document(
    doc: Document, data: dict[str, Any], settings: ParseSettings, errors: list[SpecError]
) -> SpecDocument | None:
    ctx = Fields(doc, OPENSLO_API, errors, warnings=settings.warnings)
    if data.get("apiVersion") != OPENSLO_API:
        ctx.err(
            ("apiVersion",),
            f"unsupported apiVersion {data.get('apiVersion')!r} for kind SLO: slogen reads OpenSLO "
            f"{OPENSLO_API}, as Sloth does",
        )
        return None
    if data.get("kind") != "SLO":
        ctx.err(("kind",), f"unsupported OpenSLO kind {data.get('kind')!r}: slogen reads kind SLO, as Sloth does")
        return None
    reader = _Reader(ctx, settings)
    top = reader.mapping(data, (), ["apiVersion", "kind", "metadata", "spec"])
    metadata = reader.mapping(top["metadata"], ("metadata",), ["name", "displayName"], required=True)
    base_name = ctx.string(metadata["name"], ("metadata", "name"), required=True)
    spec = reader.mapping(
        top["spec"],
        ("spec",),
        ["timeWindows", "budgetingMethod", "description", "indicator", "service", "objectives"],
        required=True,
    )
    service = ctx.string(spec["service"], ("spec", "service"))
    if not service:
        ctx.err(("spec", "service"), "invalid SLO service: required")
    elif not NAME_RE.match(service):
        ctx.err(("spec", "service"), f"invalid SLO service: {NAME_RULE}")
    description = ctx.string(spec["description"], ("spec", "description"))
    method = spec["budgetingMethod"]
    if method not in (None, "Occurrences"):
        reader.dropped(
            ("spec", "budgetingMethod"),
            f"budgetingMethod {method!r} is not supported: Sloth computes Occurrences (a ratio of events)",
        )
    if spec["indicator"] is not None:
        reader.dropped(
            ("spec", "indicator"),
            "indicator (thresholdMetric) is not supported: Sloth ignores it and reads each objective's ratioMetrics",
        )
    windows = _windows(reader, spec["timeWindows"], ("spec", "timeWindows"))
    objectives = spec["objectives"]
    if not isinstance(objectives, list) or not objectives:
        ctx.err(("spec", "objectives"), "at least one SLO is required (one objective with ratioMetrics)")
        return None
    slos = [
        slo
        for index, objective in enumerate(objectives)
        if (slo := _objective(reader, objective, index, service, base_name, description, windows)) is not None
    ]
    if len(slos) != len(objectives) or windows is None or not service or not base_name:
        return None
    return SpecDocument(Source(doc.path, doc.line(())), OPENSLO_API, service, tuple(slos))


class _Reader:
    """Field access with the mode's policy for what Sloth drops: an error, or under ``--sloth-compat`` a warning."""

    def __init__(self, ctx: Fields, settings: ParseSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.compat = settings.sloth_compat

    def dropped(self, path: FieldPath, message: str) -> None:
        if self.compat:
            self.ctx.warn(path, message + " (dropped as Sloth drops it)")
        else:
            self.ctx.err(path, message + " (--sloth-compat drops it as Sloth does)")

    def mapping(self, value: Any, path: FieldPath, allowed: list[str], required: bool = False) -> dict[str, Any]:
        if not self.compat or not isinstance(value, dict):
            return self.ctx.mapping(value, path, allowed, required)
        for key in value:
            if key not in allowed:
                self.ctx.warn((*path, key), f"unknown key {key!r}: Sloth ignores it (valid keys: {', '.join(allowed)})")
        return {k: value.get(k) for k in allowed}


def _windows(reader: _Reader, value: Any, path: FieldPath) -> WindowCatalog | None:
    ctx = reader.ctx
    if value is None or value == []:
        return catalog_for(ctx, reader.settings.default_period, path, reader.settings)
    if not isinstance(value, list):
        ctx.err(path, "must be a list with one time window")
        return None
    if len(value) > 1:
        ctx.err(path, "only 1 time window is supported")
        return None
    here = (*path, 0)
    window = reader.mapping(value[0], here, ["unit", "count", "isRolling", "calendar"], required=True)
    unit, count = window["unit"], window["count"]
    if not isinstance(unit, str) or unit.lower() != "day":
        ctx.err((*here, "unit"), f"only days based time windows are supported (got unit {unit!r})")
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        ctx.err((*here, "count"), f"count must be a positive whole number of days (got {count!r})")
        return None
    if window["isRolling"] is False or window["calendar"] is not None:
        reader.dropped(
            (*here, "calendar" if window["calendar"] is not None else "isRolling"),
            "calendar-aligned time windows are not supported: Sloth reads every window as rolling",
        )
    return catalog_for(ctx, count * DAY, (*here, "count"), reader.settings)


def _objective(
    reader: _Reader,
    value: Any,
    index: int,
    service: str,
    base_name: str,
    description: str,
    windows: WindowCatalog | None,
) -> SLO | None:
    ctx = reader.ctx
    here: FieldPath = ("spec", "objectives", index)
    name = f"{base_name}-{index}"
    ctx.slo = name
    before = len(ctx.errors)
    fields = reader.mapping(
        value, here, ["displayName", "value", "ratioMetrics", "target", "timeSliceTarget", "op"], required=True
    )
    for dropped in ("value", "op", "timeSliceTarget"):
        if fields[dropped] is not None:
            reader.dropped((*here, dropped), f"{dropped} is not supported: Sloth ignores it")
    if base_name and not NAME_RE.match(name):
        ctx.err(("metadata", "name"), f"invalid SLO name {name!r}: {NAME_RULE}")
    target = fields["target"]
    objective = 0.0
    if isinstance(target, bool) or not isinstance(target, int | float):
        ctx.err((*here, "target"), "target is required and must be a number (a ratio, e.g. 0.999)")
    else:
        objective = target * 100  # OpenSLO uses ratios, Sloth percents (same float product as Sloth's)
        if math.isnan(objective) or not 0 < objective <= 100:
            ctx.err((*here, "target"), "target must be >0 and <=1 (objective must >0 and <=100)")
    sli = _ratio_sli(reader, fields["ratioMetrics"], (*here, "ratioMetrics"))
    ctx.slo = None
    if len(ctx.errors) > before or sli is None or windows is None:
        return None
    return SLO(
        service=service,
        name=name,
        objective=float(objective),
        description=description,
        labels=(),
        sli=sli,
        alerting=NO_ALERTS,
        windows=windows,
        source=Source(ctx.doc.path, ctx.doc.line(here)),
        spec_kind=OPENSLO_API,
    )


def _ratio_sli(reader: _Reader, value: Any, path: FieldPath) -> RawSLI | None:
    ctx = reader.ctx
    if value is None:
        ctx.err(path, "missing ratioMetrics (the only objective type Sloth reads)")
        return None
    ratio = reader.mapping(value, path, ["good", "total", "counter"], required=True)
    queries: dict[str, str] = {}
    sources: dict[str, Any] = {}
    for part in ("good", "total"):
        here = (*path, part)
        metric = reader.mapping(ratio[part], here, ["source", "queryType", "query"], required=True)
        sources[part] = metric["source"]
        if metric["queryType"] != QUERY_TYPE:
            ctx.err((*here, "queryType"), f"unsupported {part!r} indicator query type: {metric['queryType']!r}")
        queries[part] = ctx.string(metric["query"], (*here, "query"), required=True)
        if queries[part] and not reader.compat and not WINDOW_TEMPLATE_RE.search(queries[part]):
            ctx.err((*here, "query"), "the query must contain the {{.window}} variable")
    for part in ("good", "total"):
        if sources[part] in QUERY_SOURCES:
            continue
        message = f"prometheus or sloth query ratio {part!r} source is required (got {sources[part]!r})"
        if part == "total" and reader.compat and sources["good"] == "sloth":
            ctx.warn((*path, part, "source"), message + ": Sloth accepts it because the good source is sloth")
        else:
            ctx.err((*path, part, "source"), message)
    if not queries["good"] or not queries["total"]:
        return None
    checked = query_template(ctx, error_ratio_query(queries["good"], queries["total"]), path, "sli raw query")
    return RawSLI(checked) if checked else None
