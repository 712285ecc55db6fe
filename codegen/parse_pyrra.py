"""Pyrra ``pyrra.dev/v1alpha1`` ``ServiceLevelObjective`` (or a ``ServiceLevelObjectiveList``) in.

Each object becomes one SLO of our model; our rule names come out, not Pyrra's. The mapping (also in the README):

- ``metadata.name`` → SLO name; ``metadata.namespace`` → service (Kubernetes' ``default`` without one);
  ``metadata.labels`` with the ``pyrra.dev/`` prefix → SLO labels without the prefix (Pyrra propagates only
  those to its rules; the others select the PrometheusRule object, which a plain rule file does not have: a
  warning says they are unused).
- ``spec.target`` (a string, percent) → objective; ``spec.window`` → period; ``spec.description``.
- ``indicator.ratio`` → an events SLI ``sum by (grouping) (rate(errors[w])) / sum by (grouping) (rate(total[w]))``;
  ``latency`` → an events SLI ``total - success`` over ``total``; ``latencyNative`` → our native-latency SLI
  (``histogram_fraction``); ``bool_gauge`` → a raw SLI, the share of samples that are 0. Each ``grouping`` →
  the SLO's ``grouping``.
- Alerting keeps Pyrra's burn-rate table (windows scaled with ``window``, factors 14/7/2/1) as the SLO's window
  catalog, so our alerts fire on the burn that fires Pyrra's. Pyrra writes four alerts with a ``for`` each; we
  write one page and one ticket alert (quick tier or slow tier) whose ``for`` is the quick tier's. The annotation
  ``slogen.dev/alert-windows: slogen`` chooses our catalog for the period instead.
"""

from __future__ import annotations

import re
from typing import Any, Final

import promql_parser

from codegen.durations import format_duration, parse_duration
from codegen.errors import SpecError
from codegen.fields import LABEL_KEY_RE, NAME_RE, NAME_RULE, Fields
from codegen.loader import Document, FieldPath
from codegen.model import (
    SLI,
    SLO,
    Alerting,
    AlertOptions,
    AlertTier,
    EventsSLI,
    NativeLatencySLI,
    NoDataAlert,
    RawSLI,
    Source,
    SpecDocument,
    WindowCatalog,
)
from codegen.parse_settings import ParseSettings, catalog_for
from codegen.parse_sli import parse_grouping

PYRRA_API: Final = "pyrra.dev/v1alpha1"
KIND: Final = "ServiceLevelObjective"
LIST_KIND: Final = "ServiceLevelObjectiveList"
PROPAGATION_PREFIX: Final = "pyrra.dev/"
DEFAULT_NAMESPACE: Final = "default"
PYRRA_SLO_LABEL: Final = "slo"  # the label Pyrra puts on every alert: the object's name
DEFAULT_ALERT: Final = "ErrorBudgetBurn"  # Pyrra's alert name when alerting.name is not set
WINDOWS_ANNOTATION: Final = "slogen.dev/alert-windows"
WINDOWS_CHOICES: Final = ("pyrra", "slogen")
MINUTE_NS: Final = 60 * 10**9

# Pyrra's burn-rate table for a 28d window, every duration scaled by window/28d (Go's integer nanosecond division,
# rounded to the minute): (tier, severity, for, short, long, factor) as fractions of the window.
_DAY_PARTS: Final = 28 * 24
PYRRA_TIERS: Final = (
    ("page-quick", "page", _DAY_PARTS * 30, _DAY_PARTS * 12, _DAY_PARTS, 14.0),
    ("page-slow", "page", _DAY_PARTS * 4, _DAY_PARTS * 2, 28 * 4, 7.0),
    ("ticket-quick", "ticket", _DAY_PARTS, 28 * 12, 28, 2.0),
    ("ticket-slow", "ticket", 28 * 8, 28 * 4, 7, 1.0),
)
_LATENCY_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def pyrra_duration(window_seconds: int, divisor: int) -> int:
    """``(window / divisor).Round(time.Minute)`` in seconds, as Go computes it on nanoseconds."""
    ns = window_seconds * 10**9 // divisor
    minutes, rest = divmod(ns, MINUTE_NS)
    if rest * 2 >= MINUTE_NS:  # Go rounds halfway away from zero
        minutes += 1
    return minutes * 60


def pyrra_catalog(period: int) -> tuple[WindowCatalog, dict[str, int]]:
    """Pyrra's four tiers for ``period`` as our catalog, and each tier's ``for`` in seconds."""
    tiers: list[AlertTier] = []
    fors: dict[str, int] = {}
    for name, severity, for_div, short_div, long_div, factor in PYRRA_TIERS:
        short, long = pyrra_duration(period, short_div), pyrra_duration(period, long_div)
        budget_percent = factor * long / period * 100  # informative only: ``factor`` is the exact threshold
        tiers.append(AlertTier(name, severity, budget_percent, short, long, period, factor))  # type: ignore[arg-type]
        fors[name] = pyrra_duration(period, for_div)
    return WindowCatalog(period, *tiers), fors


def is_pyrra(data: dict[str, Any]) -> bool:
    return str(data.get("apiVersion", "")).startswith("pyrra.dev/") or data.get("kind") in (KIND, LIST_KIND)


def parse_pyrra_document(
    doc: Document, data: dict[str, Any], settings: ParseSettings, errors: list[SpecError]
) -> SpecDocument | None:
    ctx = Fields(doc, "pyrra.dev/v1alpha1", errors, warnings=settings.warnings)
    if data.get("apiVersion") != PYRRA_API:
        ctx.err(("apiVersion",), f"unsupported apiVersion {data.get('apiVersion')!r}: slogen reads {PYRRA_API}")
        return None
    if settings.sloth_compat:
        ctx.err(("kind",), "Sloth does not read Pyrra objects: drop --sloth-compat to compile them")
        return None
    before = len(errors)
    slos: list[SLO] = []
    if data.get("kind") == LIST_KIND:
        top = ctx.mapping(data, (), ["apiVersion", "kind", "metadata", "items"])
        items = top["items"]
        if not isinstance(items, list):
            ctx.err(("items",), "items must be a list of ServiceLevelObjective objects")
            return None
        for index, item in enumerate(items):
            slo = _parse_object(ctx, item, ("items", index), settings)
            if slo is not None:
                slos.append(slo)
    elif data.get("kind") == KIND:
        slo = _parse_object(ctx, data, (), settings)
        if slo is not None:
            slos.append(slo)
    else:
        ctx.err(("kind",), f"unsupported Pyrra kind {data.get('kind')!r}: expected {KIND} or {LIST_KIND}")
    if len(errors) > before or not slos:
        return None
    return SpecDocument(Source(doc.path, doc.line(())), "pyrra.dev/v1alpha1", slos[0].service, tuple(slos))


def _parse_object(ctx: Fields, raw: Any, here: FieldPath, settings: ParseSettings) -> SLO | None:
    before = len(ctx.errors)
    top = ctx.mapping(raw, here, ["apiVersion", "kind", "metadata", "spec", "status"], required=True)
    if here and top["kind"] != KIND:
        ctx.err((*here, "kind"), f"a list item must be kind {KIND}, got {top['kind']!r}")
    meta_path = (*here, "metadata")
    meta = ctx.mapping(top["metadata"], meta_path, ["name", "namespace", "labels", "annotations"], required=True)
    name = ctx.string(meta["name"], (*meta_path, "name"), required=True)
    ctx.slo = name or None
    if name and not NAME_RE.match(name):
        ctx.err((*meta_path, "name"), f"invalid SLO name: {NAME_RULE}")
    service = ctx.string(meta["namespace"], (*meta_path, "namespace")) or DEFAULT_NAMESPACE
    labels = _labels(ctx, meta["labels"], (*meta_path, "labels"))
    annotations = meta["annotations"] if isinstance(meta["annotations"], dict) else {}
    choice = str(annotations.get(WINDOWS_ANNOTATION, "pyrra"))
    if choice not in WINDOWS_CHOICES:
        ctx.err((*meta_path, "annotations", WINDOWS_ANNOTATION), f"must be one of {', '.join(WINDOWS_CHOICES)}")
    spec_path = (*here, "spec")
    spec = ctx.mapping(
        top["spec"],
        spec_path,
        [
            "description",
            "target",
            "window",
            "indicator",
            "alerting",
            "partial_response_strategy",
            "performanceOverAccuracy",
            "ruleOutput",
        ],
        required=True,
    )
    for ignored, why in (
        ("partial_response_strategy", "it is a Thanos Ruler setting and slogen writes Prometheus rule files"),
        ("performanceOverAccuracy", "slogen's rules compute the same ratios in its own way"),
        ("ruleOutput", "slogen writes one rule file per spec file"),
    ):
        if spec[ignored] is not None:
            ctx.warn((*spec_path, ignored), f"ignored: {why}")
    objective = _target(ctx, spec["target"], (*spec_path, "target"))
    window = ctx.duration(spec["window"], (*spec_path, "window"))
    if spec["window"] is None:
        ctx.err((*spec_path, "window"), "required (e.g. 28d)")
    period = parse_duration(window) if window else None
    indicator = _indicator(ctx, spec["indicator"], (*spec_path, "indicator"))
    windows: WindowCatalog | None = None
    fors: dict[str, int] = {}
    if period:
        if choice == "slogen":
            windows = catalog_for(ctx, period, (*spec_path, "window"), settings)
        else:
            windows, fors = pyrra_catalog(period)
    alerting = _alerting(ctx, spec["alerting"], (*spec_path, "alerting"), fors, name)
    ctx.slo = None
    if len(ctx.errors) > before or indicator is None or windows is None or objective is None:
        return None
    sli, grouping = indicator
    return SLO(
        service=service,
        name=name,
        objective=objective,
        description=ctx.string(spec["description"], (*spec_path, "description")),
        labels=labels,
        sli=sli,
        alerting=alerting,
        windows=windows,
        source=Source(ctx.doc.path, ctx.doc.line(here)),
        spec_kind="pyrra.dev/v1alpha1",
        grouping=grouping,
    )


def _labels(ctx: Fields, value: Any, path: FieldPath) -> tuple[tuple[str, str], ...]:
    """Pyrra propagates only ``pyrra.dev/``-prefixed object labels to its rules, without the prefix."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        ctx.err(path, "must be a mapping of label name to value")
        return ()
    out: list[tuple[str, str]] = []
    dropped: list[str] = []
    for key, raw in value.items():
        key = str(key)
        if not key.startswith(PROPAGATION_PREFIX):
            dropped.append(key)
            continue
        label = key.removeprefix(PROPAGATION_PREFIX)
        if not LABEL_KEY_RE.match(label):
            ctx.err((*path, key), f"{label!r} is not a Prometheus label name")
            continue
        out.append((label, str(raw)))
    if dropped:
        ctx.warn(
            path,
            f"not rule labels ({', '.join(sorted(dropped))}): without the {PROPAGATION_PREFIX} prefix they label "
            "the Kubernetes object, which a plain rule file does not have (Pyrra does not propagate them either)",
        )
    return tuple(sorted(out))


def _target(ctx: Fields, value: Any, path: FieldPath) -> float | None:
    """Pyrra's ``target`` is a string percentage (``'99.5'``); a YAML number is read too."""
    if isinstance(value, bool) or value is None:
        ctx.err(path, "target is required: a percentage as a string, e.g. '99.5'")
        return None
    try:
        target = float(value)
    except ValueError:
        ctx.err(path, f"target {value!r} is not a number")
        return None
    if not 0 < target < 100:
        ctx.err(path, f"target {value!r} must be above 0 and below 100 (percent)")
        return None
    return target


def _selector(ctx: Fields, value: Any, path: FieldPath) -> str | None:
    """``{metric: <selector>}``: Pyrra accepts one vector selector with a metric name, nothing else."""
    query = ctx.mapping(value, path, ["metric"], required=True)
    text = ctx.string(query["metric"], (*path, "metric"), required=True).strip()
    if not text:
        return None
    try:
        parsed = promql_parser.parse(text)
    except ValueError as exc:
        ctx.err((*path, "metric"), f"invalid PromQL: {exc}")
        return None
    if not isinstance(parsed, promql_parser.VectorSelector) or not parsed.name:
        ctx.err((*path, "metric"), 'must be a vector selector with a metric name, e.g. http_requests_total{job="api"}')
        return None
    return text


def _indicator(ctx: Fields, value: Any, path: FieldPath) -> tuple[SLI, tuple[str, ...]] | None:
    kinds = ["ratio", "latency", "latencyNative", "bool_gauge"]
    ind = ctx.mapping(value, path, kinds, required=True)
    present = [k for k in kinds if ind[k] is not None]
    if len(present) != 1:
        ctx.err(path, f"exactly one indicator is required ({', '.join(kinds)}), found {len(present)}")
        return None
    kind = present[0]
    here = (*path, kind)
    body = ind[kind]
    if kind == "ratio":
        fields = ctx.mapping(body, here, ["errors", "total", "grouping"], required=True)
        errors_q = _selector(ctx, fields["errors"], (*here, "errors"))
        total_q = _selector(ctx, fields["total"], (*here, "total"))
        grouping = _grouping(ctx, fields["grouping"], (*here, "grouping"))
        if errors_q is None or total_q is None:
            return None
        sli: SLI = EventsSLI(_rate_sum(errors_q, grouping), _rate_sum(total_q, grouping))
    elif kind == "latency":
        fields = ctx.mapping(body, here, ["success", "total", "grouping"], required=True)
        success_q = _selector(ctx, fields["success"], (*here, "success"))
        total_q = _selector(ctx, fields["total"], (*here, "total"))
        grouping = _grouping(ctx, fields["grouping"], (*here, "grouping"))
        if success_q is None or total_q is None:
            return None
        total = _rate_sum(total_q, grouping)
        sli = EventsSLI(f"{total} - {_rate_sum(success_q, grouping)}", total)
    elif kind == "latencyNative":
        fields = ctx.mapping(body, here, ["latency", "total", "grouping"], required=True)
        total_q = _selector(ctx, fields["total"], (*here, "total"))
        threshold = _latency(ctx, fields["latency"], (*here, "latency"))
        grouping = _grouping(ctx, fields["grouping"], (*here, "grouping"))
        if total_q is None or threshold is None:
            return None
        metric, _, rest = total_q.partition("{")
        sli = NativeLatencySLI(metric.strip(), threshold, rest.rstrip().removesuffix("}").strip())
    else:
        fields = ctx.mapping(body, here, ["metric", "grouping"], required=True)
        gauge = _selector(ctx, {"metric": fields["metric"]}, here)
        grouping = _grouping(ctx, fields["grouping"], (*here, "grouping"))
        if gauge is None:
            return None
        count = _over_time("count", gauge, grouping)
        sli = RawSLI(f"({count} - {_over_time('sum', gauge, grouping)}) / {count}")
    return sli, parse_grouping(ctx, list(grouping) or None, (*here, "grouping"), sli)


def _grouping(ctx: Fields, value: Any, path: FieldPath) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        ctx.err(path, "grouping must be a list of label names")
        return ()
    return tuple(value)


def _by(grouping: tuple[str, ...]) -> str:
    return f" by ({', '.join(grouping)})" if grouping else ""


def _rate_sum(selector: str, grouping: tuple[str, ...]) -> str:
    return f"sum{_by(grouping)}(rate({selector}[{{{{.window}}}}]))"


def _over_time(func: str, selector: str, grouping: tuple[str, ...]) -> str:
    return f"sum{_by(grouping)}({func}_over_time({selector}[{{{{.window}}}}]))"


def _latency(ctx: Fields, value: Any, path: FieldPath) -> float | None:
    """``latency: 200ms``: a Prometheus duration down to milliseconds, in seconds."""
    text = str(value).strip() if value is not None else ""
    match = _LATENCY_RE.match(text) if text else None
    if not match or not any(match.groups()):
        ctx.err(path, f"latency {value!r} must be a duration such as 200ms, 1s or 1s500ms")
        return None
    hours, minutes, seconds, millis = (int(g) if g else 0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds + millis / 1000
    if total <= 0:
        ctx.err(path, "latency must be greater than zero")
        return None
    return total


def _flag(ctx: Fields, value: Any, path: FieldPath, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        ctx.err(path, "must be true or false")
        return default
    return value


def _alerting(ctx: Fields, value: Any, path: FieldPath, fors: dict[str, int], slo_name: str) -> Alerting:
    """Pyrra's switches and severities; every alert carries Pyrra's ``slo`` label, so routes written for Pyrra
    keep matching (and SLOs sharing the alert name stay distinct rules)."""
    fields = ctx.mapping(value, path, ["disabled", "burnrates", "absent", "name", "absentName", "severities"])
    disabled = _flag(ctx, fields["disabled"], (*path, "disabled"), False)
    burnrates = _flag(ctx, fields["burnrates"], (*path, "burnrates"), True) and not disabled
    absent = _flag(ctx, fields["absent"], (*path, "absent"), True) and not disabled
    name = ctx.string(fields["name"], (*path, "name")) or DEFAULT_ALERT
    if fields["absentName"] is not None:
        ctx.warn(
            (*path, "absentName"),
            f"ignored: slogen names the no-data alert after the burn-rate alert ({name}NoData)",
        )
    sev = ctx.mapping(
        fields["severities"], (*path, "severities"), ["absent", "fastBurn", "mediumBurn", "slowBurn", "longTermBurn"]
    )
    page_sev = _severity(ctx, sev, (*path, "severities"), "fastBurn", "mediumBurn")
    ticket_sev = _severity(ctx, sev, (*path, "severities"), "slowBurn", "longTermBurn")
    absent_sev = ctx.string(sev["absent"], (*path, "severities", "absent"))

    def options(severity: str | None, quick: str) -> AlertOptions:
        for_ = fors.get(quick)
        return AlertOptions(
            disabled=not burnrates,
            labels=(("severity", severity),) if severity else (),
            for_=format_duration(for_) if for_ else None,
        )

    return Alerting(
        name=name,
        labels=((PYRRA_SLO_LABEL, slo_name),),
        page=options(page_sev, "page-quick"),
        ticket=options(ticket_sev, "ticket-quick"),
        no_data=NoDataAlert(disabled=not absent, labels=(("severity", absent_sev),) if absent_sev else ()),
    )


def _severity(ctx: Fields, sev: dict[str, Any], path: FieldPath, quick: str, slow: str) -> str | None:
    """Our page (ticket) alert covers Pyrra's fast and medium (slow and long-term) burns: one severity for both."""
    a = ctx.string(sev[quick], (*path, quick)) or None
    b = ctx.string(sev[slow], (*path, slow)) or None
    if a and b and a != b:
        ctx.err(path, f"{quick} and {slow} must be equal: slogen's alert covers both tiers with one severity")
    return a or b
