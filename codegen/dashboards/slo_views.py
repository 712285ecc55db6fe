"""The SLO overview and the templated SLO detail dashboard: a fixed set of panels whatever the number of SLOs.

Both read only Sloth's recording-rule names and labels, filtered by the ``$service`` / ``$slo`` variables, so
they work on rules Sloth itself generated and stay the same size at 5 or 10,000 SLOs (a per-SLO row layout grew
to 7,006 panels and 21 MB at 1,000 SLOs, more than Grafana can open). Period-specific windows are avoided: the
period SLI is derived from ``slo:period_burn_rate:ratio`` and the error budget, the current SLI from
``slo:current_burn_rate:ratio``, so SLOs with different periods and window catalogs share every panel.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.dashboard_spec import (
    DashboardSpec,
    LinkSpec,
    PanelSpec,
    QuerySpec,
    RowSpec,
    TableColumn,
    TableSpec,
    Thresholds,
    ThresholdStep,
)
from codegen.dashboards.slo import (
    ALERT_STATES,
    BUDGET_THRESHOLDS,
    BURN_UNIT,
    FILTER,
    ON_IDS,
    burn_thresholds,
)
from codegen.model import SLO, AlertTier
from codegen.rules import go_float

OVERVIEW_UID = "slo-overview"
DETAIL_UID = "slo-detail"
SLI_RULE_PREFIX = "slo:sli_error:ratio_rate"
LEGEND = "{{sloth_service}} / {{sloth_slo}}"

_SELECTED = f"{{{FILTER}}}"
PERIOD_SLI = f"1 - (slo:period_burn_rate:ratio{_SELECTED}\n* {ON_IDS} group_left\nslo:error_budget:ratio{_SELECTED})"
CURRENT_SLI = f"1 - (slo:current_burn_rate:ratio{_SELECTED}\n* {ON_IDS} group_left\nslo:error_budget:ratio{_SELECTED})"
FIRING = f'ALERTS{{alertstate="firing", sloth_id!="", {FILTER}}}'


def detail_link(title: str = "Open the SLO") -> LinkSpec:
    """The detail dashboard for the row's SLO, keeping the time range."""
    return LinkSpec(
        title,
        url=(
            f"/d/{DETAIL_UID}/{DETAIL_UID}?var-service=${{__data.fields.sloth_service}}"
            "&var-slo=${__data.fields.sloth_slo}&${__url_time_range}"
        ),
    )


def _count_stat(title: str, description: str, expr: str, alarming: bool = True) -> PanelSpec:
    """A count; red from 1 when any counted SLO is a problem."""
    return PanelSpec(
        title=title,
        description=description,
        type="stat",
        unit="none",
        width=6,
        height=5,
        queries=(QuerySpec(expr, title),),
        thresholds=Thresholds("green", (ThresholdStep(1.0, "red"),)) if alarming else None,
        color_mode="value" if alarming else "none",
    )


def overview_spec() -> DashboardSpec:
    """Every SLO as one table row, worst budget first; counts on top; each row links to the detail view."""
    table = TableSpec(
        columns=(
            TableColumn("sloth_service", "Service"),
            TableColumn("sloth_slo", "SLO", link=detail_link()),
            TableColumn("Value #A", "Objective", unit="percentunit", decimals=3),
            TableColumn("Value #B", "SLI (period)", unit="percentunit", decimals=3),
            TableColumn("Value #C", "Budget remaining", unit="percentunit", decimals=1, thresholds=BUDGET_THRESHOLDS),
            TableColumn(
                "Value #D",
                "Burn rate now",
                unit=BURN_UNIT,
                decimals=2,
                thresholds=Thresholds("green", (ThresholdStep(1.0, "yellow"), ThresholdStep(6.0, "red"))),
            ),
        ),
        sort_by="Value #C",
    )
    slos = PanelSpec(
        title="Every SLO, worst error budget first",
        description=(
            "One row per SLO: objective, SLI over the SLO's own period, share of the period's error budget left "
            "(below 0: breached) and the burn rate now (1× spends exactly the budget over the period). Sorted by "
            "budget remaining, lowest first. Click an SLO for its detail dashboard."
        ),
        type="table",
        unit="none",
        width=24,
        height=16,
        queries=(
            QuerySpec(f"slo:objective:ratio{_SELECTED}", "objective"),
            QuerySpec(PERIOD_SLI, "SLI"),
            QuerySpec(f"slo:period_error_budget_remaining:ratio{_SELECTED}", "budget"),
            QuerySpec(f"slo:current_burn_rate:ratio{_SELECTED}", "burn"),
        ),
        table=table,
    )
    counts = (
        _count_stat(
            "SLOs", "Number of SLOs selected (sloth_slo_info series).", f"count(sloth_slo_info{_SELECTED})", False
        ),
        _count_stat(
            "Budget exhausted",
            "SLOs whose error budget for their period is spent (slo:period_error_budget_remaining:ratio < 0).",
            f"count(slo:period_error_budget_remaining:ratio{_SELECTED} < 0) or vector(0)",
        ),
        _count_stat(
            "Burning faster than 1×",
            "SLOs whose current burn rate would spend the whole budget before their period ends.",
            f"count(slo:current_burn_rate:ratio{_SELECTED} > 1) or vector(0)",
        ),
        _count_stat(
            "Firing SLO alerts",
            "SLO alerts (burn-rate pages and tickets, no-data) firing now.",
            f"count({FIRING}) or vector(0)",
        ),
    )
    firing = PanelSpec(
        title="Firing SLO alerts",
        description="Every firing SLO alert with its labels (ALERTS series): SLO and severity.",
        type="table",
        unit="none",
        width=24,
        height=6,
        queries=(QuerySpec(FIRING, "", instant=True),),
    )
    return DashboardSpec(
        uid=OVERVIEW_UID,
        title="SLOs",
        tags=("slo",),
        description="Every SLO of the run in one table, worst error budget first, linking to the SLO detail view",
        rows=(RowSpec("All SLOs", (*counts, slos, firing)),),
        links=(LinkSpec("SLO detail", dashboard=DETAIL_UID), LinkSpec("Runbook", runbook="")),
    )


def _tiers_in_words(tiers: Sequence[AlertTier]) -> str:
    """Each distinct tier of the run's window catalogs, e.g. "page-quick: 1h and 5m above 14.4×"."""
    texts = dict.fromkeys(f"{t.name}: {t.long} and {t.short} above {go_float(round(t.burn_factor, 4))}×" for t in tiers)
    return "; ".join(texts)


def _window_burn_rates(tiers: Sequence[AlertTier]) -> PanelSpec:
    """Every recorded SLI window of the selected SLOs as a burn rate, in one query (the window is a label)."""
    sli_windows = f'{{__name__=~"{SLI_RULE_PREFIX}.+", {FILTER}}}'
    return PanelSpec(
        title="Burn rate per window",
        description=(
            "Error ratio ÷ error budget over each recorded window (slo:sli_error:ratio_rate<window>). A tier "
            f"fires when both its windows are above its line (dashed): {_tiers_in_words(tiers)}."
        ),
        type="timeseries",
        unit=BURN_UNIT,
        width=12,
        height=8,
        min=0.0,
        queries=(
            QuerySpec(
                f"{sli_windows}\n/ {ON_IDS} group_left\nslo:error_budget:ratio{_SELECTED}",
                "{{sloth_slo}} {{sloth_window}}",
            ),
        ),
        thresholds=burn_thresholds(tiers),
    )


def detail_spec(slos: Sequence[SLO]) -> DashboardSpec:
    """One SLO (or the selection) in depth; only the tiers' threshold lines depend on the run (its catalogs)."""
    tiers = tuple(dict.fromkeys(t for slo in slos for t in slo.windows.tiers))
    head = (
        PanelSpec(
            title="SLI over the period",
            description="Good share over the SLO's whole period: 1 − period burn rate × error budget.",
            type="stat",
            unit="percentunit",
            width=5,
            height=6,
            decimals=3,
            color_mode="none",
            queries=(QuerySpec(PERIOD_SLI, LEGEND),),
        ),
        PanelSpec(
            title="Objective",
            description="The SLO's objective (slo:objective:ratio).",
            type="stat",
            unit="percentunit",
            width=4,
            height=6,
            decimals=3,
            color_mode="none",
            queries=(QuerySpec(f"slo:objective:ratio{_SELECTED}", LEGEND),),
        ),
        PanelSpec(
            title="Error budget remaining",
            description="Share of the period's error budget not yet spent; below 0 the SLO is breached.",
            type="gauge",
            unit="percentunit",
            width=5,
            height=6,
            min=0.0,
            max=1.0,
            decimals=1,
            queries=(QuerySpec(f"slo:period_error_budget_remaining:ratio{_SELECTED}", LEGEND),),
            thresholds=BUDGET_THRESHOLDS,
        ),
        PanelSpec(
            title="Burn rate now",
            description="slo:current_burn_rate:ratio: 1× spends exactly the budget over the period.",
            type="stat",
            unit=BURN_UNIT,
            width=5,
            height=6,
            decimals=2,
            queries=(QuerySpec(f"slo:current_burn_rate:ratio{_SELECTED}", LEGEND),),
            thresholds=burn_thresholds(tiers),
        ),
        PanelSpec(
            title="Period",
            description="Length of the SLO's period (slo:time_period:days).",
            type="stat",
            unit="d",
            width=5,
            height=6,
            color_mode="none",
            queries=(QuerySpec(f"slo:time_period:days{_SELECTED}", LEGEND),),
        ),
    )
    trends = (
        _window_burn_rates(tiers),
        PanelSpec(
            title="SLI vs objective",
            description=(
                "SLI over the current-burn window (the page-quick short window, 5m by default) against the "
                "objective (slo:objective:ratio)."
            ),
            type="timeseries",
            unit="percentunit",
            width=12,
            height=8,
            max=1.0,
            decimals=3,
            queries=(
                QuerySpec(CURRENT_SLI, "SLI {{sloth_slo}}"),
                QuerySpec(f"slo:objective:ratio{_SELECTED}", "objective {{sloth_slo}}"),
            ),
        ),
        PanelSpec(
            title="Error budget remaining over time",
            description="How the period's error budget was spent (slo:period_error_budget_remaining:ratio).",
            type="timeseries",
            unit="percentunit",
            width=12,
            height=8,
            queries=(QuerySpec(f"slo:period_error_budget_remaining:ratio{_SELECTED}", LEGEND),),
            thresholds=Thresholds("red", (ThresholdStep(0.0, "green"),), "dashed"),
        ),
        PanelSpec(
            title="Alert state",
            description=(
                "The selected SLOs' alerts from Prometheus' ALERTS series: OK, pending (condition holds, `for` "
                "not yet elapsed) or firing; the runbook explains each alert."
            ),
            type="state-timeline",
            unit="none",
            width=12,
            height=8,
            queries=(
                QuerySpec(
                    f'max by (alertname, sloth_severity) (ALERTS{{alertstate="firing", {FILTER}}}) * 2\n'
                    f'or max by (alertname, sloth_severity) (ALERTS{{alertstate="pending", {FILTER}}})\n'
                    'or on() label_replace(vector(0), "alertname", "no SLO alert", "", "")',
                    "{{alertname}} {{sloth_severity}}",
                ),
            ),
            mappings=ALERT_STATES,
            links=(LinkSpec("Runbook", runbook=""),),
            thresholds=Thresholds("green", (ThresholdStep(1.0, "orange"), ThresholdStep(2.0, "red")), "off"),
        ),
    )
    return DashboardSpec(
        uid=DETAIL_UID,
        title="SLO detail",
        tags=("slo",),
        description="One SLO (choose $service and $slo): SLI, error budget, burn rate per window and alert state",
        rows=(RowSpec("SLO", head), RowSpec("Burn and budget", trends)),
        links=(LinkSpec("All SLOs", dashboard=OVERVIEW_UID), LinkSpec("Runbook", runbook="")),
    )
