"""The SLO dashboard, generated from every SLO of the run (any spec, not only ours).

It reads only Sloth's recording-rule names and labels (``slo:sli_error:ratio_rate<W>``,
``slo:objective:ratio``, ``slo:period_error_budget_remaining:ratio``, ``slo:current_burn_rate:ratio``,
``sloth_slo_info``, ``sloth_id`` ...) and the ``ALERTS`` series of the SLO's alerts, so it also works on rules
that Sloth itself generated.

Layout: a summary row over all SLOs (filtered by the ``$service`` / ``$slo`` variables), then one row per SLO
with SLI against the objective, error budget remaining, current burn rate, burn rate per alert window with
each tier's threshold drawn, and the state of the SLO's alerts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import assert_never

from codegen import conventions as c
from codegen.compiler import CompiledSpecs
from codegen.dashboard_model import (
    DashboardSpec,
    LinkSpec,
    PanelSpec,
    QuerySpec,
    RowSpec,
    Thresholds,
    ThresholdStep,
    ValueMapping,
)
from codegen.dashboards.grafana import Variable
from codegen.durations import format_duration
from codegen.lowering import condition
from codegen.model import (
    SLO,
    AlertTier,
    CompileOptions,
    EventsSLI,
    LatencySLI,
    NativeLatencySLI,
    RawSLI,
    SliceRatioSLI,
    TimesliceSLI,
)
from codegen.numbers import go_float
from codegen.plan import AlertingRule, SLOPlan

BURN_UNIT = "suffix:×"
FILTER = f'{c.LABEL_SERVICE}=~"$service", {c.LABEL_SLO}=~"$slo"'
ON_IDS = f"on({c.LABEL_ID}, {c.LABEL_SERVICE}, {c.LABEL_SLO})"
TIER_COLORS = {
    "ticket-slow": "yellow",
    "ticket-quick": "orange",
    "page-slow": "red",
    "page-quick": "dark-red",
}
VARIABLES = (
    Variable("service", "Service", f"label_values({c.SLO_INFO}, {c.LABEL_SERVICE})"),
    Variable("slo", "SLO", f'label_values({c.SLO_INFO}{{{c.LABEL_SERVICE}=~"$service"}}, {c.LABEL_SLO})'),
)
BUDGET_THRESHOLDS = Thresholds(
    "red", (ThresholdStep(0.0, "orange"), ThresholdStep(0.25, "yellow"), ThresholdStep(0.5, "green"))
)
ALERT_STATES = (
    ValueMapping("0", "OK", "green"),
    ValueMapping("1", "pending", "orange"),
    ValueMapping("2", "firing", "red"),
)


def group_labels(slos: Sequence[SLO]) -> tuple[str, ...]:
    """The group labels of the run's grouped SLOs, sorted: a handful whatever the number of SLOs."""
    return tuple(sorted({label for slo in slos for label in slo.grouping}))


def group_variables(slos: Sequence[SLO]) -> tuple[Variable, ...]:
    """A variable per group label of the run's grouped SLOs (``$endpoint``), its values read off the recorded
    burn rate (the metadata series carry no group labels). "All" is ``.*``, which also matches ungrouped SLOs."""
    return tuple(
        Variable(label, label, f"label_values({c.CURRENT_BURN_RATE}{{{FILTER}}}, {label})")
        for label in group_labels(slos)
    )


def variables_for(slos: Sequence[SLO]) -> tuple[Variable, ...]:
    return (*VARIABLES, *group_variables(slos))


def group_filter(slo: SLO) -> str:
    """``, endpoint=~"$endpoint"`` for each group label of a grouped SLO; empty otherwise."""
    return "".join(f', {label}=~"${label}"' for label in slo.grouping)


def group_legend(slo: SLO) -> str:
    return " ".join("{{" + label + "}}" for label in slo.grouping)


def selector(slo: SLO) -> str:
    """The SLO's series, also hidden when the dashboard's variables filter its service, SLO or group out."""
    return f'{{{c.LABEL_ID}="{slo.id}", {FILTER}{group_filter(slo)}}}'


def burn_thresholds(tiers: Sequence[AlertTier], style: str = "dashed") -> Thresholds:
    """One step per distinct burn factor, coloured by the most severe tier using it."""
    by_value: dict[float, str] = {}
    for tier in sorted(tiers, key=lambda t: list(TIER_COLORS).index(t.name)):
        by_value[round(tier.burn_factor, 4)] = TIER_COLORS[tier.name]
    steps = tuple(ThresholdStep(value, color) for value, color in sorted(by_value.items()))
    return Thresholds("green", steps, style)


def decimals_for(objective: float) -> int:
    """Enough decimals to tell 99.9% from 99.95% (as a percentage of a 0..1 ratio)."""
    text = go_float(objective)
    return max(1, len(text.partition(".")[2]) + 1)


def sli_in_words(slo: SLO) -> str:
    sli = slo.sli
    match sli:
        case LatencySLI():
            return f"requests slower than {go_float(sli.threshold)} s ({sli.histogram}) over all requests"
        case NativeLatencySLI():
            return f"requests slower than {go_float(sli.threshold)} s ({sli.histogram}, native histogram)"
        case EventsSLI():
            return "error events over total events"
        case RawSLI():
            return "the spec's raw error-ratio query"
        case TimesliceSLI():
            missing = " or is not scraped" if sli.missing_is_bad else ""
            return f"share of time when {sli.query} {condition(sli)}{missing}"
        case SliceRatioSLI():
            return f"mean error ratio of {sli.slice_window} slices"
        case _:
            assert_never(sli)


def _alert_query(rule: AlertingRule, slo: SLO) -> QuerySpec:
    labels = dict(rule.labels)
    severity = labels.get(c.LABEL_SEVERITY, "")
    match = f'alertname="{rule.alert}", {c.LABEL_ID}="{slo.id}", {c.LABEL_SEVERITY}="{severity}"'
    expr = (
        f'max(ALERTS{{{match}, alertstate="firing"}}) * 2 or max(ALERTS{{{match}, alertstate="pending"}}) or vector(0)'
    )
    return QuerySpec(expr, f"{rule.alert} ({severity})")


def slo_row(plan: SLOPlan, options: CompileOptions) -> RowSpec:
    """One SLO's panels; which windows and alerts it shows is read off the compiled plan."""
    slo = plan.slo
    sel = selector(slo)
    period = format_duration(slo.period)
    base = format_duration(slo.windows.base_window)
    objective = go_float(slo.objective)
    budget_percent = go_float(round(100 - slo.objective, 6))
    about = f"{slo.service}/{slo.name}: {slo.description.rstrip('.') or 'no description'}."
    tiers = slo.windows.tiers
    tier_text = "; ".join(f"{t.name}: {t.long} and {t.short} above {go_float(round(t.burn_factor, 4))}×" for t in tiers)
    rules = plan.alert_rules()
    runbook = (LinkSpec("Runbook", runbook=slo.alerting.name.lower()),) if slo.alerting.name else ()
    objective_line = Thresholds("red", (ThresholdStep(slo.objective_ratio, "green"),), "dashed")
    panels = [
        PanelSpec(
            title=f"SLI over {period}",
            description=(
                f"{about} Good share over the whole {period} SLO period "
                f"(1 − {c.sli_error_record(period)}); the SLI is {sli_in_words(slo)}. Green at or "
                f"above the {objective}% objective."
            ),
            type="stat",
            unit="percentunit",
            width=4,
            height=7,
            queries=(QuerySpec(f"1 - {c.sli_error_record(period)}{sel}", "SLI"),),
            thresholds=objective_line,
            decimals=decimals_for(slo.objective),
            links=runbook,
        ),
        PanelSpec(
            title=f"Error budget remaining ({period})",
            description=(
                f"{about} Share of the {period} error budget ({budget_percent}% of events or time) not yet "
                f"spent ({c.PERIOD_BUDGET_REMAINING}). Below 0 the SLO is breached for the period."
            ),
            type="gauge",
            unit="percentunit",
            width=4,
            height=7,
            min=0.0,
            max=1.0,
            queries=(QuerySpec(f"{c.PERIOD_BUDGET_REMAINING}{sel}", "remaining"),),
            thresholds=BUDGET_THRESHOLDS,
            decimals=1,
        ),
        PanelSpec(
            title=f"Current burn rate ({base})",
            description=(
                f"{about} How fast the error budget burns now ({c.CURRENT_BURN_RATE}, {base} window): "
                f"1× spends exactly the budget over the period. Colours mark the alert tiers: {tier_text}."
            ),
            type="stat",
            unit=BURN_UNIT,
            width=4,
            height=7,
            decimals=2,
            queries=(QuerySpec(f"{c.CURRENT_BURN_RATE}{sel}", "burn rate"),),
            thresholds=burn_thresholds(tiers),
        ),
        PanelSpec(
            title="Burn rate per alert window",
            description=(
                f"{about} Burn rate (error ratio ÷ error budget) over each alert window; the dashed "
                "lines are the tiers' thresholds. A tier fires when both its windows are above its line: "
                f"{tier_text}."
            ),
            type="timeseries",
            unit=BURN_UNIT,
            width=12,
            height=7,
            min=0.0,
            queries=tuple(
                QuerySpec(
                    f"{c.sli_error_record(w)}{sel}\n/ {ON_IDS} group_left\n{c.ERROR_BUDGET}{sel}",
                    f"{w} window",
                )
                for w in plan.alert_windows()
            ),
            thresholds=burn_thresholds(tiers),
        ),
        PanelSpec(
            title="SLI vs objective",
            description=(
                f"{about} SLI over the {base} and {slo.windows.page_quick.long} windows against the "
                f"{objective}% objective (dashed line, {c.OBJECTIVE})."
            ),
            type="timeseries",
            unit="percentunit",
            width=12 if rules else 24,
            height=7,
            max=1.0,
            decimals=decimals_for(slo.objective),
            queries=(
                QuerySpec(f"1 - {c.sli_error_record(base)}{sel}", f"SLI ({base})"),
                QuerySpec(
                    f"1 - {c.sli_error_record(slo.windows.page_quick.long)}{sel}",
                    f"SLI ({slo.windows.page_quick.long})",
                ),
                QuerySpec(f"{c.OBJECTIVE}{sel}", "objective"),
            ),
            thresholds=objective_line,
        ),
    ]
    if rules:
        panels.append(
            PanelSpec(
                title="Alert state",
                description=(
                    f"{about} State of this SLO's alerts from Prometheus' ALERTS series: OK, pending (the "
                    "condition holds, `for` not yet elapsed) or firing. The runbook link explains each."
                ),
                type="state-timeline",
                unit="none",
                width=12,
                height=7,
                queries=tuple(_alert_query(r, slo) for r in rules),
                mappings=ALERT_STATES,
                links=runbook,
                thresholds=Thresholds("green", (ThresholdStep(1.0, "orange"), ThresholdStep(2.0, "red")), "off"),
            )
        )
    title = f"{slo.service} / {slo.name} — {objective}% over {period}"
    if slo.grouping:  # one series per group: the legend names the group
        legend = group_legend(slo)
        panels = [
            dataclasses.replace(
                p, queries=tuple(dataclasses.replace(q, legend=f"{q.legend} {legend}".strip()) for q in p.queries)
            )
            for p in panels
        ]
        title += f" (per {', '.join(slo.grouping)})"
    return RowSpec(title, tuple(panels))


def summary_row(slos: Sequence[SLO]) -> RowSpec:
    page_factor = min((t.burn_factor for s in slos for t in s.windows.tiers if t.severity == "page"), default=14.4)
    burn = Thresholds("green", (ThresholdStep(1.0, "yellow"), ThresholdStep(round(page_factor, 4), "red")))
    legend = f"{{{{{c.LABEL_SERVICE}}}}} {{{{{c.LABEL_SLO}}}}}"
    firing = f'ALERTS{{alertstate="firing", {c.LABEL_ID}!="", {FILTER}}}'
    return RowSpec(
        "All SLOs",
        (
            PanelSpec(
                title="SLI over each SLO's period",
                description=(
                    "Good share of every selected SLO over its own period (1 − period burn rate × error "
                    "budget). Compare with each SLO's objective in its row below."
                ),
                type="stat",
                unit="percentunit",
                width=6,
                height=6,
                decimals=3,
                color_mode="none",
                queries=(
                    QuerySpec(
                        f"1 - ({c.PERIOD_BURN_RATE}{{{FILTER}}}\n* {ON_IDS} group_left\n{c.ERROR_BUDGET}{{{FILTER}}})",
                        legend,
                    ),
                ),
            ),
            PanelSpec(
                title="Error budget remaining",
                description="Share of each SLO's error budget left for its period; red below 0 (breached).",
                type="stat",
                unit="percentunit",
                width=6,
                height=6,
                decimals=1,
                queries=(QuerySpec(f"{c.PERIOD_BUDGET_REMAINING}{{{FILTER}}}", legend),),
                thresholds=BUDGET_THRESHOLDS,
            ),
            PanelSpec(
                title="Current burn rate",
                description=(
                    "Budget burn rate of each SLO over its page-quick short window (5m by default): yellow "
                    "above 1× (the budget would run out before the period ends), red at the lowest paging threshold."
                ),
                type="stat",
                unit=BURN_UNIT,
                width=6,
                height=6,
                decimals=2,
                queries=(QuerySpec(f"{c.CURRENT_BURN_RATE}{{{FILTER}}}", legend),),
                thresholds=burn,
            ),
            PanelSpec(
                title="Firing SLO alerts",
                description="Number of SLO alerts (burn-rate pages and tickets, no-data) firing now.",
                type="stat",
                unit="none",
                width=6,
                height=6,
                queries=(QuerySpec(f"count({firing}) or vector(0)", "firing"),),
                thresholds=Thresholds("green", (ThresholdStep(1.0, "red"),)),
            ),
            PanelSpec(
                title="Firing SLO alerts by SLO",
                description="Every firing SLO alert with its labels (ALERTS series): SLO and severity.",
                type="table",
                unit="none",
                width=24,
                height=6,
                queries=(QuerySpec(firing, "", instant=True),),
            ),
        ),
    )


def slo_dashboard_spec(specs: CompiledSpecs, declared: DashboardSpec) -> DashboardSpec | None:
    """A declared ``generate: slos`` board: a summary row, then one row per SLO of the run; None without SLOs."""
    plans = specs.plans
    if not plans:
        return None
    rows = (summary_row([p.slo for p in plans]), *(slo_row(plan, specs.options) for plan in plans))
    return DashboardSpec(
        uid=declared.uid,
        title=declared.title,
        source=declared.source,
        line=declared.line,
        description=declared.description,
        tags=declared.tags,
        generate="slos",
        rows=rows,
        links=declared.links or (LinkSpec("Runbook", runbook=""),),
        time_from=declared.time_from,
        refresh=declared.refresh,
    )
