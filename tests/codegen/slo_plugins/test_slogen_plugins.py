"""slogen's own plugins: each does its one addition, leaves what it does not own alone, and the default chain with
them equals the chain without them plus exactly their additions."""

from __future__ import annotations

from dataclasses import replace

from codegen.conventions import SLI_INSTANT
from codegen.lowering import error_ratio, nan_safe_error_ratio
from codegen.model import SLO, Alerting, AlertOptions, CompileOptions, NoDataAlert, RawSLI, TimesliceSLI
from codegen.plan import AlertingRule, RecordingRule, SLORules
from tests.codegen.slo_plugins.slos import run, slo

VALID = RawSLI("sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))")
ALERTING = Alerting(name="Burn", page=AlertOptions(for_="2m"), ticket=AlertOptions(labels=(("severity", "info"),)))
TIMESLICE = TimesliceSLI("queue_lag_seconds", ">", 30.0)


def core(target: SLO, optimized: bool = True) -> SLORules:
    rules = run("sloth.dev/core/sli_rules/v1", target, {"disableOptimized": not optimized})
    return run("sloth.dev/core/alert_rules/v1", target, rules=rules)


def test_nan_safe_rewrites_plain_ratios_only() -> None:
    target = slo(VALID, alerting=ALERTING)
    rules = run("slogen.dev/nan_safe_sli/v1", target, rules=core(target))
    by_window = {r.window: r for r in rules.sli_recordings.rules if isinstance(r, RecordingRule)}
    assert by_window["5m"].expr == nan_safe_error_ratio(target, "5m")
    assert by_window["5m"].expr != error_ratio(target, "5m")
    assert by_window["30d"].expr.startswith("sum_over_time(")  # the optimized period average is left alone
    unoptimized = run("slogen.dev/nan_safe_sli/v1", target, rules=core(target, optimized=False))
    assert [r.expr for r in unoptimized.sli_recordings.rules][-1] == nan_safe_error_ratio(target, "30d")


def test_nan_safe_leaves_a_changed_expression_and_a_timeslice_alone() -> None:
    target = slo(VALID)
    rules = core(target)
    changed = replace(rules.sli_recordings.rules[0], expr="vector(0)")
    rules.sli_recordings = replace(rules.sli_recordings, rules=(changed, *rules.sli_recordings.rules[1:]))
    assert run("slogen.dev/nan_safe_sli/v1", target, rules=rules).sli_recordings.rules[0].expr == "vector(0)"
    sliced = slo(TIMESLICE)
    before = core(sliced).sli_recordings
    assert run("slogen.dev/nan_safe_sli/v1", sliced, rules=core(sliced)).sli_recordings == before


def test_timeslice_records_its_indicator_first_and_once() -> None:
    target = slo(TIMESLICE)
    rules = run("slogen.dev/timeslice_sli/v1", target, rules=core(target))
    first = rules.sli_recordings.rules[0]
    assert isinstance(first, RecordingRule) and first.record == SLI_INSTANT and first.role == "sli_instant"
    assert first.expr == "max((queue_lag_seconds) > bool 30)"  # the user query is one operand
    again = run("slogen.dev/timeslice_sli/v1", target, rules=rules)
    assert [r.role for r in again.sli_recordings.rules].count("sli_instant") == 1
    other = slo(VALID)
    assert run("slogen.dev/timeslice_sli/v1", other, rules=core(other)) == core(other)


def test_alert_routing_adds_severity_description_runbook_and_for_without_overriding_the_spec() -> None:
    target = slo(VALID, alerting=ALERTING)
    options = CompileOptions(runbook_base_url="https://runbooks.example/slo.md")
    page, ticket = run("slogen.dev/alert_routing/v1", target, rules=core(target), options=options).alerts.rules
    assert isinstance(page, AlertingRule) and isinstance(ticket, AlertingRule)
    assert dict(page.labels)["severity"] == "critical" and dict(ticket.labels)["severity"] == "info"
    assert dict(page.annotations)["runbook_url"] == "https://runbooks.example/slo.md#burn"
    assert "faster than 14.4x over 1h and 5m, or 6x over 6h and 30m" in dict(page.annotations)["description"]
    assert (page.for_, ticket.for_) == ("2m", None)
    spec_wins = replace(target, alerting=replace(ALERTING, annotations=(("runbook_url", "mine"),)))
    (page2, _) = run("slogen.dev/alert_routing/v1", spec_wins, rules=core(spec_wins)).alerts.rules
    assert dict(page2.annotations)["runbook_url"] == "mine"  # type: ignore[union-attr]


def test_no_data_alert_follows_the_burn_alerts() -> None:
    target = slo(VALID, alerting=ALERTING)
    rules = run("slogen.dev/no_data_alert/v1", target, rules=core(target)).alerts.rules
    no_data = rules[-1]
    assert isinstance(no_data, AlertingRule) and no_data.role == "no_data" and no_data.alert == "BurnNoData"
    assert no_data.expr == "absent(sum(rate(errors[5m])) / sum(rate(total[5m])))"
    assert dict(no_data.labels)["sloth_severity"] == "nodata" and no_data.for_ == "10m"
    disabled = replace(target, alerting=replace(ALERTING, no_data=NoDataAlert(disabled=True)))
    assert len(run("slogen.dev/no_data_alert/v1", disabled, rules=core(disabled)).alerts.rules) == 2
    silent = slo(VALID)  # no burn alerts: no no-data alert either
    assert run("slogen.dev/no_data_alert/v1", silent, rules=core(silent)).alerts.rules == ()
