"""``--to openslo``: each SLO as one OpenSLO v1 ``SLO`` object with everything inline.

The indicator is a ``ratioMetric`` (events: ``bad``/``total``; latency: the events it compiles to, so the
rules stay equal; raw: ``raw`` with ``rawType: failure``; slice ratio: the same under ``RatioTimeslices``) or,
for the timeslice SLI, a ``thresholdMetric`` whose objective ``op``/``value`` is the *good* condition (each
evaluation an occurrence). Queries keep the ``{{.window}}`` template, which OpenSLO readers (slogen's, Sloth's)
use as written. The period is a rolling ``timeWindow``; each enabled alert tier of the window catalog is an inline
``AlertPolicy`` with one ``burnrate`` ``AlertCondition`` (OpenSLO allows one condition per policy):
``lookbackWindow`` the tier's long window, ``threshold`` its burn factor, ``alertAfter`` the alert's ``for``,
``alertWhenNoData`` the no-data alert. What OpenSLO v1 has no field for is a warning.
"""

from __future__ import annotations

import re
from typing import Any, Final, assert_never

from codegen.conventions import LABEL_SEVERITY
from codegen.durations import format_duration, parse_duration
from codegen.lowering import event_templates, ratio_template
from codegen.model import (
    SLO,
    AlertTier,
    EventsSLI,
    LatencySLI,
    NativeLatencySLI,
    NoDataAlert,
    RawSLI,
    SliceRatioSLI,
    SpecDocument,
    TimesliceSLI,
)
from codegen.openslo_v1_objects import OPENSLO_V1_API
from codegen.parse_openslo_v1_alerts import SHORT_WINDOW_DIVISOR
from codegen.parse_openslo_v1_sli import NEGATED_OP

API: Final = OPENSLO_V1_API
METRIC_SOURCE: Final = "Prometheus"
GOOD_OP: Final = {bad: good for good, bad in NEGATED_OP.items()}  # bad when `x > v` = good when `x <= v` (lte)


class ConvertError(Exception):
    """An SLO OpenSLO v1 cannot hold at all (not a loss a warning can describe)."""


def dns_label(text: str) -> str:
    """OpenSLO names are DNS labels: ``PredictionLatencyBudgetBurn`` -> ``prediction-latency-budget-burn``."""
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", text).lower()
    return re.sub(r"[^a-z0-9-]+", "-", kebab).strip("-")[:63].rstrip("-")


SHORTHAND_UNITS: Final = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60))


def shorthand(seconds: int, where: str) -> str:
    """OpenSLO's duration shorthand: one number and one unit (``1h30m`` is ``90m``); it has no seconds."""
    for unit, size in SHORTHAND_UNITS:
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise ConvertError(f"{where}: {format_duration(seconds)} is not a whole number of minutes (OpenSLO durations)")


def target(objective: float) -> float:
    """The shortest ratio whose x100 is ``objective`` again (99.9 -> 0.999, not 0.9990000000000001)."""
    for digits in range(1, 18):
        candidate = round(objective / 100, digits)
        if candidate * 100 == objective:
            return candidate
    return objective / 100


def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": METRIC_SOURCE, "spec": {"query": query}}}


def _indicator(slo: SLO, warn: list[str], where: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """``(indicator spec, budgetingMethod, objective fields besides target)``."""
    sli = slo.sli
    match sli:
        case EventsSLI() | LatencySLI():
            bad, total = event_templates(sli, slo.grouping) or ("", "")
            if isinstance(sli, LatencySLI):
                warn.append(f"{where}: sli.latency written as the bad/total events it compiles to")
            ratio = {"counter": True, "bad": _source(bad), "total": _source(total)}
            return {"ratioMetric": ratio}, "Occurrences", {}
        case RawSLI() | NativeLatencySLI():
            if isinstance(sli, NativeLatencySLI):
                warn.append(f"{where}: sli.native_latency written as the raw error ratio it compiles to")
            query = ratio_template(sli, slo.grouping) or ""
            ratio = {"counter": False, "rawType": "failure", "raw": _source(query)}
            return {"ratioMetric": ratio}, "Occurrences", {}
        case TimesliceSLI():
            op = GOOD_OP.get(sli.operator)
            if op is None:
                raise ConvertError(
                    f"{where}: sli.timeslice.bad_when {sli.operator!r}: OpenSLO ops are lt, lte, gt, gte"
                )
            if sli.missing_is_bad:
                warn.append(f"{where}: sli.timeslice.missing_is_bad/up_query have no OpenSLO field: dropped")
            return {"thresholdMetric": _source(sli.query)}, "Occurrences", {"op": op, "value": sli.threshold}
        case SliceRatioSLI():
            ratio = {"counter": False, "rawType": "failure", "raw": _source(sli.error_ratio_query)}
            return (
                {"ratioMetric": ratio},
                "RatioTimeslices",
                {"timeSliceWindow": shorthand(parse_duration(sli.slice_window), where)},
            )
        case _:
            assert_never(sli)


def _policy(
    slo: SLO, tier: AlertTier, for_: str | None, breaching: bool, warn: list[str], where: str
) -> dict[str, Any]:
    name = slo.alerting.name or slo.name
    if breaching and tier.short_window * SHORT_WINDOW_DIVISOR != tier.long_window:
        warn.append(
            f"{where}: {tier.name} short window {tier.short}: OpenSLO's burnrate has one lookbackWindow "
            f"({tier.long}); readers assume the short window is 1/{SHORT_WINDOW_DIVISOR} of it"
        )
    condition: dict[str, Any] = {
        "kind": "burnrate",
        "op": "gt",
        "threshold": tier.burn_factor,
        "lookbackWindow": shorthand(tier.long_window, where),
    }
    if for_:
        condition["alertAfter"] = shorthand(parse_duration(for_), where)
    severity = tier.severity
    label = dns_label(f"{name}-{tier.name}" if breaching else f"{name}-no-data")
    return {
        "kind": "AlertPolicy",
        "metadata": {"name": label, "displayName": name},
        "spec": {
            "description": f"{tier.name}: {tier.long} burn rate above {tier.burn_factor:g}"
            if breaching
            else "no burn-rate alerts; only the no-data alert",
            "alertWhenNoData": not slo.alerting.no_data.disabled,
            "alertWhenBreaching": breaching,
            "conditions": [
                {
                    "kind": "AlertCondition",
                    "metadata": {"name": label},
                    "spec": {"severity": severity, "condition": condition},
                }
            ],
            "notificationTargets": [
                {
                    "kind": "AlertNotificationTarget",
                    "metadata": {"name": severity},
                    "spec": {"target": severity, "description": f"routed by the alert's {LABEL_SEVERITY}={severity}"},
                }
            ],
        },
    }


def _policies(slo: SLO, warn: list[str], where: str) -> list[dict[str, Any]]:
    """One policy per enabled tier; with every tier disabled, one policy that only says whether no data alerts
    (without any policy a reader would add the default alerts)."""
    alerting = slo.alerting
    if not alerting.enabled:
        if not alerting.no_data.disabled:
            warn.append(f"{where}: the no-data alert without burn-rate alerts: written as alertWhenNoData")
        return [_policy(slo, slo.windows.page_quick, None, False, warn, where)]
    for what, pairs in (("labels", alerting.labels), ("annotations", alerting.annotations)):
        if pairs:
            warn.append(f"{where}: alerting.{what} have no OpenSLO field: dropped")
    warn.append(f"{where}: the alert name {alerting.name} has no OpenSLO field: readers name the alerts themselves")
    if not alerting.no_data.disabled and alerting.no_data != NoDataAlert():
        warn.append(f"{where}: the no-data alert's for/labels/annotations have no OpenSLO field: dropped")
    policies: list[dict[str, Any]] = []
    for severity, options in (("page", alerting.page), ("ticket", alerting.ticket)):
        if options.disabled:
            warn.append(
                f"{where}: {severity} alerts are disabled: OpenSLO keeps no windows for a tier without a policy"
            )
            continue
        if options.labels or options.annotations:
            warn.append(f"{where}: alerting.{severity}_alert labels/annotations have no OpenSLO field: dropped")
        for tier in slo.windows.tiers:
            if tier.severity == severity:
                policies.append(_policy(slo, tier, options.for_, True, warn, where))
    return policies


def object_name(slo: SLO, taken: set[str], warn: list[str]) -> str:
    """The SLO's name, unless another service's SLO of the run has it: OpenSLO names are unique per run (services
    do not scope them), so a repeat becomes ``<service>-<name>`` (and its SLO ID changes with it)."""
    name = slo.name
    if name in taken:
        name = f"{slo.service}-{slo.name}"
        warn.append(
            f"{slo.source.path}: slo {slo.id!r}: OpenSLO names are unique per run: written as {name!r} "
            f"(SLO ID {slo.service}-{name})"
        )
    taken.add(name)
    return name


def slo_object(slo: SLO, warn: list[str], taken: set[str]) -> dict[str, Any]:
    """One OpenSLO v1 ``SLO`` object; raises ``ConvertError`` for what OpenSLO cannot hold. ``taken``: the
    names written so far in the run."""
    where = f"{slo.source.path}: slo {slo.id!r}"
    if not 0 < slo.objective < 100:
        raise ConvertError(f"{where}: objective {slo.objective:g}: an OpenSLO target must be below 1 (100%)")
    if dns_label(slo.name) != slo.name:
        raise ConvertError(f"{where}: name {slo.name!r} is not a DNS label (lowercase, digits, '-')")
    indicator, method, objective = _indicator(slo, warn, where)
    if slo.grouping:
        warn.append(
            f"{where}: grouping {list(slo.grouping)}: OpenSLO has no grouped SLOs; the queries we write keep "
            f"`by ({', '.join(slo.grouping)})`, the grouping itself is dropped"
        )
    name = object_name(slo, taken, warn)
    metadata: dict[str, Any] = {"name": name}
    if slo.labels:
        metadata["labels"] = dict(slo.labels)
    spec: dict[str, Any] = {}
    if slo.description:
        spec["description"] = slo.description
    spec["service"] = slo.service
    spec["indicator"] = {"metadata": {"name": f"{name}-sli"}, "spec": indicator}
    spec["timeWindow"] = [{"duration": shorthand(slo.period, where), "isRolling": True}]
    spec["budgetingMethod"] = method
    spec["objectives"] = [{"target": target(slo.objective), **objective}]
    if policies := _policies(slo, warn, where):
        spec["alertPolicies"] = policies
    if slo.plugins.plugins or slo.spec_plugins.plugins:
        warn.append(f"{where}: SLO plugins have no OpenSLO field: dropped")
    return {"apiVersion": API, "kind": "SLO", "metadata": metadata, "spec": spec}


def document_objects(doc: SpecDocument, warn: list[str], taken: set[str]) -> list[dict[str, Any]]:
    if doc.threshold_alerts:
        names = ", ".join(a.name for a in doc.threshold_alerts)
        warn.append(f"{doc.source.path}: threshold_alerts ({names}) have no OpenSLO form: dropped")
    return [slo_object(slo, warn, taken) for slo in doc.slos]
