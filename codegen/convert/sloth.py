"""``--to sloth``: an SLO lowered to what Sloth v0.16 reads, and a warning for every part that is lost.

The latency SLI becomes the events SLI it compiles to (``lowering.event_templates``: the exact queries slogen
compiles), the timeslice and slice-ratio SLIs a raw SLI averaging their per-slice indicator over a subquery
(Sloth cannot record the indicator once; the meaning is the same, the cost per evaluation is not), the
native-histogram latency SLI its raw ``histogram_fraction`` ratio. What has no Sloth form is dropped with a
warning: grouping (the queries keep its ``by``), ``for`` on the page/ticket alerts, the no-data alert, a period or
alert windows other than the run's (Sloth has one catalog per run), slogen's own SLO plugins, threshold alerts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from codegen.conventions import no_data_alert_name
from codegen.durations import format_duration
from codegen.lowering import event_templates, instant_indicator, ratio_template
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
    TimesliceSLI,
    WindowCatalog,
)

SLOGEN_PLUGIN_PREFIX = "slogen.dev/"  # slogen's own SLO plugins: Sloth has none of them
NO_NO_DATA = NoDataAlert(disabled=True)


def slice_raw_query(sli: TimesliceSLI | SliceRatioSLI, grouping: tuple[str, ...] = ()) -> str:
    """A per-slice SLI as one raw error-ratio template: the indicator's mean over a subquery at the rule
    evaluation interval (``[w:]``), which is what slogen's recorded indicator averages."""
    return f"avg_over_time(({instant_indicator(sli, grouping)})[{{{{.window}}}}:])"


def lower_sli(sli: SLI, grouping: tuple[str, ...] = ()) -> tuple[EventsSLI | RawSLI, str | None]:
    """The Sloth SLI (queries we write keep ``grouping``'s labels), and what the lowering changes (None when
    nothing)."""
    match sli:
        case EventsSLI() | RawSLI():
            return sli, None
        case LatencySLI():
            templates = event_templates(sli, grouping)
            assert templates is not None
            return EventsSLI(*templates), None
        case NativeLatencySLI():
            return RawSLI(ratio_template(sli, grouping) or ""), None
        case TimesliceSLI() | SliceRatioSLI():
            note = (
                f"sli.{sli.kind} lowered to a raw SLI over a subquery: Sloth re-evaluates the condition for every "
                "window instead of reading a recorded indicator (same ratio, more evaluation cost)"
            )
            return RawSLI(slice_raw_query(sli, grouping)), note
        case _:
            assert_never(sli)


def _sloth_chain(chain: PluginChainSpec, where: str, warn: list[str]) -> PluginChainSpec:
    kept = tuple(ref for ref in chain.plugins if not ref.id.startswith(SLOGEN_PLUGIN_PREFIX))
    for ref in chain.plugins:
        if ref.id.startswith(SLOGEN_PLUGIN_PREFIX):
            warn.append(f"{where}: SLO plugin {ref.id!r} is slogen's, Sloth has no such plugin: dropped")
    return PluginChainSpec(kept, chain.override_previous)


def _alert(options: AlertOptions, what: str, warn: list[str]) -> AlertOptions:
    if options.for_:
        warn.append(f"{what}.for {options.for_}: Sloth has no `for` on its alerts: dropped")
    return replace(options, for_=None)


def lower_slo(slo: SLO, default_windows: WindowCatalog, warn: list[str]) -> SLO:
    """``slo`` as Sloth would compile it from the converted spec; appends one warning per loss to ``warn``."""
    where = f"{slo.source.path}: slo {slo.id!r}"
    sli, note = lower_sli(slo.sli, slo.grouping)
    if note:
        warn.append(f"{where}: {note}")
    if slo.grouping:
        warn.append(
            f"{where}: grouping {list(slo.grouping)}: Sloth has no grouped SLOs; the queries keep `by "
            f"({', '.join(slo.grouping)})` (alerts fire per group) but Sloth's metadata rules and no-data alert "
            "do not know the groups"
        )
    windows = slo.windows
    if slo.period != default_windows.period:
        warn.append(
            f"{where}: period {format_duration(slo.period)}: Sloth has one period per run; run it with "
            f"--default-slo-period {format_duration(slo.period)} (this file is written without a period)"
        )
        windows = default_windows
    elif slo.windows != default_windows:
        warn.append(
            f"{where}: alert_windows: Sloth takes alert windows per run (--slo-period-windows-path), not per SLO; "
            "written without them"
        )
        windows = default_windows
    alerting = slo.alerting
    lowered_alerting = Alerting(
        name=alerting.name,
        labels=alerting.labels,
        annotations=alerting.annotations,
        page=_alert(alerting.page, f"{where}: alerting.page_alert", warn),
        ticket=_alert(alerting.ticket, f"{where}: alerting.ticket_alert", warn),
        no_data=NO_NO_DATA,
    )
    if alerting.enabled and alerting.name and not alerting.no_data.disabled:
        warn.append(f"{where}: the no-data alert ({no_data_alert_name(alerting.name)}) has no Sloth form: dropped")
    return replace(
        slo,
        sli=sli,
        windows=windows,
        alerting=lowered_alerting,
        spec_plugins=_sloth_chain(slo.spec_plugins, f"{slo.source.path}: slo_plugins", warn),
        plugins=_sloth_chain(slo.plugins, f"{where}: plugins", warn),
        grouping=(),
    )


def lower_document(doc: SpecDocument, default_windows: WindowCatalog, warn: list[str]) -> tuple[SLO, ...]:
    if doc.threshold_alerts:
        names = ", ".join(a.name for a in doc.threshold_alerts)
        warn.append(f"{doc.source.path}: threshold_alerts ({names}) are slogen's, Sloth has none: dropped")
    if doc.k8s is not None:
        warn.append(f"{doc.source.path}: Kubernetes metadata ({doc.k8s.name}) is not kept by prometheus/v1")
    return tuple(lower_slo(slo, default_windows, warn) for slo in doc.slos)
