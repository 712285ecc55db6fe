"""Turn loaded YAML into the frozen SLO model, collecting every error with file, line, SLO and field.

Accepts Sloth ``prometheus/v1`` (snake_case) and Kubernetes ``sloth.slok.dev/v1 PrometheusServiceLevel``
(camelCase) documents, plus our documented extensions (``period``, ``for``, ``no_data_alert``, ``sli.latency``,
``sli.timeslice``, ``threshold_alerts``). Unlike Sloth, unknown keys are errors with a suggestion.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from codegen.dashboard_spec import dashboard_uid_errors, is_dashboard_document, parse_dashboard_document
from codegen.durations import DurationError, format_duration, parse_duration
from codegen.errors import SpecError, SpecErrors
from codegen.loader import Document, FieldPath, LoadedFile, load_files
from codegen.model import (
    SLI,
    SLO,
    WINDOW_TEMPLATE_RE,
    Alerting,
    AlertOptions,
    CompileOptions,
    EventsSLI,
    K8sMeta,
    LatencySLI,
    NoDataAlert,
    RawSLI,
    Source,
    SpecDocument,
    SpecFile,
    SpecKind,
    SpecSet,
    ThresholdAlert,
    TimesliceSLI,
    WindowCatalog,
)
from codegen.promql import check_expression, check_template
from codegen.windows import load_catalogs

NAME_RE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")
LABEL_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
ALERT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONDITION_RE = re.compile(r"^\s*(==|!=|>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
NAME_RULE = "name must start and end with an alphanumeric and can only contain alphanumeric, '.', '_', and '-'"
SEVERITIES = ("critical", "warning", "info")
K8S_API = "sloth.slok.dev/v1"


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.capitalize() for word in rest)


@dataclass
class _Ctx:
    """Per-document parsing state: where we are, which key style applies, and the errors so far."""

    doc: Document
    kind: SpecKind
    errors: list[SpecError]
    base: FieldPath = ()
    slo: str | None = None
    warnings: list[str] = field(default_factory=list)

    def key(self, snake: str) -> str:
        return _camel(snake) if self.kind == "sloth.slok.dev/v1" else snake

    def err(self, path: FieldPath, message: str) -> None:
        full = (*self.base, *path)
        self.errors.append(SpecError(self.doc.path, self.doc.line(full), self.slo, _dotted(full), message))

    def mapping(self, value: Any, path: FieldPath, allowed: Sequence[str], required: bool = False) -> dict[str, Any]:
        """Return ``value`` as a dict after rejecting unknown keys (with the closest valid one suggested)."""
        empty: dict[str, Any] = dict.fromkeys(allowed)
        if value is None:
            if required:
                self.err(path, "required")
            return empty
        if not isinstance(value, dict):
            self.err(path, f"must be a mapping, got {type(value).__name__}")
            return empty
        valid = [self.key(k) for k in allowed]
        for key in value:
            if key not in valid:
                close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
                self.err((*path, key), f"unknown key {key!r}{hint}")
        return {k: value.get(self.key(k)) for k in allowed}

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

    def labels(self, value: Any, path: FieldPath, what: str = "label") -> tuple[tuple[str, str], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.err(path, f"{what}s must be a mapping of {what} key to value")
            return ()
        out: list[tuple[str, str]] = []
        for key, raw in value.items():
            if not LABEL_KEY_RE.match(str(key)):
                self.err((*path, key), f"invalid {what} key {key!r}: must match {LABEL_KEY_RE.pattern}")
                continue
            if what == "label" and key == "__name__":
                self.err((*path, key), "label key __name__ is not allowed")
                continue
            if raw is None or raw == "" or isinstance(raw, dict | list):
                self.err((*path, key), f"{what} value is required (a non-empty string)")
                continue
            out.append((str(key), _stringify(raw)))
        return tuple(sorted(out))


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _merge(*label_sets: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    merged: dict[str, str] = {}
    for labels in label_sets:
        merged.update(labels)
    return tuple(sorted(merged.items()))


@dataclass
class ParseSettings:
    """What the CLI decides for every document: default period and the window catalogs."""

    default_period: int
    catalogs: dict[int, WindowCatalog]


# ---------------------------------------------------------------------------------------------------------------
# Documents


def parse_document(doc: Document, settings: ParseSettings, errors: list[SpecError]) -> SpecDocument | None:
    data = doc.data
    if not isinstance(data, dict):
        errors.append(SpecError(doc.path, doc.line(()), None, "", "a spec document must be a YAML mapping"))
        return None
    if "apiVersion" in data or "kind" in data:
        return _parse_k8s(doc, data, settings, errors)
    ctx = _Ctx(doc, "prometheus/v1", errors)
    top = ctx.mapping(data, (), ["version", "service", "labels", "slos", "threshold_alerts", "slo_plugins"])
    if top["version"] != "prometheus/v1":
        ctx.err(("version",), f'invalid spec version {top["version"]!r}: must be "prometheus/v1"')
        return None
    return _parse_body(ctx, top, settings, Source(doc.path, doc.line(())), None)


def _parse_k8s(
    doc: Document, data: dict[str, Any], settings: ParseSettings, errors: list[SpecError]
) -> SpecDocument | None:
    ctx = _Ctx(doc, "sloth.slok.dev/v1", errors)
    if data.get("kind") == "SLO":
        ctx.err(("kind",), "OpenSLO specs are not supported; use prometheus/v1 or sloth.slok.dev/v1")
        return None
    top = ctx.mapping(data, (), ["api_version", "kind", "metadata", "spec"])
    if top["kind"] != "PrometheusServiceLevel":
        ctx.err(("kind",), f"unsupported kind {top['kind']!r}: expected PrometheusServiceLevel")
        return None
    if top["api_version"] != K8S_API:
        ctx.err(("apiVersion",), f"unsupported apiVersion {top['api_version']!r}: expected {K8S_API}")
        return None
    meta = ctx.mapping(top["metadata"], ("metadata",), ["name", "namespace", "labels", "annotations"], required=True)
    name = ctx.string(meta["name"], ("metadata", "name"), required=True)
    k8s = K8sMeta(
        name=name,
        namespace=ctx.string(meta["namespace"], ("metadata", "namespace")) or None,
        labels=ctx.labels(meta["labels"], ("metadata", "labels")),
        annotations=ctx.labels(meta["annotations"], ("metadata", "annotations"), "annotation"),
    )
    ctx.base = ("spec",)
    spec = ctx.mapping(top["spec"], (), ["service", "labels", "slos", "threshold_alerts", "slo_plugins"], required=True)
    return _parse_body(ctx, spec, settings, Source(doc.path, doc.line(())), k8s)


def _parse_body(
    ctx: _Ctx, top: dict[str, Any], settings: ParseSettings, source: Source, k8s: K8sMeta | None
) -> SpecDocument | None:
    if top["slo_plugins"] is not None:
        ctx.err((ctx.key("slo_plugins"),), "Sloth SLO plugins are not supported by slogen (they run Go code)")
    service = ctx.string(top["service"], ("service",))
    if not service:
        ctx.err(("service",), "invalid SLO service: required")
    elif not NAME_RE.match(service):
        ctx.err(("service",), f"invalid SLO service: {NAME_RULE}")
    spec_labels = ctx.labels(top["labels"], ("labels",))
    raw_slos = top["slos"]
    slos: list[SLO] = []
    if not isinstance(raw_slos, list) or not raw_slos:
        ctx.err(("slos",), "at least one SLO is required")
    else:
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_slos):
            slo = _parse_slo(ctx, raw, index, service, spec_labels, settings)
            if slo is None:
                continue
            if slo.id in seen:
                ctx.slo = slo.name
                ctx.err(("slos", index, "name"), f'SLO ID "{slo.id}" is repeated (first at slos[{seen[slo.id]}])')
                ctx.slo = None
            seen[slo.id] = index
            slos.append(slo)
    alerts = _parse_threshold_alerts(ctx, top["threshold_alerts"])
    return SpecDocument(source, ctx.kind, service, tuple(slos), alerts, k8s)


# ---------------------------------------------------------------------------------------------------------------
# SLOs


def _parse_slo(
    ctx: _Ctx, raw: Any, index: int, service: str, spec_labels: tuple[tuple[str, str], ...], settings: ParseSettings
) -> SLO | None:
    here: FieldPath = ("slos", index)
    name_guess = raw.get("name") if isinstance(raw, dict) else None
    ctx.slo = str(name_guess) if name_guess else f"slos[{index}]"
    fields = ctx.mapping(
        raw, here, ["name", "objective", "description", "labels", "sli", "alerting", "plugins", "period"], required=True
    )
    before = len(ctx.errors)
    name = ctx.string(fields["name"], (*here, "name"))
    if not name:
        ctx.err((*here, "name"), "invalid SLO name: required")
    elif not NAME_RE.match(name):
        ctx.err((*here, "name"), f"invalid SLO name: {NAME_RULE}")
    objective = fields["objective"]
    if isinstance(objective, bool) or not isinstance(objective, int | float):
        ctx.err((*here, "objective"), "objective is required and must be a number (a percentage, e.g. 99.9)")
        objective = 0.0
    elif not 0 < objective <= 100 or math.isnan(objective):
        ctx.err((*here, "objective"), "objective must >0 and <=100")
    description = ctx.string(fields["description"], (*here, "description"))
    labels = _merge(spec_labels, ctx.labels(fields["labels"], (*here, "labels")))
    if fields["plugins"] is not None:
        ctx.err((*here, "plugins"), "Sloth SLO plugins are not supported by slogen (they run Go code)")
    windows = _resolve_period(ctx, fields["period"], (*here, "period"), settings)
    sli = _parse_sli(ctx, fields["sli"], (*here, "sli"))
    alerting = _parse_alerting(ctx, fields["alerting"], (*here, "alerting"))
    ctx.slo = None
    if len(ctx.errors) > before or sli is None or windows is None:
        return None
    return SLO(
        service=service,
        name=name,
        objective=float(objective),
        description=description,
        labels=labels,
        sli=sli,
        alerting=alerting,
        windows=windows,
        source=Source(ctx.doc.path, ctx.doc.line((*ctx.base, *here))),
        spec_kind=ctx.kind,
    )


def _resolve_period(ctx: _Ctx, value: Any, path: FieldPath, settings: ParseSettings) -> WindowCatalog | None:
    if value is None:
        period = settings.default_period
    else:
        try:
            period = parse_duration(str(value))
        except DurationError as exc:
            ctx.err(path, str(exc))
            return None
    catalog = settings.catalogs.get(period)
    if catalog is None:
        known = ", ".join(format_duration(p) for p in sorted(settings.catalogs))
        ctx.err(
            path,
            f"no alert windows for SLO period {format_duration(period)} (known periods: {known}); "
            "add an AlertWindows file with --slo-period-windows-path",
        )
    return catalog


def _parse_sli(ctx: _Ctx, value: Any, path: FieldPath) -> SLI | None:
    sli = ctx.mapping(value, path, ["events", "raw", "plugin", "latency", "timeslice"])
    if value is None:
        ctx.err(path, "invalid SLI: at least one SLI type is required")
        return None
    present = [k for k, v in sli.items() if v is not None]
    if not present:
        ctx.err(path, "invalid SLI: at least one SLI type is required")
        return None
    if len(present) > 1:
        ctx.err(path, f"invalid SLI: only one SLI type is allowed (found {', '.join(present)})")
        return None
    kind = present[0]
    here = (*path, kind)
    if kind == "plugin":
        ctx.err(here, "Sloth SLI plugins are not supported by slogen; use events, raw, latency or timeslice")
        return None
    if kind == "events":
        ev = ctx.mapping(sli["events"], here, ["error_query", "total_query"], required=True)
        error = _template(ctx, ev["error_query"], (*here, ctx.key("error_query")), "sli error query")
        total = _template(ctx, ev["total_query"], (*here, ctx.key("total_query")), "sli total query")
        if error and total and error.strip() == total.strip():
            ctx.err(here, "invalid SLI: both error and total queries can't be the same")
        return EventsSLI(error, total) if error and total else None
    if kind == "raw":
        raw = ctx.mapping(sli["raw"], here, ["error_ratio_query"], required=True)
        query = _template(ctx, raw["error_ratio_query"], (*here, ctx.key("error_ratio_query")), "sli raw query")
        return RawSLI(query) if query else None
    if kind == "latency":
        return _parse_latency(ctx, sli["latency"], here)
    return _parse_timeslice(ctx, sli["timeslice"], here)


def _template(ctx: _Ctx, value: Any, path: FieldPath, what: str) -> str:
    text = ctx.string(value, path)
    if not text:
        ctx.err(path, f"{what} template: query template is required")
        return ""
    if not WINDOW_TEMPLATE_RE.search(text):
        ctx.err(path, f"{what} template: template must contain the {{{{ .window }}}} variable")
        return ""
    problem = check_template(text)
    if problem:
        ctx.err(path, f"{what} expression: invalid PromQL: {problem}")
        return ""
    return text


def _parse_latency(ctx: _Ctx, value: Any, path: FieldPath) -> LatencySLI | None:
    lat = ctx.mapping(value, path, ["histogram", "threshold", "matchers", "buckets"], required=True)
    before = len(ctx.errors)
    histogram = ctx.string(lat["histogram"], (*path, "histogram"), required=True)
    if histogram and not METRIC_RE.match(histogram):
        ctx.err((*path, "histogram"), f"invalid metric name {histogram!r}")
    for suffix in ("_bucket", "_count", "_sum"):
        if histogram.endswith(suffix):
            ctx.err((*path, "histogram"), f"give the histogram's base name, e.g. {histogram[: -len(suffix)]!r}")
    threshold = lat["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not threshold > 0:
        ctx.err((*path, "threshold"), "threshold must be a positive number (seconds, a histogram bucket boundary)")
        threshold = 0.0
    matchers = ctx.string(lat["matchers"], (*path, "matchers")).strip().strip("{}").strip()
    if matchers and check_expression(f"metric{{{matchers}}}"):
        ctx.err((*path, "matchers"), f'invalid label matchers {matchers!r}: expected e.g. job="api"')
    buckets: tuple[float, ...] | None = None
    if lat["buckets"] is not None:
        raw = lat["buckets"]
        if (
            not isinstance(raw, list)
            or not raw
            or any(isinstance(b, bool) or not isinstance(b, int | float) for b in raw)
        ):
            ctx.err((*path, "buckets"), "buckets must be a non-empty list of numbers")
        else:
            buckets = tuple(float(b) for b in raw)
            if list(buckets) != sorted(set(buckets)):
                ctx.err((*path, "buckets"), "buckets must be strictly increasing")
            elif threshold and float(threshold) not in buckets:
                near = min(buckets, key=lambda b: abs(b - float(threshold)))
                ctx.err(
                    (*path, "threshold"),
                    f"threshold {threshold} is not a bucket boundary (nearest: {near:g}); "
                    "bad = count - bucket{le=threshold} needs an exact bucket",
                )
    if len(ctx.errors) > before:
        return None
    return LatencySLI(histogram, float(threshold), matchers, buckets)


def _parse_timeslice(ctx: _Ctx, value: Any, path: FieldPath) -> TimesliceSLI | None:
    ts = ctx.mapping(value, path, ["query", "bad_when", "missing_is_bad", "up_query"], required=True)
    before = len(ctx.errors)
    query = ctx.string(ts["query"], (*path, "query"), required=True)
    if query:
        if WINDOW_TEMPLATE_RE.search(query):
            ctx.err((*path, "query"), "a timeslice query is an instant gauge expression: drop {{.window}}")
        elif problem := check_expression(query):
            ctx.err((*path, "query"), f"invalid PromQL: {problem}")
    condition = ctx.string(ts["bad_when"], (*path, ctx.key("bad_when")), required=True)
    match = CONDITION_RE.match(condition) if condition else None
    if condition and not match:
        ctx.err(
            (*path, ctx.key("bad_when")),
            f"invalid condition {condition!r}: expected an operator and a number, e.g. '> 30'",
        )
    missing_is_bad = ctx.boolean(ts["missing_is_bad"], (*path, ctx.key("missing_is_bad")))
    up_query = ctx.string(ts["up_query"], (*path, ctx.key("up_query"))) or None
    if missing_is_bad and not up_query:
        ctx.err((*path, ctx.key("up_query")), 'required when missing_is_bad is true (e.g. up{job="api"})')
    if up_query and (problem := check_expression(up_query)):
        ctx.err((*path, ctx.key("up_query")), f"invalid PromQL: {problem}")
    if len(ctx.errors) > before or match is None:
        return None
    return TimesliceSLI(query, match.group(1), float(match.group(2)), missing_is_bad, up_query)


# ---------------------------------------------------------------------------------------------------------------
# Alerts


def _parse_alerting(ctx: _Ctx, value: Any, path: FieldPath) -> Alerting:
    al = ctx.mapping(value, path, ["name", "labels", "annotations", "page_alert", "ticket_alert", "no_data_alert"])
    name = ctx.string(al["name"], (*path, "name")) or None
    if name and not ALERT_NAME_RE.match(name):
        ctx.err((*path, "name"), f"invalid alert name {name!r}: must match {ALERT_NAME_RE.pattern}")
    page = _parse_alert_options(ctx, al["page_alert"], (*path, ctx.key("page_alert")))
    ticket = _parse_alert_options(ctx, al["ticket_alert"], (*path, ctx.key("ticket_alert")))
    for label, options in (("page", page), ("ticket", ticket)):
        if not options.disabled and not name:
            ctx.err((*path, "name"), f"invalid alert: {label} alert: alert name is required")
    nd_path = (*path, ctx.key("no_data_alert"))
    nd = ctx.mapping(al["no_data_alert"], nd_path, ["disable", "for", "labels", "annotations"])
    no_data = NoDataAlert(
        disabled=ctx.boolean(nd["disable"], (*nd_path, "disable")),
        for_=ctx.duration(nd["for"], (*nd_path, "for")) or "10m",
        labels=ctx.labels(nd["labels"], (*nd_path, "labels")),
        annotations=ctx.labels(nd["annotations"], (*nd_path, "annotations"), "annotation"),
    )
    return Alerting(
        name=name,
        labels=ctx.labels(al["labels"], (*path, "labels")),
        annotations=ctx.labels(al["annotations"], (*path, "annotations"), "annotation"),
        page=page,
        ticket=ticket,
        no_data=no_data,
    )


def _parse_alert_options(ctx: _Ctx, value: Any, path: FieldPath) -> AlertOptions:
    opts = ctx.mapping(value, path, ["disable", "labels", "annotations", "for"])
    return AlertOptions(
        disabled=ctx.boolean(opts["disable"], (*path, "disable")),
        labels=ctx.labels(opts["labels"], (*path, "labels")),
        annotations=ctx.labels(opts["annotations"], (*path, "annotations"), "annotation"),
        for_=ctx.duration(opts["for"], (*path, "for")),
    )


def _parse_threshold_alerts(ctx: _Ctx, value: Any) -> tuple[ThresholdAlert, ...]:
    if value is None:
        return ()
    path: FieldPath = (ctx.key("threshold_alerts"),)
    if not isinstance(value, list):
        ctx.err(path, "must be a list of alerts")
        return ()
    alerts: list[ThresholdAlert] = []
    for index, raw in enumerate(value):
        here = (*path, index)
        before = len(ctx.errors)
        fields = ctx.mapping(raw, here, ["name", "expr", "for", "severity", "labels", "annotations"], required=True)
        name = ctx.string(fields["name"], (*here, "name"), required=True)
        if name and not ALERT_NAME_RE.match(name):
            ctx.err((*here, "name"), f"invalid alert name {name!r}: must match {ALERT_NAME_RE.pattern}")
        expr = ctx.string(fields["expr"], (*here, "expr"), required=True)
        if expr and (problem := check_expression(expr)):
            ctx.err((*here, "expr"), f"invalid PromQL: {problem}")
        severity = ctx.string(fields["severity"], (*here, "severity")) or "warning"
        if severity not in SEVERITIES:
            ctx.err((*here, "severity"), f"severity must be one of {', '.join(SEVERITIES)}")
        annotations = ctx.labels(fields["annotations"], (*here, "annotations"), "annotation")
        if not dict(annotations).get("summary"):
            ctx.err((*here, "annotations"), "a summary annotation is required")
        labels = ctx.labels(fields["labels"], (*here, "labels"))
        if "severity" in dict(labels):
            ctx.err((*here, "labels", "severity"), "set severity with the severity field, not a label")
        for_ = ctx.duration(fields["for"], (*here, "for"))
        if len(ctx.errors) == before:
            source = Source(ctx.doc.path, ctx.doc.line((*ctx.base, *here)))
            alerts.append(ThresholdAlert(name, expr.strip(), severity, for_, labels, annotations, source))
    return tuple(alerts)


# ---------------------------------------------------------------------------------------------------------------
# Whole runs


def parse_files(loaded: Sequence[LoadedFile], settings: ParseSettings, errors: list[SpecError]) -> list[SpecFile]:
    files: list[SpecFile] = []
    for lf in loaded:
        slo_docs = [d for d in lf.documents if not is_dashboard_document(d.data)]
        docs = [d for d in (parse_document(doc, settings, errors) for doc in slo_docs) if d is not None]
        boards = [
            b
            for doc in lf.documents
            if is_dashboard_document(doc.data)
            if (b := parse_dashboard_document(doc, errors)) is not None
        ]
        if not lf.documents:
            errors.append(SpecError(lf.path, None, None, "", "file holds no spec documents"))
        files.append(SpecFile(lf.path, lf.relative, tuple(docs), tuple(boards)))
    _check_duplicates(files, errors)
    errors.extend(dashboard_uid_errors([b for f in files for b in f.dashboards]))
    return files


def _check_duplicates(files: Sequence[SpecFile], errors: list[SpecError]) -> None:
    """SLO IDs and alert names must be unique across the whole run (Sloth checks IDs only in ``validate``)."""
    slo_ids: dict[str, Source] = {}
    alert_owner: dict[str, str] = {}
    for spec_file in files:
        for doc in spec_file.documents:
            for slo in doc.slos:
                first = slo_ids.get(slo.id)
                if first is not None and first != slo.source:
                    if first.path != slo.source.path:
                        errors.append(
                            SpecError(
                                slo.source.path,
                                slo.source.line,
                                slo.name,
                                "name",
                                f'SLO duplicated: ID "{slo.id}" already exists in {first.path}:{first.line}',
                            )
                        )
                else:
                    slo_ids[slo.id] = slo.source
                if slo.alerting.enabled and slo.alerting.name:
                    alert_owner.setdefault(slo.alerting.name, slo.id)
            for alert in doc.threshold_alerts:
                owner = alert_owner.get(alert.name)
                if owner is not None:
                    errors.append(
                        SpecError(
                            alert.source.path,
                            alert.source.line,
                            None,
                            "threshold_alerts.name",
                            f"alert name {alert.name!r} is already used by {owner}",
                        )
                    )
                alert_owner[alert.name] = f"{alert.source.path}:{alert.source.line}"


def load_specs(
    input_path: str,
    options: CompileOptions | None = None,
    default_period: str = "30d",
    windows_path: str | None = None,
) -> SpecSet:
    """Read, validate and model every spec under ``input_path``; raise ``SpecErrors`` with all problems."""
    errors: list[SpecError] = []
    catalogs, window_errors = load_catalogs(windows_path)
    errors.extend(window_errors)
    try:
        period = parse_duration(default_period)
    except DurationError as exc:
        raise SpecErrors([SpecError("--default-slo-period", None, None, "", str(exc))]) from exc
    if catalogs and period not in catalogs:
        errors.append(
            SpecError(
                "--default-slo-period",
                None,
                None,
                "",
                f"invalid default slo period: no alert windows for {format_duration(period)}",
            )
        )
    loaded, load_errors = load_files(input_path)
    errors.extend(load_errors)
    files = parse_files(loaded, ParseSettings(period, catalogs), errors)
    if errors:
        raise SpecErrors(errors)
    return SpecSet(tuple(files), options or CompileOptions())
