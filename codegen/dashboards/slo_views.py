"""The SLO overview and the templated SLO detail dashboard: a fixed set of panels whatever the number of SLOs.

Both read only Sloth's recording-rule names and labels, filtered by the ``$service`` / ``$slo`` variables (and, in
the detail view, one variable per group label of the run's grouped SLOs), so they work on rules Sloth itself
generated and stay the same size at 5 or 10,000 SLOs (a per-SLO row layout grew
to 7,006 panels and 21 MB at 1,000 SLOs, more than Grafana can open). Period-specific windows are avoided: the
period SLI is derived from ``slo:period_burn_rate:ratio`` and the error budget, the current SLI from
``slo:current_burn_rate:ratio``, so SLOs with different periods and window catalogs share every panel.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen import conventions as c
from codegen.dashboard_model import (
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
    group_labels,
)
from codegen.model import SLO, AlertTier
from codegen.numbers import go_float

OVERVIEW_UID = "slo-overview"
DETAIL_UID = "slo-detail"


def _legend(*labels: str) -> str:
    """Grafana's legend template showing ``labels``."""
    return " ".join("{{" + label + "}}" for label in labels)


LEGEND = f"{_legend(c.LABEL_SERVICE)} / {_legend(c.LABEL_SLO)}"
_SELECTED = f"{{{FILTER}}}"
_BUDGET = f"{c.ERROR_BUDGET}{_SELECTED}"


def _sli_from_burn(burn_rate: str, selected: str = _SELECTED) -> str:
    """Good share from a recorded burn rate and the (ungrouped) error budget: 1 - burn rate x budget."""
    return f"1 - ({burn_rate}{selected}\n* {ON_IDS} group_left\n{_BUDGET})"


PERIOD_SLI = _sli_from_burn(c.PERIOD_BURN_RATE)
FIRING = f'ALERTS{{alertstate="firing", {c.LABEL_ID}!="", {FILTER}}}'


def detail_link(title: str = "Open the SLO") -> LinkSpec:
    """The detail dashboard for the row's SLO, keeping the time range."""
    return LinkSpec(
        title,
        url=(
            f"/d/{DETAIL_UID}/{DETAIL_UID}?var-service=${{__data.fields.{c.LABEL_SERVICE}}}"
            f"&var-slo=${{__data.fields.{c.LABEL_SLO}}}&${{__url_time_range}}"
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
            TableColumn(c.LABEL_SERVICE, "Service"),
            TableColumn(c.LABEL_SLO, "SLO", link=detail_link()),
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
            QuerySpec(f"{c.OBJECTIVE}{_SELECTED}", "objective"),
            QuerySpec(PERIOD_SLI, "SLI"),
            QuerySpec(f"{c.PERIOD_BUDGET_REMAINING}{_SELECTED}", "budget"),
            QuerySpec(f"{c.CURRENT_BURN_RATE}{_SELECTED}", "burn"),
        ),
        table=table,
    )
    counts = (
        _count_stat(
            "SLOs", f"Number of SLOs selected ({c.SLO_INFO} series).", f"count({c.SLO_INFO}{_SELECTED})", False
        ),
        _count_stat(
            "Budget exhausted",
            f"SLOs whose error budget for their period is spent ({c.PERIOD_BUDGET_REMAINING} < 0).",
            f"count({c.PERIOD_BUDGET_REMAINING}{_SELECTED} < 0) or vector(0)",
        ),
        _count_stat(
            "Burning faster than 1×",
            "SLOs whose current burn rate would spend the whole budget before their period ends.",
            f"count({c.CURRENT_BURN_RATE}{_SELECTED} > 1) or vector(0)",
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


def _window_burn_rates(tiers: Sequence[AlertTier], group_filter: str) -> PanelSpec:
    """Every recorded SLI window of the selected SLOs as a burn rate, in one query (the window is a label)."""
    sli_windows = f'{{__name__=~"{c.SLI_ERROR_PREFIX}.+", {FILTER}{group_filter}}}'
    return PanelSpec(
        title="Burn rate per window",
        description=(
            f"Error ratio ÷ error budget over each recorded window ({c.SLI_ERROR_PREFIX}<window>). A tier "
            f"fires when both its windows are above its line (dashed): {_tiers_in_words(tiers)}."
        ),
        type="timeseries",
        unit=BURN_UNIT,
        width=12,
        height=8,
        min=0.0,
        queries=(
            QuerySpec(
                f"{sli_windows}\n/ {ON_IDS} group_left\n{_BUDGET}",
                _legend(c.LABEL_SLO, c.LABEL_WINDOW),
            ),
        ),
        thresholds=burn_thresholds(tiers),
    )


def detail_spec(slos: Sequence[SLO]) -> DashboardSpec:
    """One SLO (or the selection) in depth; only the tiers' threshold lines and the group variables depend on the
    run (its catalogs and group labels). Group filters go on the series that carry the group labels (SLI windows,
    burn rates, budget remaining, alerts), not on the per-SLO metadata (objective, budget, period)."""
    tiers = tuple(dict.fromkeys(t for slo in slos for t in slo.windows.tiers))
    labels = group_labels(slos)
    in_group = "".join(f', {label}=~"${label}"' for label in labels)
    grouped = f"{{{FILTER}{in_group}}}"
    legend = " ".join((LEGEND, *(_legend(label) for label in labels)))
    firing = f'ALERTS{{alertstate="firing", {FILTER}{in_group}}}'
    pending = f'ALERTS{{alertstate="pending", {FILTER}{in_group}}}'
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
            queries=(QuerySpec(_sli_from_burn(c.PERIOD_BURN_RATE, grouped), legend),),
        ),
        PanelSpec(
            title="Objective",
            description=f"The SLO's objective ({c.OBJECTIVE}).",
            type="stat",
            unit="percentunit",
            width=4,
            height=6,
            decimals=3,
            color_mode="none",
            queries=(QuerySpec(f"{c.OBJECTIVE}{_SELECTED}", LEGEND),),
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
            queries=(QuerySpec(f"{c.PERIOD_BUDGET_REMAINING}{grouped}", legend),),
            thresholds=BUDGET_THRESHOLDS,
        ),
        PanelSpec(
            title="Burn rate now",
            description=f"{c.CURRENT_BURN_RATE}: 1× spends exactly the budget over the period.",
            type="stat",
            unit=BURN_UNIT,
            width=5,
            height=6,
            decimals=2,
            queries=(QuerySpec(f"{c.CURRENT_BURN_RATE}{grouped}", legend),),
            thresholds=burn_thresholds(tiers),
        ),
        PanelSpec(
            title="Period",
            description=f"Length of the SLO's period ({c.TIME_PERIOD_DAYS}).",
            type="stat",
            unit="d",
            width=5,
            height=6,
            color_mode="none",
            queries=(QuerySpec(f"{c.TIME_PERIOD_DAYS}{_SELECTED}", LEGEND),),
        ),
    )
    trends = (
        _window_burn_rates(tiers, in_group),
        PanelSpec(
            title="SLI vs objective",
            description=(
                "SLI over the current-burn window (the page-quick short window, 5m by default) against the "
                f"objective ({c.OBJECTIVE})."
            ),
            type="timeseries",
            unit="percentunit",
            width=12,
            height=8,
            max=1.0,
            decimals=3,
            queries=(
                QuerySpec(
                    _sli_from_burn(c.CURRENT_BURN_RATE, grouped),
                    " ".join(("SLI", _legend(c.LABEL_SLO), *(_legend(label) for label in labels))),
                ),
                QuerySpec(f"{c.OBJECTIVE}{_SELECTED}", f"objective {_legend(c.LABEL_SLO)}"),
            ),
        ),
        PanelSpec(
            title="Error budget remaining over time",
            description=f"How the period's error budget was spent ({c.PERIOD_BUDGET_REMAINING}).",
            type="timeseries",
            unit="percentunit",
            width=12,
            height=8,
            queries=(QuerySpec(f"{c.PERIOD_BUDGET_REMAINING}{grouped}", legend),),
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
                    f"max by (alertname, {c.LABEL_SEVERITY}) ({firing}) * 2\n"
                    f"or max by (alertname, {c.LABEL_SEVERITY}) ({pending})\n"
                    'or on() label_replace(vector(0), "alertname", "no SLO alert", "", "")',
                    _legend("alertname", c.LABEL_SEVERITY),
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
