"""The model back to spec YAML data: Sloth ``prometheus/v1`` keys, plus slogen's extensions where the SLO has them.

One emitter for both targets: ``--to slogen`` writes every extension the SLO uses; ``--to sloth`` first lowers the
SLO to what Sloth understands (``convert.sloth``), so the same code writes nothing Sloth cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from codegen.durations import format_duration
from codegen.lowering import condition
from codegen.model import (
    SLI,
    SLO,
    Alerting,
    AlertOptions,
    EventsSLI,
    LatencySLI,
    NativeLatencySLI,
    NoDataAlert,
    PluginChainSpec,
    RawSLI,
    SliceRatioSLI,
    SpecDocument,
    ThresholdAlert,
    TimesliceSLI,
    WindowCatalog,
)

SPEC_VERSION = "prometheus/v1"
DEFAULT_NO_DATA = NoDataAlert()


def plugin_chain(chain: PluginChainSpec) -> dict[str, Any] | None:
    """``slo_plugins``/``plugins`` as written (``overridePrevious``, ``chain`` of ``{id, config, priority}``)."""
    if not chain.plugins and not chain.override_previous:
        return None
    out: dict[str, Any] = {}
    if chain.override_previous:
        out["overridePrevious"] = True
    refs: list[dict[str, Any]] = []
    for ref in chain.plugins:
        item: dict[str, Any] = {"id": ref.id}
        if ref.config is not None:
            item["config"] = ref.config
        if ref.priority:
            item["priority"] = ref.priority
        refs.append(item)
    out["chain"] = refs
    return out


def sli_data(sli: SLI) -> dict[str, Any]:
    match sli:
        case EventsSLI():
            return {"events": {"error_query": sli.error_query, "total_query": sli.total_query}}
        case RawSLI():
            return {"raw": {"error_ratio_query": sli.error_ratio_query}}
        case LatencySLI():
            latency: dict[str, Any] = {"histogram": sli.histogram}
            if sli.matchers:
                latency["matchers"] = sli.matchers
            latency["threshold"] = sli.threshold
            if sli.buckets is not None:
                latency["buckets"] = list(sli.buckets)
            return {"latency": latency}
        case NativeLatencySLI():
            native: dict[str, Any] = {"histogram": sli.histogram}
            if sli.matchers:
                native["matchers"] = sli.matchers
            native["threshold"] = sli.threshold
            return {"native_latency": native}
        case TimesliceSLI():
            timeslice: dict[str, Any] = {"query": sli.query, "bad_when": condition(sli)}
            if sli.missing_is_bad:
                timeslice["missing_is_bad"] = True
            if sli.up_query:
                timeslice["up_query"] = sli.up_query
            return {"timeslice": timeslice}
        case SliceRatioSLI():
            return {"slice_ratio": {"error_ratio_query": sli.error_ratio_query, "slice_window": sli.slice_window}}
        case _:
            assert_never(sli)


def _pairs(pairs: tuple[tuple[str, str], ...]) -> dict[str, str] | None:
    return dict(pairs) if pairs else None


def _alert_options(options: AlertOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options.disabled:
        out["disable"] = True
    for key, value in (("labels", _pairs(options.labels)), ("annotations", _pairs(options.annotations))):
        if value:
            out[key] = value
    if options.for_:
        out["for"] = options.for_
    return out


def _no_data(no_data: NoDataAlert) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if no_data.disabled:
        out["disable"] = True
    if no_data.for_ != DEFAULT_NO_DATA.for_:
        out["for"] = no_data.for_
    for key, value in (("labels", _pairs(no_data.labels)), ("annotations", _pairs(no_data.annotations))):
        if value:
            out[key] = value
    return out


def alerting_data(alerting: Alerting, *, no_data: bool = True) -> dict[str, Any]:
    """Only what differs from the defaults, so a converted spec reads like a written one."""
    out: dict[str, Any] = {}
    if alerting.name:
        out["name"] = alerting.name
    for key, value in (("labels", _pairs(alerting.labels)), ("annotations", _pairs(alerting.annotations))):
        if value:
            out[key] = value
    for key, options in (("page_alert", alerting.page), ("ticket_alert", alerting.ticket)):
        if data := _alert_options(options):
            out[key] = data
    if no_data and (data := _no_data(alerting.no_data)):
        out["no_data_alert"] = data
    return out


def alert_windows_data(windows: WindowCatalog) -> dict[str, Any]:
    """``alert_windows``: the tiers as an ``AlertWindows`` spec writes them (the period is the SLO's)."""
    out: dict[str, Any] = {}
    for tier in windows.tiers:
        speed = tier.name.split("-")[1]
        entry: dict[str, Any] = {
            "errorBudgetPercent": tier.budget_percent,
            "shortWindow": tier.short,
            "longWindow": tier.long,
        }
        if tier.factor is not None:
            entry["burnFactor"] = tier.factor
        out.setdefault(tier.severity, {})[speed] = entry
    return out


def slo_data(slo: SLO, *, period: bool, no_data: bool = True, catalog: WindowCatalog | None = None) -> dict[str, Any]:
    """One ``slos`` item; labels are the merged spec and SLO labels (the model keeps no difference). With
    ``period``, tiers that are not ``catalog`` (the run's for the SLO's period) are written as ``alert_windows``."""
    objective = int(slo.objective) if slo.objective.is_integer() else slo.objective
    out: dict[str, Any] = {"name": slo.name, "objective": objective}
    if slo.description:
        out["description"] = slo.description
    if period:
        out["period"] = format_duration(slo.period)
        if slo.windows != catalog:
            out["alert_windows"] = alert_windows_data(slo.windows)
    if slo.labels:
        out["labels"] = dict(slo.labels)
    if slo.grouping:
        out["grouping"] = list(slo.grouping)
    out["sli"] = sli_data(slo.sli)
    out["alerting"] = alerting_data(slo.alerting, no_data=no_data)
    if chain := plugin_chain(slo.plugins):
        out["plugins"] = chain
    return out


def threshold_alert_data(alert: ThresholdAlert) -> dict[str, Any]:
    out: dict[str, Any] = {"name": alert.name, "expr": alert.expr}
    if alert.for_:
        out["for"] = alert.for_
    out["severity"] = alert.severity
    if alert.labels:
        out["labels"] = dict(alert.labels)
    out["annotations"] = dict(alert.annotations)
    return out


def document_data(
    doc: SpecDocument,
    slos: tuple[SLO, ...],
    *,
    period: bool,
    no_data: bool,
    threshold_alerts: bool,
    catalogs: Mapping[int, WindowCatalog] | None = None,
) -> dict[str, Any]:
    """A whole ``prometheus/v1`` document; the spec-level plugins are the first SLO's (one per document)."""
    out: dict[str, Any] = {"version": SPEC_VERSION, "service": doc.service}
    if slos and (chain := plugin_chain(slos[0].spec_plugins)):
        out["slo_plugins"] = chain
    catalogs = catalogs or {}
    out["slos"] = [slo_data(s, period=period, no_data=no_data, catalog=catalogs.get(s.period)) for s in slos]
    if threshold_alerts and doc.threshold_alerts:
        out["threshold_alerts"] = [threshold_alert_data(a) for a in doc.threshold_alerts]
    return out
