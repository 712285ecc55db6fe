"""Rules renderer: the SLO model to Prometheus recording and multi-window multi-burn-rate alert rules.

Names, labels and expressions follow Sloth v0.16 so existing Sloth dashboards and routing keep working. Unless
``sloth_compat`` is set we add, never contradict: NaN-free ratios when there is no traffic, ``severity`` beside
``sloth_severity``, ``description`` and ``runbook_url`` annotations, optional ``for`` and a no-data alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen import GENERATOR
from codegen.durations import format_duration
from codegen.gotemplate import literal as template_literal
from codegen.model import (
    SLO,
    AlertOptions,
    AlertTier,
    CompileOptions,
    EventsSLI,
    LatencySLI,
    RawSLI,
    Severity,
    SpecDocument,
    ThresholdAlert,
    TimesliceSLI,
    render_window,
)

Labels = tuple[tuple[str, str], ...]
SEVERITY_FOR = {"page": "critical", "ticket": "warning"}
INSTANT_RECORD = "slo:sli_error:ratio_instant"


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Labels


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    expr: str
    labels: Labels
    annotations: Labels
    for_: str | None = None


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]


def go_float(value: float) -> str:
    """Shortest round-trip float text as Go's ``%g`` prints it (``30``, ``0.95``, ``0.0009999999999999432``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def id_selector(slo: SLO) -> str:
    """Prometheus ``LabelSet.String()`` of the three ID labels, the way Sloth writes them."""
    return f'{{sloth_id="{slo.id}", sloth_service="{slo.service}", sloth_slo="{slo.name}"}}'


def id_labels(slo: SLO) -> Labels:
    return (("sloth_id", slo.id), ("sloth_service", slo.service), ("sloth_slo", slo.name))


def merge(*sets: Labels) -> Labels:
    merged: dict[str, str] = {}
    for labels in sets:
        merged.update(labels)
    return tuple(sorted(merged.items()))


def slo_labels(slo: SLO, options: CompileOptions) -> Labels:
    """Spec and SLO labels, overridden by ``--extra-labels`` (which only reach recording rules, as in Sloth)."""
    return merge(slo.labels, options.extra_labels)


def runbook_url(options: CompileOptions, alert_name: str) -> str:
    return f"{options.runbook_base_url}#{alert_name.lower()}"


def runbook_annotation(options: CompileOptions, alert_name: str) -> str:
    """Annotations are Go templates: the URL is printed literally whatever braces it holds."""
    return template_literal(runbook_url(options, alert_name))


# ---------------------------------------------------------------------------------------------------------------
# SLI expressions


def sli_ratio_expr(slo: SLO, window: str, compat: bool) -> str:
    """The error ratio over ``window`` for any SLI type."""
    sli = slo.sli
    if isinstance(sli, EventsSLI | LatencySLI):
        error = render_window(sli.error_query, window)
        total = render_window(sli.total_query, window)
        if compat:
            return f"({error})\n/\n({total})\n"
        # No traffic: Sloth divides 0/0 into NaN, which then poisons the period average for a whole period.
        # Here an idle window has no sample, and "no error series yet" counts as zero errors.
        return f"(\n  ({error})\n  or\n  (0 * ({total}))\n)\n/\n(({total}) > 0)\n"
    if isinstance(sli, RawSLI):
        raw = render_window(sli.error_ratio_query, window)
        if compat:
            return f"({raw})"
        return f"(\n({raw})\n) >= 0\n"  # drops NaN (a comparison with NaN is false)
    assert isinstance(sli, TimesliceSLI)
    return sli.ratio_query(f"{INSTANT_RECORD}{id_selector(slo)}", window)


def presence_expr(slo: SLO) -> str:
    """What must exist for the SLI to be measurable; ``absent()`` of it drives the no-data alert."""
    sli = slo.sli
    if isinstance(sli, LatencySLI):
        return sli.presence_query
    if isinstance(sli, EventsSLI):
        return render_window(sli.total_query, "5m").strip()
    if isinstance(sli, RawSLI):
        return render_window(sli.error_ratio_query, "5m").strip()
    return sli.query.strip()


# ---------------------------------------------------------------------------------------------------------------
# Groups


def sli_recordings(slo: SLO, options: CompileOptions) -> RuleGroup:
    labels = slo_labels(slo, options)
    rules: list[Rule] = []
    if isinstance(slo.sli, TimesliceSLI):
        rules.append(RecordingRule(INSTANT_RECORD, slo.sli.bad_indicator(), merge(labels, id_labels(slo))))
    windows = slo.windows.windows()
    for seconds in windows:
        window = format_duration(seconds)
        rules.append(
            RecordingRule(
                f"slo:sli_error:ratio_rate{window}",
                sli_ratio_expr(slo, window, options.sloth_compat),
                merge(labels, id_labels(slo), (("sloth_window", window),)),
            )
        )
    base = format_duration(slo.windows.base_window)
    period = format_duration(slo.period)
    selector = f"slo:sli_error:ratio_rate{base}{id_selector(slo)}"
    rules.append(
        RecordingRule(
            f"slo:sli_error:ratio_rate{period}",
            f"sum_over_time({selector}[{period}])\n/ ignoring (sloth_window)\ncount_over_time({selector}[{period}])\n",
            merge(labels, id_labels(slo), (("sloth_window", period),)),
        )
    )
    return RuleGroup(f"sloth-slo-sli-recordings-{slo.id}", tuple(rules))


def meta_recordings(slo: SLO, options: CompileOptions, mode: str) -> RuleGroup:
    labels = merge(slo_labels(slo, options), id_labels(slo))
    ids = id_selector(slo)
    objective = go_float(slo.objective_ratio)
    period = format_duration(slo.period)
    base = format_duration(slo.windows.base_window)
    burn = "{rate}{ids}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{ids}\n"
    info = merge(
        labels,
        (
            ("sloth_mode", mode),
            ("sloth_objective", go_float(slo.objective)),
            ("sloth_spec", slo.spec_kind),
            ("sloth_version", GENERATOR.replace(" ", "-")),
        ),
    )
    rules: tuple[Rule, ...] = (
        RecordingRule("slo:objective:ratio", f"vector({objective})", labels),
        RecordingRule("slo:error_budget:ratio", f"vector(1-{objective})", labels),
        RecordingRule("slo:time_period:days", f"vector({go_float(slo.period / 86400)})", labels),
        RecordingRule(
            "slo:current_burn_rate:ratio", burn.format(rate=f"slo:sli_error:ratio_rate{base}", ids=ids), labels
        ),
        RecordingRule(
            "slo:period_burn_rate:ratio", burn.format(rate=f"slo:sli_error:ratio_rate{period}", ids=ids), labels
        ),
        RecordingRule("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{ids}", labels),
        RecordingRule("sloth_slo_info", "vector(1)", info),
    )
    return RuleGroup(f"sloth-slo-meta-recordings-{slo.id}", rules)


def mwmb_expr(slo: SLO, quick: AlertTier, slow: AlertTier) -> str:
    """Sloth's multi-window multi-burn-rate condition: (quick short AND long) OR (slow short AND long)."""
    budget = go_float(slo.error_budget_ratio)
    ids = id_selector(slo)

    def window_check(window: str, tier: AlertTier) -> str:
        return (
            f"max(slo:sli_error:ratio_rate{window}{ids} > ({go_float(tier.burn_factor)} * {budget})) "
            "without (sloth_window)"
        )

    def pair(tier: AlertTier) -> str:
        return f"(\n    {window_check(tier.short, tier)}\n    and\n    {window_check(tier.long, tier)}\n)"

    return f"{pair(quick)}\nor\n{pair(slow)}\n"


def tier_description(slo: SLO, quick: AlertTier, slow: AlertTier) -> str:
    what = slo.description.rstrip(".") + ". " if slo.description else ""
    return template_literal(
        f"{what}{slo.service}/{slo.name} ({go_float(slo.objective)}% over {format_duration(slo.period)}) "
        f"is burning its error budget faster than {go_float(round(quick.burn_factor, 2))}x over {quick.long} "
        f"and {quick.short}, or {go_float(round(slow.burn_factor, 2))}x over {slow.long} and {slow.short}."
    )


def burn_alerts(slo: SLO, options: CompileOptions) -> dict[Severity, AlertingRule]:
    """The SLO's enabled multi-burn-rate alerts, by tier severity (their `sloth_severity` label may be overridden)."""
    alerting = slo.alerting
    if not alerting.name:
        return {}
    alerts: dict[Severity, AlertingRule] = {}
    catalog = slo.windows
    tiers: tuple[tuple[Severity, AlertOptions, AlertTier, AlertTier], ...] = (
        ("page", alerting.page, catalog.page_quick, catalog.page_slow),
        ("ticket", alerting.ticket, catalog.ticket_quick, catalog.ticket_slow),
    )
    for severity, opts, quick, slow in tiers:
        if opts.disabled:
            continue
        labels = merge((("sloth_severity", severity),), alerting.labels, opts.labels)  # the spec wins, as in Sloth
        defaults: Labels = (
            ("summary", "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected."),
            (
                "title",
                f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn "
                "rate is too fast.",
            ),
        )
        if not options.sloth_compat:
            if "severity" not in dict(labels):
                labels = merge(labels, (("severity", SEVERITY_FOR[severity]),))
            defaults = merge(
                defaults,
                (
                    ("description", tier_description(slo, quick, slow)),
                    ("runbook_url", runbook_annotation(options, alerting.name)),
                ),
            )
        annotations = merge(defaults, alerting.annotations, opts.annotations)
        alerts[severity] = AlertingRule(alerting.name, mwmb_expr(slo, quick, slow), labels, annotations, opts.for_)
    return alerts


def slo_alerts(slo: SLO, options: CompileOptions) -> RuleGroup | None:
    alerting = slo.alerting
    rules: list[Rule] = list(burn_alerts(slo, options).values())
    no_data = alerting.no_data
    if not options.sloth_compat and not no_data.disabled and rules:
        name = f"{alerting.name}NoData"
        labels = merge(
            alerting.labels, id_labels(slo), (("severity", "warning"), ("sloth_severity", "nodata")), no_data.labels
        )
        annotations = merge(
            (
                ("summary", f"{slo.service} {slo.name} SLO has no data: its SLI metrics are absent."),
                (
                    "description",
                    template_literal(
                        f"absent({presence_expr(slo)}) for {no_data.for_}: the exporter is down, not "
                        "scraped, or the metric was renamed. The SLO and its burn-rate alerts are blind."
                    ),
                ),
                ("runbook_url", runbook_annotation(options, name)),
                ("title", f"(nodata) {slo.service} {slo.name} SLO has no data"),
            ),
            no_data.annotations,
        )
        rules.append(AlertingRule(name, f"absent({presence_expr(slo)})", labels, annotations, no_data.for_))
    return RuleGroup(f"sloth-slo-alerts-{slo.id}", tuple(rules)) if rules else None


def threshold_alert_group(doc: SpecDocument, options: CompileOptions) -> RuleGroup | None:
    if not doc.threshold_alerts or options.disable_alerts:
        return None
    rules = tuple(threshold_rule(alert, options) for alert in doc.threshold_alerts)
    return RuleGroup(f"{doc.service}-threshold-alerts", rules)


def threshold_rule(alert: ThresholdAlert, options: CompileOptions) -> AlertingRule:
    annotations = dict(alert.annotations)
    annotations.setdefault("description", annotations["summary"])
    annotations.setdefault("runbook_url", runbook_annotation(options, alert.name))
    labels = merge(alert.labels, (("severity", alert.severity),))
    return AlertingRule(alert.name, alert.expr, labels, tuple(sorted(annotations.items())), alert.for_)


def slo_groups(slo: SLO, options: CompileOptions, mode: str) -> list[RuleGroup]:
    """Sloth's three groups per SLO, in Sloth's order, leaving out empty ones."""
    groups: list[RuleGroup] = []
    if not options.disable_recordings:
        groups += [sli_recordings(slo, options), meta_recordings(slo, options, mode)]
    if not options.disable_alerts:
        alerts = slo_alerts(slo, options)
        if alerts is not None:
            groups.append(alerts)
    return groups


def document_groups(doc: SpecDocument, options: CompileOptions) -> list[RuleGroup]:
    mode = "cli-gen-k8s" if doc.kind == "sloth.slok.dev/v1" else "cli-gen-prom"
    groups = [g for slo in doc.slos for g in slo_groups(slo, options, mode)]
    threshold = threshold_alert_group(doc, options)
    return groups + ([threshold] if threshold else [])
