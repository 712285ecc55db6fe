"""Each OpenSLO v1 field's mapping to the model, and each refusal naming its object and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from codegen.errors import SpecError, SpecErrors
from codegen.lowering import error_ratio, instant_indicator
from codegen.model import SLO, EventsSLI, RawSLI, SliceRatioSLI, TimesliceSLI
from codegen.parse import load_specs

DAY = 86400


def slo_doc(name: str = "checkout", /, **spec: object) -> dict[str, object]:
    body: dict[str, object] = {
        "service": "shop",
        "indicator": {"metadata": {"name": "sli"}, "spec": {"ratioMetric": ratio("good")}},
        "budgetingMethod": "Occurrences",
        "objectives": [{"target": 0.99}],
    }
    body.update(spec)
    return {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": name}, "spec": body}


def source(query: str, kind: str = "Prometheus", key: str = "query") -> dict[str, object]:
    return {"metricSource": {"type": kind, "spec": {key: query}}}


def ratio(numerator: str, counter: bool = True) -> dict[str, object]:
    return {
        "counter": counter,
        numerator: source(f'sum(rate(http_requests_total{{code="{numerator}"}}[{{{{.window}}}}]))'),
        "total": source("sum(rate(http_requests_total[{{.window}}]))"),
    }


def obj(kind: str, name: str, spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "openslo/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def condition(name: str, severity: str = "page", /, **cond: object) -> dict[str, object]:
    body: dict[str, object] = {"kind": "burnrate", "op": "gt", "threshold": 14.4, "lookbackWindow": "1h"}
    body.update(cond)
    return obj("AlertCondition", name, {"severity": severity, "condition": body})


def policy(name: str, *conditions: str, **spec: object) -> dict[str, object]:
    body: dict[str, object] = {
        "alertWhenBreaching": True,
        "conditions": [{"conditionRef": c} for c in conditions],
        "notificationTargets": [{"targetRef": "pager"}],
    }
    body.update(spec)
    return obj("AlertPolicy", name, body)


PAGER = obj("AlertNotificationTarget", "pager", {"target": "pagerduty"})


def load(tmp_path: Path, *files: object, windows: str | None = None) -> list[SLO]:
    for index, content in enumerate(files):
        docs = content if isinstance(content, tuple) else (content,)
        (tmp_path / f"f{index}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return list(load_specs(str(tmp_path), windows_path=windows).slos)


def errors(tmp_path: Path, *files: object) -> list[SpecError]:
    with pytest.raises(SpecErrors) as caught:
        load(tmp_path, *files)
    return caught.value.errors


def only(found: list[SpecError], field: str, phrase: str) -> SpecError:
    hits = [e for e in found if e.field.endswith(field) and phrase in e.message]
    assert hits, "\n".join(map(str, found))
    return hits[0]


# ---------------------------------------------------------------------------------------------------------------
# Indicators and budgeting methods


def test_good_over_total_occurrences_is_the_raw_ratio(tmp_path: Path) -> None:
    (slo,) = load(tmp_path, slo_doc())
    assert isinstance(slo.sli, RawSLI)
    assert "1 - (" in slo.sli.error_ratio_query and 'code="good"' in slo.sli.error_ratio_query
    assert (slo.service, slo.name, slo.objective, slo.spec_kind) == ("shop", "checkout", 99.0, "openslo/v1")


def test_bad_over_total_occurrences_is_an_events_sli(tmp_path: Path) -> None:
    indicator = {"metadata": {"name": "sli"}, "spec": {"ratioMetric": ratio("bad")}}
    (slo,) = load(tmp_path, slo_doc(indicator=indicator))
    assert isinstance(slo.sli, EventsSLI)
    assert 'code="bad"' in slo.sli.error_query and "code=" not in slo.sli.total_query


@pytest.mark.parametrize(("raw_type", "expected"), [("failure", "avg("), ("success", "1 - (avg(")])
def test_raw_ratio_by_raw_type(tmp_path: Path, raw_type: str, expected: str) -> None:
    spec = {"ratioMetric": {"rawType": raw_type, "raw": source("job:error_ratio{job='x'}", key="promql")}}
    (slo,) = load(tmp_path, slo_doc(indicator={"metadata": {"name": "r"}, "spec": spec}))
    assert isinstance(slo.sli, RawSLI)
    assert slo.sli.error_ratio_query.startswith(expected)
    assert "avg_over_time(job:error_ratio{job='x'}[{{.window}}])" in slo.sli.error_ratio_query


def test_counter_and_gauge_queries_without_window(tmp_path: Path) -> None:
    """The spec's examples write instant queries: a counter's increase, a gauge's mean over the window."""
    counter = {"counter": True, "bad": source("errors_total{job='a'}"), "total": source("sum(requests_total)")}
    gauge = {"counter": False, "bad": source("queue_bad"), "total": source("queue_all")}
    slos = load(
        tmp_path,
        slo_doc("c", indicator={"metadata": {"name": "c"}, "spec": {"ratioMetric": counter}}),
        slo_doc("g", indicator={"metadata": {"name": "g"}, "spec": {"ratioMetric": gauge}}),
    )
    by_name = {s.name: s.sli for s in slos}
    assert by_name["c"] == EventsSLI(
        "sum(increase(errors_total{job='a'}[{{.window}}]))", "sum(increase((sum(requests_total))[{{.window}}:]))"
    )
    assert by_name["g"] == EventsSLI(
        "sum(avg_over_time(queue_bad[{{.window}}]))", "sum(avg_over_time(queue_all[{{.window}}]))"
    )


@pytest.mark.parametrize(("op", "bad"), [("lt", ">="), ("lte", ">"), ("gt", "<="), ("gte", "<")])
def test_threshold_metric_occurrences_is_a_timeslice_with_the_negated_op(tmp_path: Path, op: str, bad: str) -> None:
    indicator = {"metadata": {"name": "lag"}, "spec": {"thresholdMetric": source("max(lag_seconds)")}}
    (slo,) = load(tmp_path, slo_doc(indicator=indicator, objectives=[{"op": op, "value": 30, "target": 0.99}]))
    assert slo.sli == TimesliceSLI("max(lag_seconds)", bad, 30.0)


def test_threshold_metric_timeslices(tmp_path: Path) -> None:
    indicator = {"metadata": {"name": "lag"}, "spec": {"thresholdMetric": source("max(lag_seconds)")}}
    objective = {"op": "lt", "value": 30, "target": 0.99, "timeSliceTarget": 0.9, "timeSliceWindow": "5m"}
    (slo,) = load(tmp_path, slo_doc(indicator=indicator, budgetingMethod="Timeslices", objectives=[objective]))
    assert slo.sli == TimesliceSLI("avg_over_time(((max(lag_seconds)) < bool 30)[5m:])", "<", 0.9)


def test_ratio_timeslices_is_a_good_ratio_per_slice_against_the_slice_target(tmp_path: Path) -> None:
    objective = {"target": 0.99, "timeSliceTarget": 0.95, "timeSliceWindow": 2}  # a number is minutes
    (slo,) = load(tmp_path, slo_doc(budgetingMethod="Timeslices", objectives=[objective]))
    assert isinstance(slo.sli, TimesliceSLI)
    assert (slo.sli.operator, slo.sli.threshold) == ("<", 0.95)
    assert slo.sli.query == (
        '((sum(rate(http_requests_total{code="good"}[2m]))) / (sum(rate(http_requests_total[2m]))))'
    )


def test_ratio_timeslices_records_each_slice_error_ratio_and_averages_it(tmp_path: Path) -> None:
    (slo,) = load(
        tmp_path, slo_doc(budgetingMethod="RatioTimeslices", objectives=[{"target": 0.99, "timeSliceWindow": "1m"}])
    )
    assert isinstance(slo.sli, SliceRatioSLI) and slo.sli.slice_window == "1m"
    assert instant_indicator(slo.sli) == (
        '(1 - (sum(rate(http_requests_total{code="good"}[1m]))) / (sum(rate(http_requests_total[1m])))) >= 0'
    )
    assert error_ratio(slo, "1h").startswith("avg_over_time(slo:sli_error:ratio_instant{")


def test_rolling_time_window_is_the_period(tmp_path: Path) -> None:
    (slo,) = load(tmp_path, slo_doc(timeWindow=[{"duration": "4w", "isRolling": True}]))
    assert slo.period == 28 * DAY and slo.windows.page_quick.long_window == 3600  # the built-in 28d catalog


def test_a_period_without_catalog_or_policy_is_an_error_naming_the_window(tmp_path: Path) -> None:
    found = errors(tmp_path, slo_doc(timeWindow=[{"duration": "2w", "isRolling": True}]))
    assert "no alert windows for SLO period 2w" in only(found, "spec.timeWindow", "AlertWindows").message


def test_several_objectives_are_several_slos(tmp_path: Path) -> None:
    slos = load(tmp_path, slo_doc(objectives=[{"target": 0.99}, {"targetPercent": 99.9}]))
    assert [(s.name, s.objective) for s in slos] == [("checkout-0", 99.0), ("checkout-1", 99.9)]
    assert [s.alerting.name for s in slos] == ["ShopCheckout0ErrorBudgetBurn", "ShopCheckout1ErrorBudgetBurn"]


def test_labels_with_lists_join_with_commas(tmp_path: Path) -> None:
    doc = slo_doc()
    doc["metadata"] = {"name": "checkout", "labels": {"team": ["a", "b"], "env": "prod"}}
    (slo,) = load(tmp_path, doc)
    assert slo.labels == (("env", "prod"), ("team", "a,b"))


# ---------------------------------------------------------------------------------------------------------------
# References, files and lists


def test_references_resolve_across_files_lists_and_documents(tmp_path: Path) -> None:
    sli = obj(
        "SLI",
        "shared",
        {
            "ratioMetric": {
                "counter": True,
                "bad": {"metricSource": {"metricSourceRef": "prom", "spec": {"query": "e"}}},
                "total": {"metricSource": {"metricSourceRef": "prom", "spec": {"query": "t"}}},
            }
        },
    )
    datasource = obj("DataSource", "prom", {"type": "prometheus"})
    body = slo_doc(indicator=None, indicatorRef="shared", alertPolicies=[{"alertPolicyRef": "p"}])
    del body["spec"]["indicator"]  # type: ignore[attr-defined]
    slos = load(tmp_path, body, [sli, datasource], (policy("p", "c"), condition("c"), PAGER))
    assert slos[0].sli == EventsSLI("sum(increase(e[{{.window}}]))", "sum(increase(t[{{.window}}]))")


@pytest.mark.parametrize(
    ("spec", "field", "name"),
    [
        ({"indicatorRef": "nope"}, "spec.indicatorRef", "SLI 'nope'"),
        ({"alertPolicies": [{"alertPolicyRef": "nope"}]}, "spec.alertPolicies[0].alertPolicyRef", "AlertPolicy 'nope'"),
    ],
)
def test_a_missing_reference_is_named(tmp_path: Path, spec: dict[str, object], field: str, name: str) -> None:
    doc = slo_doc(**spec)
    if "indicatorRef" in spec:
        del doc["spec"]["indicator"]  # type: ignore[attr-defined]
    error = only(errors(tmp_path, doc), field, f"reference to {name}")
    assert error.slo == "SLO checkout"


def test_missing_condition_target_and_datasource_references_are_named(tmp_path: Path) -> None:
    indicator = {
        "metadata": {"name": "i"},
        "spec": {"thresholdMetric": {"metricSource": {"metricSourceRef": "ds", "spec": {"query": "x"}}}},
    }
    doc = slo_doc(
        indicator=indicator,
        objectives=[{"op": "lt", "value": 1, "target": 0.9}],
        alertPolicies=[{"alertPolicyRef": "p"}],
    )
    found = errors(tmp_path, (doc, policy("p", "c")))
    only(found, "conditions[0].conditionRef", "reference to AlertCondition 'c'")
    only(found, "notificationTargets[0].targetRef", "reference to AlertNotificationTarget 'pager'")
    only(found, "metricSource.metricSourceRef", "reference to DataSource 'ds'")


def test_an_object_defined_twice_is_named(tmp_path: Path) -> None:
    error = only(errors(tmp_path, slo_doc(), (PAGER,), [PAGER]), "metadata.name", "defined twice")
    assert error.slo == "AlertNotificationTarget pager"


# ---------------------------------------------------------------------------------------------------------------
# Alert policies


def test_alert_policies_make_the_tiers(tmp_path: Path) -> None:
    conditions = (
        condition("fast", threshold=14.4, lookbackWindow="1h", alertAfter="2m"),
        condition("medium", threshold=6, lookbackWindow="6h", alertAfter="2m"),
        condition("slow", "ticket", threshold=1, lookbackWindow="3d", alertAfter="15m"),
    )
    policies = [{"alertPolicyRef": p} for p in ("a", "b", "c")]
    (slo,) = load(
        tmp_path,
        slo_doc(alertPolicies=policies, timeWindow=[{"duration": "30d"}]),
        (policy("a", "fast"), policy("b", "medium"), policy("c", "slow"), *conditions, PAGER),
    )
    tiers = slo.windows
    assert [(t.name, t.short_window, t.long_window, round(t.burn_factor, 9)) for t in tiers.tiers] == [
        ("page-quick", 300, 3600, 14.4),
        ("page-slow", 1800, 6 * 3600, 6.0),
        ("ticket-quick", 6 * 3600, 3 * DAY, 1.0),
        ("ticket-slow", 6 * 3600, 3 * DAY, 1.0),
    ]
    assert (slo.alerting.page.for_, slo.alerting.ticket.for_) == ("2m", "15m")
    assert dict(slo.alerting.page.labels) == {"openslo_notification_target": "pager"}
    assert slo.alerting.no_data.disabled  # no policy asks for alertWhenNoData


def test_only_page_conditions_disable_the_ticket_alert_and_no_data_follows_the_policy(tmp_path: Path) -> None:
    (slo,) = load(
        tmp_path,
        slo_doc(alertPolicies=[{"alertPolicyRef": "a"}], timeWindow=[{"duration": "2w"}]),  # no 2w catalog needed
        (policy("a", "fast", alertWhenNoData=True), condition("fast"), PAGER),
    )
    assert slo.period == 14 * DAY
    assert slo.alerting.ticket.disabled and not slo.alerting.page.disabled
    assert not slo.alerting.no_data.disabled


def test_a_policy_that_only_watches_for_no_data_keeps_the_catalog_and_silences_burn_alerts(tmp_path: Path) -> None:
    (slo,) = load(
        tmp_path,
        slo_doc(alertPolicies=[{"alertPolicyRef": "a"}]),
        (policy("a", "fast", alertWhenBreaching=False, alertWhenNoData=True), condition("fast"), PAGER),
    )
    assert slo.alerting.page.disabled and slo.alerting.ticket.disabled and not slo.alerting.no_data.disabled
    assert [round(t.burn_factor, 1) for t in slo.windows.tiers] == [14.4, 6.0, 3.0, 1.0]


def test_without_alert_policy_the_workbook_tiers_page_and_ticket(tmp_path: Path) -> None:
    (slo,) = load(tmp_path, slo_doc())
    assert [round(t.burn_factor, 1) for t in slo.windows.tiers] == [14.4, 6.0, 3.0, 1.0]
    assert not slo.alerting.page.disabled and not slo.alerting.ticket.disabled and slo.alerting.enabled


@pytest.mark.parametrize(
    ("cond", "field", "phrase"),
    [
        ({"op": "lte"}, "condition.op", "slower"),
        ({"kind": "threshold"}, "condition.kind", "burnrate"),
        ({"threshold": 800}, "condition.threshold", "whole error budget"),
        ({"lookbackWindow": "1M"}, "condition.lookbackWindow", "no fixed length"),
        ({"threshold": 0}, "condition.threshold", "above 0"),
    ],
)
def test_condition_refusals(tmp_path: Path, cond: dict[str, object], field: str, phrase: str) -> None:
    found = errors(
        tmp_path, (slo_doc(alertPolicies=[{"alertPolicyRef": "a"}]), policy("a", "c"), condition("c", **cond), PAGER)
    )
    assert only(found, field, phrase).slo == "AlertCondition c"


def test_policy_refusals(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        (
            slo_doc(alertPolicies=[{"alertPolicyRef": "a"}]),
            policy("a", "c", "d", alertWhenResolved=True),
            condition("c"),
            condition("d"),
            PAGER,
        ),
    )
    only(found, "spec.alertWhenResolved", "send_resolved")
    only(found, "spec.conditions", "exactly one condition")


def test_three_page_conditions_or_two_alert_afters_are_refused(tmp_path: Path) -> None:
    refs = [{"alertPolicyRef": p} for p in ("a", "b", "c")]
    found = errors(
        tmp_path,
        (
            slo_doc(alertPolicies=refs),
            *(policy(p, p) for p in "abc"),
            *(condition(p, alertAfter=f"{i + 1}m") for i, p in enumerate("abc")),
            PAGER,
        ),
    )
    only(found, "spec.alertPolicies", "two tiers per severity")
    (tmp_path / "second").mkdir()
    found = errors(
        tmp_path / "second",
        (
            slo_doc(alertPolicies=refs[:2]),
            policy("a", "a"),
            policy("b", "b"),
            condition("a", alertAfter="1m"),
            condition("b", threshold=6, lookbackWindow="6h", alertAfter="5m"),
            PAGER,
        ),
    )
    only(found, "spec.alertPolicies", "different alertAfter")


# ---------------------------------------------------------------------------------------------------------------
# What Prometheus cannot express, and malformed objectives


@pytest.mark.parametrize(
    ("change", "field", "phrase"),
    [
        (
            {"timeWindow": [{"duration": "1M", "calendar": {"startTime": "2022-01-01 00:00:00", "timeZone": "UTC"}}]},
            "timeWindow[0].calendar",
            "calendar-aligned",
        ),
        ({"timeWindow": [{"duration": "1w", "isRolling": False}]}, "timeWindow[0].isRolling", "calendar-aligned"),
        ({"timeWindow": [{"duration": "1Q", "isRolling": True}]}, "timeWindow[0].duration", "no fixed length"),
        ({"objectives": [{"target": 0.9, "indicatorRef": "x"}]}, "objectives[0].indicatorRef", "composite"),
        ({"objectives": [{"target": 0.9, "compositeWeight": 2}]}, "objectives[0].compositeWeight", "composite"),
        ({"objectives": [{"target": 0.9, "value": 3}]}, "objectives[0].value", "thresholdMetric"),
        ({"objectives": [{"target": 0.9, "op": "lt"}]}, "objectives[0].op", "good when high"),
        ({"objectives": [{"target": 1.5}]}, "objectives[0].target", "below 1"),
        ({"objectives": [{"target": 0.9, "targetPercent": 90}]}, "objectives[0].target", "exactly one"),
        ({"objectives": [{"target": 0.9, "timeSliceWindow": "1m"}]}, "objectives[0].timeSliceWindow", "Timeslices"),
        (
            {"budgetingMethod": "Timeslices", "objectives": [{"target": 0.9, "timeSliceWindow": "1m"}]},
            "objectives[0].timeSliceTarget",
            "required",
        ),
        (
            {"budgetingMethod": "RatioTimeslices", "objectives": [{"target": 0.9}]},
            "objectives[0].timeSliceWindow",
            "required",
        ),
        ({"budgetingMethod": "Events"}, "spec.budgetingMethod", "Occurrences"),
        ({"indicatorRef": "x"}, "spec.indicator", "exactly one"),
    ],
)
def test_slo_refusals(tmp_path: Path, change: dict[str, object], field: str, phrase: str) -> None:
    only(errors(tmp_path, slo_doc(**change)), field, phrase)


@pytest.mark.parametrize(
    ("metric", "field", "phrase"),
    [
        (
            {"ratioMetric": {"good": source("x", kind="Datadog"), "total": source("y")}},
            "good.metricSource.type",
            "'Datadog' is not supported",
        ),
        (
            {"ratioMetric": {"good": {"metricSource": {"spec": {"query": "x"}}}, "total": source("y")}},
            "good.metricSource.type",
            "required",
        ),
        (
            {
                "ratioMetric": {
                    "good": {"metricSource": {"type": "Prometheus", "spec": {"query": "x", "dimensions": ["a"]}}},
                    "total": source("y"),
                }
            },
            "metricSource.spec.dimensions",
            "unsupported Prometheus source field",
        ),
        (
            {"ratioMetric": {"good": source("sum(("), "total": source("y")}},
            "good.metricSource.spec.query",
            "invalid PromQL",
        ),
        (
            {"ratioMetric": {"good": source("x"), "bad": source("y"), "total": source("z")}},
            "spec.ratioMetric",
            "good and total",
        ),
        ({"ratioMetric": {"raw": source("x")}}, "ratioMetric.rawType", "success or failure"),
        (
            {"thresholdMetric": source("x"), "ratioMetric": {"raw": source("x"), "rawType": "failure"}},
            "indicator.spec",
            "exactly one",
        ),
    ],
)
def test_indicator_refusals(tmp_path: Path, metric: dict[str, object], field: str, phrase: str) -> None:
    error = only(errors(tmp_path, slo_doc(indicator={"metadata": {"name": "i"}, "spec": metric})), field, phrase)
    assert error.slo == "SLI i"


def test_a_threshold_metric_needs_op_and_value(tmp_path: Path) -> None:
    indicator = {"metadata": {"name": "i"}, "spec": {"thresholdMetric": source("x")}}
    only(errors(tmp_path, slo_doc(indicator=indicator)), "objectives[0].op", "op is required")


def test_unused_objects_are_checked_too(tmp_path: Path) -> None:
    """A DataSource nobody uses is still refused: a run never drops what it cannot compile."""
    found = errors(tmp_path, [obj("DataSource", "dd", {"type": "Datadog"}), obj("Widget", "w", {})])
    only(found, "[0].spec.type", "'Datadog' is not supported")
    only(found, "[1].kind", "unsupported OpenSLO v1 kind 'Widget'")


def test_our_spec_writes_the_slice_ratio_sli_as_sli_slice_ratio(tmp_path: Path) -> None:
    """What a RatioTimeslices SLO becomes can be written in our own spec too (``slogen convert`` needs a home)."""
    (openslo,) = load(
        tmp_path, slo_doc(budgetingMethod="RatioTimeslices", objectives=[{"target": 0.99, "timeSliceWindow": "1m"}])
    )
    assert isinstance(openslo.sli, SliceRatioSLI)
    ours = {
        "version": "prometheus/v1",
        "service": "shop",
        "slos": [
            {
                "name": "checkout",
                "objective": 99,
                "sli": {"slice_ratio": {"error_ratio_query": openslo.sli.error_ratio_query, "slice_window": "1m"}},
                "alerting": {"name": "ShopCheckoutErrorBudgetBurn"},
            }
        ],
    }
    other = tmp_path / "ours"
    other.mkdir()
    (other / "spec.yaml").write_text(yaml.safe_dump(ours))
    (slo,) = load_specs(str(other)).slos
    assert slo.sli == openslo.sli
    (other / "spec.yaml").write_text(yaml.safe_dump(ours).replace("slice_window: 1m", "slice_window: soon"))
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(other))
    assert [e.field for e in caught.value.errors] == ["slos[0].sli.slice_ratio.slice_window"]


def test_envelope_refusals_in_a_list(tmp_path: Path) -> None:
    bad_name = obj("Service", "Web_Shop", {})
    other_api = {"apiVersion": "openslo/v1alpha", "kind": "SLO", "metadata": {"name": "x"}, "spec": {}}
    found = errors(tmp_path, [PAGER, "not an object", other_api, bad_name])
    only(found, "[1]", "must be a mapping")
    only(found, "[2].apiVersion", "one list holds openslo/v1 objects only")
    only(found, "[3].metadata.name", "RFC 1123")
