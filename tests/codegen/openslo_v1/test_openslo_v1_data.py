"""Every OpenSLO v1 example and SDK test file of OpenSLO/OpenSLO and OpenSLO/go-sdk (vendored in ``golden/``, see
its README), read alone: each compiles or is refused with errors naming the object and the field, never a blanket
"format not supported". The v1alpha files go through the Sloth-compatible reader. Our own example set (several
files referring to each other) compiles, and its rules and generated tests pass promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen.cli import main
from codegen.errors import SpecErrors
from codegen.parse import load_specs

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
EXAMPLES = HERE / "examples"
PROMTOOL = shutil.which("promtool")

# file -> the refusals (object, field, phrase of the reason); [] = compiles (these hold no SLO).
EXPECTED: dict[str, list[tuple[str | None, str, str]]] = {
    "go-sdk/examples-v1--alert_conditions.yaml": [
        ("AlertCondition cpu-usage-breach", "[0].spec.condition.op", "op 'lte' would alert"),
    ],
    "go-sdk/examples-v1--alert_notification_targets.yaml": [],  # compiles: 0 SLOs
    "go-sdk/examples-v1--alert_policies.yaml": [
        ("AlertPolicy high-priority", "[1].spec.notificationTargets[0].targetRef", "no AlertNotificationTarget named"),
        ("AlertPolicy low-priority", "[0].spec.conditions[0].conditionRef", "no AlertCondition named"),
        ("AlertPolicy low-priority", "[0].spec.notificationTargets[0].targetRef", "no AlertNotificationTarget named"),
        ("AlertPolicy medium-priority", "[2].spec.conditions[0].conditionRef", "no AlertCondition named"),
    ],
    "go-sdk/examples-v1--data_sources.yaml": [
        ("DataSource datadog", "[1].spec.type", "is not supported: slogen writes Prometheus"),
    ],
    "go-sdk/examples-v1--services.yaml": [
        ("Service example-service", "[1].metadata.name", "defined twice"),
    ],
    "go-sdk/examples-v1--slis.yaml": [
        ("SLI annotator-throughput", "[3].spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLI end-user-response", "[1].spec.ratioMetric.bad.metricSource.metricSourceRef", "no DataSource named"),
        (
            "SLI end-user-response",
            "[1].spec.ratioMetric.bad.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        ("SLI end-user-response", "[1].spec.ratioMetric.total.metricSource.metricSourceRef", "no DataSource named"),
        (
            "SLI end-user-response",
            "[1].spec.ratioMetric.total.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        ("SLI search-availability", "[0].spec.ratioMetric.good.metricSource.metricSourceRef", "no DataSource named"),
        (
            "SLI search-availability",
            "[0].spec.ratioMetric.good.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        ("SLI search-availability", "[0].spec.ratioMetric.total.metricSource.metricSourceRef", "no DataSource named"),
        (
            "SLI search-availability",
            "[0].spec.ratioMetric.total.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        (
            "SLI wifi-client-satisfaction",
            "[2].spec.ratioMetric.raw.metricSource.metricSourceRef",
            "no DataSource named",
        ),
    ],
    "go-sdk/examples-v1--slos.yaml": [
        ("SLO web-availability", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/examples-v1alpha--services.yaml": [
        (None, "kind", "unsupported OpenSLO kind"),
    ],
    "go-sdk/examples-v1alpha--slos.yaml": [
        (None, "spec.budgetingMethod", "budgetingMethod 'Timeslices' is not supported"),
        (None, "spec.indicator", "indicator (thresholdMetric) is not supported"),
        (None, "spec.timeWindows[0].unit", "only days based"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics", "template must contain"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics.good.query", "the query must contain"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics.good.queryType", "indicator query type"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics.good.source", "source is required"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics.incremental", "unknown key 'incremental'"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics.total.query", "the query must contain"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics.total.queryType", "indicator query type"),
        ("web-availability-ratio-0", "spec.objectives[0].ratioMetrics.total.source", "source is required"),
        ("web-availability-ratio-0", "spec.objectives[0].timeSliceTarget", "timeSliceTarget is not supported"),
        ("web-availability-ratio-0", "spec.objectives[0].value", "value is not supported"),
        ("web-latency-threshold-0", "spec.objectives[0].op", "op is not supported"),
        ("web-latency-threshold-0", "spec.objectives[0].ratioMetrics", "missing ratioMetrics"),
        ("web-latency-threshold-0", "spec.objectives[0].value", "value is not supported"),
    ],
    "go-sdk/sdk--decode--sequence_of_objects.yaml": [],  # compiles: 0 SLOs
    "go-sdk/sdk--decode--single_object.yaml": [],  # compiles: 0 SLOs
    "go-sdk/sdk--decode--two_documents.yaml": [],  # compiles: 0 SLOs
    "go-sdk/sdk--decode--v1_slos.yaml": [
        ("SLI good", "[0].spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef", "no DataSource named"),
        ("SLI good", "[0].spec.indicator.spec.ratioMetric.total.metricSource.metricSourceRef", "no DataSource named"),
    ],
    "go-sdk/sdk--encode--v1_slo.yaml": [
        ("SLI good", "[0].spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef", "no DataSource named"),
        ("SLI good", "[0].spec.indicator.spec.ratioMetric.total.metricSource.metricSourceRef", "no DataSource named"),
    ],
    "go-sdk/sdk--export--inputs--custom_config.yaml": [
        (
            "AlertPolicy mix-of-referenced-and-inlined-objects",
            "[1].spec.notificationTargets[1].targetRef",
            "no AlertNotificationTarget named",
        ),
        (
            "AlertPolicy single-referenced-object",
            "[0].spec.alertPolicies[0].spec.conditions[0].conditionRef",
            "no AlertCondition named",
        ),
        (
            "AlertPolicy single-referenced-object",
            "[0].spec.alertPolicies[0].spec.notificationTargets[0].targetRef",
            "no AlertNotificationTarget named",
        ),
        ("SLI my-sli", "[0].spec.indicator.spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--export--inputs--v1_alert_policies.yaml": [
        (
            "AlertPolicy mix-of-referenced-and-inlined-objects",
            "[1].spec.notificationTargets[1].targetRef",
            "no AlertNotificationTarget named",
        ),
        ("AlertPolicy single-referenced-object", "[0].spec.conditions[0].conditionRef", "no AlertCondition named"),
        (
            "AlertPolicy single-referenced-object",
            "[0].spec.notificationTargets[0].targetRef",
            "no AlertNotificationTarget named",
        ),
    ],
    "go-sdk/sdk--export--inputs--v1_slo.yaml": [
        (
            "AlertPolicy single-referenced-object",
            "[0].spec.alertPolicies[0].spec.conditions[0].conditionRef",
            "no AlertCondition named",
        ),
        ("SLI my-sli", "[0].spec.indicator.spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--export--outputs--custom_config.yaml": [
        (
            "AlertPolicy mix-of-referenced-and-inlined-objects",
            "[1].spec.notificationTargets[1].targetRef",
            "no AlertNotificationTarget named",
        ),
        (
            "AlertPolicy single-referenced-object",
            "[0].spec.alertPolicies[0].spec.conditions[0].conditionRef",
            "no AlertCondition named",
        ),
        (
            "AlertPolicy single-referenced-object",
            "[0].spec.alertPolicies[0].spec.notificationTargets[0].targetRef",
            "no AlertNotificationTarget named",
        ),
        ("SLI my-sli", "[0].spec.indicator.spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--export--outputs--v1_alert_policies.yaml": [
        (
            "AlertPolicy mix-of-referenced-and-inlined-objects",
            "[1].spec.notificationTargets[1].targetRef",
            "no AlertNotificationTarget named",
        ),
        ("AlertPolicy single-referenced-object", "[0].spec.conditions[0].conditionRef", "no AlertCondition named"),
        (
            "AlertPolicy single-referenced-object",
            "[0].spec.notificationTargets[0].targetRef",
            "no AlertNotificationTarget named",
        ),
    ],
    "go-sdk/sdk--export--outputs--v1_slo.yaml": [
        ("AlertPolicy single-referenced-object", "[1].spec.conditions[0].conditionRef", "no AlertCondition named"),
        ("SLI my-sli", "[5].spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--inline--inputs--custom_config.yaml": [
        ("AlertPolicy multiple-referenced-objects", "[0].spec.conditions[0].conditionRef", "no AlertCondition named"),
        (
            "AlertPolicy multiple-referenced-objects",
            "[0].spec.notificationTargets[0].targetRef",
            "no AlertNotificationTarget named",
        ),
        ("SLO my-slo", "[1].spec.alertPolicies[0].alertPolicyRef", "no AlertPolicy named"),
        ("SLO my-slo", "[1].spec.alertPolicies[1].alertPolicyRef", "no AlertPolicy named"),
        ("SLO my-slo", "[1].spec.indicatorRef", "no SLI named"),
        ("SLO my-slo", "[1].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--inline--inputs--v1_alert_policies_invalid_condition.yaml": [
        ("AlertPolicy invalid-condition", "[0].spec.conditions[0].conditionRef", "no AlertCondition named"),
    ],
    "go-sdk/sdk--inline--inputs--v1_alert_policies_invalid_target.yaml": [
        ("AlertPolicy invalid-target", "[0].spec.notificationTargets[1].targetRef", "no AlertNotificationTarget named"),
    ],
    "go-sdk/sdk--inline--inputs--v1_alert_policies_keep_refs.yaml": [
        ("AlertCondition cpu-usage-breach", "[1].spec.condition.op", "op 'lte' would alert"),
    ],
    "go-sdk/sdk--inline--inputs--v1_alert_policies_remove_refs.yaml": [
        ("AlertCondition cpu-usage-breach", "[4].spec.condition.op", "op 'lte' would alert"),
    ],
    "go-sdk/sdk--inline--inputs--v1_slo.yaml": [
        ("AlertCondition cpu-usage-breach", "[3].spec.condition.op", "op 'lte' would alert"),
        ("SLI my-sli", "[0].spec.indicator.spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLI my-sli", "[2].spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo-1", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
        ("SLO my-slo-2", "[1].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--inline--inputs--v1_slo_invalid_policy.yaml": [
        ("SLI my-sli", "[1].spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo", "[0].spec.alertPolicies[0].alertPolicyRef", "no AlertPolicy named"),
        ("SLO my-slo", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--inline--inputs--v1_slo_invalid_sli.yaml": [
        ("SLI my-sli", "[1].spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo", "[0].spec.indicatorRef", "no SLI named"),
        ("SLO my-slo", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--inline--inputs--v1_slo_invalid_target.yaml": [
        (
            "AlertPolicy my-policy",
            "[0].spec.alertPolicies[0].spec.notificationTargets[1].targetRef",
            "no AlertNotificationTarget named",
        ),
        ("SLI my-sli", "[1].spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--inline--outputs--custom_config.yaml": [
        ("AlertPolicy multiple-referenced-objects", "[0].spec.conditions[0].conditionRef", "no AlertCondition named"),
        (
            "AlertPolicy multiple-referenced-objects",
            "[0].spec.notificationTargets[0].targetRef",
            "no AlertNotificationTarget named",
        ),
        ("SLO my-slo", "[1].spec.alertPolicies[0].alertPolicyRef", "no AlertPolicy named"),
        ("SLO my-slo", "[1].spec.alertPolicies[1].alertPolicyRef", "no AlertPolicy named"),
        ("SLO my-slo", "[1].spec.indicatorRef", "no SLI named"),
        ("SLO my-slo", "[1].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "go-sdk/sdk--inline--outputs--v1_alert_policies_keep_refs.yaml": [
        ("AlertCondition cpu-usage-breach", "[0].spec.conditions[0].spec.condition.op", "op 'lte' would alert"),
        ("AlertCondition cpu-usage-breach", "[1].spec.condition.op", "op 'lte' would alert"),
    ],
    "go-sdk/sdk--inline--outputs--v1_alert_policies_remove_refs.yaml": [
        ("AlertCondition cpu-usage-breach", "[0].spec.conditions[0].spec.condition.op", "op 'lte' would alert"),
        ("AlertCondition cpu-usage-breach", "[1].spec.conditions[0].spec.condition.op", "op 'lte' would alert"),
    ],
    "go-sdk/sdk--inline--outputs--v1_slo.yaml": [
        (
            "AlertCondition cpu-usage-breach",
            "[1].spec.alertPolicies[0].spec.conditions[0].spec.condition.op",
            "op 'lte' would alert",
        ),
        ("SLI my-sli", "[0].spec.indicator.spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLI my-sli", "[1].spec.indicator.spec.thresholdMetric.metricSource.metricSourceRef", "no DataSource named"),
        ("SLO my-slo-1", "[0].spec.timeWindow[0].calendar", "calendar-aligned"),
        ("SLO my-slo-2", "[1].spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "openslo-spec/budgeting-method--occurences-slo.yaml": [
        (
            "SLI search-latency",
            "spec.indicator.spec.thresholdMetric.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
    ],
    "openslo-spec/budgeting-method--ratio-timeslices.yaml": [
        (
            "SLI response-code",
            "spec.indicator.spec.ratioMetric.good.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        (
            "SLI response-code",
            "spec.indicator.spec.ratioMetric.total.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
    ],
    "openslo-spec/budgeting-method--timeslices-slo.yaml": [
        (
            "SLI web-availability",
            "spec.indicator.spec.ratioMetric.good.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        (
            "SLI web-availability",
            "spec.indicator.spec.ratioMetric.total.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        ("SLO service-availability", "spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
    "openslo-spec/treat-low-traffic-as-equally-important--timeslices-slo.yaml": [
        (
            "SLI web-availability",
            "spec.indicator.spec.ratioMetric.good.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        (
            "SLI web-availability",
            "spec.indicator.spec.ratioMetric.total.metricSource.type",
            "is not supported: slogen writes Prometheus",
        ),
        ("SLO service-availability", "spec.timeWindow[0].calendar", "calendar-aligned"),
    ],
}


def test_every_vendored_file_is_listed() -> None:
    on_disk = {f"{p.parent.name}/{p.name}" for p in GOLDEN.glob("*/*.yaml")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vendored_file_compiles_or_is_refused_by_object_and_field(name: str) -> None:
    expected = sorted(EXPECTED[name], key=str)
    try:
        load_specs(str(GOLDEN / name))
    except SpecErrors as caught:
        got = []
        for error in caught.errors:
            assert "format not supported" not in error.message and "not supported spec" not in error.message
            phrases = [row for row in expected if row[0] == error.slo and row[1] == error.field]
            assert any(row[2] in error.message for row in phrases), str(error)
            got.append(next(row for row in phrases if row[2] in error.message))
        assert sorted(set(got), key=str) == expected
        return
    assert expected == [], f"{name} compiled, expected refusals {expected}"


def test_go_sdk_examples_resolve_references_across_files(tmp_path: Path) -> None:
    """Read together, the examples' cross-file references resolve (the policies' cpu-usage-breach is in
    alert_conditions.yaml); what is left is what Prometheus cannot do and the targets no file defines."""
    for path in GOLDEN.glob("go-sdk/examples-v1--*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(tmp_path))
    messages = [str(e) for e in caught.value.errors]
    assert not any("no AlertCondition named 'cpu-usage-breach'" in m for m in messages)
    assert any("AlertCondition cpu-usage-breach" in m and "op 'lte'" in m for m in messages)
    assert any("no AlertNotificationTarget named 'on-call-pd-notification'" in m for m in messages)


def test_own_examples_compile_across_files() -> None:
    specs = load_specs(str(EXAMPLES))
    assert sorted(slo.id for slo in specs.slos) == [
        "volatility-api-availability-0",
        "volatility-api-availability-1",
        "volatility-api-predict-errors",
        "volatility-consumer-freshness",
        "volatility-consumer-freshness-minutes",
        "volatility-consumer-processed-good-minutes",
        "volatility-consumer-processed-slices",
    ]


@pytest.mark.slow  # promtool over every generated test of the example set: ~18 s
@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")
def test_own_examples_pass_promtool(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["generate", "-i", str(EXAMPLES), "-o", str(out), "--tests-out", str(out / "tests")]) == 0
    rules, tests = sorted(out.glob("*.yaml")), sorted((out / "tests").glob("*_test.yaml"))
    assert len(rules) == 3 and len(tests) == 3
    assert PROMTOOL is not None
    checked = subprocess.run([PROMTOOL, "check", "rules", *map(str, rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # one promtool per test file, side by side (the files are independent; CI has two cores)
    runs = [subprocess.Popen([PROMTOOL, "test", "rules", str(t)], stdout=subprocess.PIPE, text=True) for t in tests]
    for run in runs:
        stdout, _ = run.communicate(timeout=300)
        assert run.returncode == 0 and "SUCCESS" in stdout, stdout


@pytest.mark.slow  # ~2 s of promtool; fast: tests/codegen/test_promtool.py's test_generated_tests_catch_* mutations
@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")
def test_generated_tests_catch_a_wrong_policy_threshold(tmp_path: Path) -> None:
    """The policy's 14.4x/1h condition is proven: a rule that burns at 16x fails its generated test."""
    out = tmp_path / "out"
    assert main(["generate", "-i", str(EXAMPLES), "-o", str(out), "--tests-out", str(out / "tests")]) == 0
    rules = out / "api.yaml"
    text = rules.read_text()
    assert text.count("> (14.4 * 0.01") == 2
    assert "faster than 1x over 3d and 6h.\n" in text  # the one ticket condition fills both tiers, said once
    rules.write_text(text.replace("> (14.4 * 0.01", "> (16 * 0.01"))
    assert PROMTOOL is not None
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(out / "tests" / "api_test.yaml")], capture_output=True, text=True
    )
    assert tested.returncode != 0
    assert "page-quick fires" in tested.stdout + tested.stderr


RATIO_TIMESLICES_SCENARIO = """\
rule_files: [processed-slices.yaml]
evaluation_interval: 15s
tests:
  - name: every slice weighs the same (RatioTimeslices), unlike a ratio of event counts (Occurrences)
    interval: 15s
    input_series:
      # 15 minutes of 1000 good messages a minute, then 15 minutes of 1 failed message a minute
      - series: 'volatility_consumer_messages_total{job="volatility-consumer", result="ok"}'
        values: '0+250x60 15000+0x60'
      - series: 'volatility_consumer_messages_total{job="volatility-consumer", result="error"}'
        values: '0+0x60 0+0.25x60'
    promql_expr_test:
      - eval_time: 30m
        expr: 'count((slo:sli_error:ratio_rate30m{sloth_slo="processed-slices"} > 0.45) < 0.55)'
        exp_samples: [{labels: '{}', value: 1}]
      - eval_time: 30m
        expr: >-
          count(sum(increase(volatility_consumer_messages_total{result="error"}[30m]))
          / sum(increase(volatility_consumer_messages_total[30m])) < 0.01)
        exp_samples: [{labels: '{}', value: 1}]
"""


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")
def test_ratio_timeslices_average_the_slices_on_prometheus(tmp_path: Path) -> None:
    """Half the minutes fail (a trickle), half succeed (a flood): the slice mean is about 0.5, while the ratio of
    counts is about 0.001; the recorded SLI must be the first."""
    assert main(["generate", "-i", str(EXAMPLES), "-o", str(tmp_path)]) == 0  # consumer.yaml refers to shared.yaml
    # The SLO's own rule groups (SLI, meta, alerts), as generated: the file's other SLOs (exact freshness tiles)
    # would take promtool ~4 s to evaluate at every 15-s step, for nothing this test reads (0.3 s alone).
    rules = yaml.safe_load((tmp_path / "consumer.yaml").read_text())
    rules["groups"] = [g for g in rules["groups"] if g["name"].endswith("-volatility-consumer-processed-slices")]
    assert len(rules["groups"]) == 3, [g["name"] for g in rules["groups"]]
    (tmp_path / "processed-slices.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    (tmp_path / "scenario_test.yaml").write_text(RATIO_TIMESLICES_SCENARIO)
    assert PROMTOOL is not None
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(tmp_path / "scenario_test.yaml")], capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
