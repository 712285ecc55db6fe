"""sloth.dev/contrib/validate_victoria_metrics/v1: Sloth's plugin_test.go cases and the MetricsQL check."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from codegen.model import EventsSLI
from codegen.slo_plugins.api import PluginProcessError
from codegen.slo_plugins.contrib import CONTRIB_FACTORIES
from codegen.slo_plugins.contrib.metricsql import MetricsQLError, check_metricsql
from codegen.slo_plugins.contrib.validate_victoria_metrics import SLO_PLUGIN_ID
from tests.codegen.slo_plugins.helpers import (
    PROMTOOL,
    UTILS,
    default_rules,
    empty_rules,
    promtool_check,
    request,
    slo_from,
)

FACTORY = CONTRIB_FACTORIES[SLO_PLUGIN_ID]
PROMQL_SPEC = """version: "prometheus/v1"
service: "test-svc"
labels: {owner: myteam, category: test}
slos:
  - name: "test.slo-0_1"
    objective: 99.99
    sli:
      events:
        error_query: >-
          sum(rate(grpc_server_handled_requests_count{job="myapp",code=~"Internal|Unavailable"}[{{ .window }}]))
        total_query: sum(rate(grpc_server_handled_requests_count{job="myapp"}[{{ .window }}]))
    alerting:
      name: testAlert
      page_alert:
        labels: {tier: "1", severity: slack, channel: "#a-myteam"}
        annotations: {message: "This is very important.", runbook: "http://whatever.com"}
      ticket_alert:
        labels: {tier: "1", severity: slack, channel: "#a-not-so-important"}
        annotations: {message: "This is not very important.", runbook: "http://whatever.com"}
"""
VM_ERROR = (
    "1 - histogram_share(0.2, sum by (vmrange) (rate(requests_duration_seconds_bucket"
    '{container_name="foo-bar-grpc", agent_dc="dc_sl"}[{{.window}}])))'
)
VM_TOTAL = "vector(1)[{{.window}}]"


def test_a_correct_promql_slo_passes(tmp_path: Path) -> None:
    rules = empty_rules()
    FACTORY(None, UTILS).process(request(slo_from(PROMQL_SPEC, tmp_path)), rules)
    assert rules.groups() == []


def test_a_correct_metricsql_slo_passes(tmp_path: Path) -> None:
    slo = dataclasses.replace(slo_from(PROMQL_SPEC, tmp_path), sli=EventsSLI(VM_ERROR, VM_TOTAL))
    FACTORY({}, UTILS).process(request(slo), empty_rules())


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"service": "-bad"},
        {"objective": 0.0},
        {"objective": 100.5},
        {"labels": (("owner", ""),)},
        {"labels": (("__name__", "x"),)},
        {"sli": EventsSLI("x[{{.window}}]", "x[{{.window}}]")},
        {"sli": EventsSLI("rate(x[5m])", "rate(y[{{.window}}])")},
        {"sli": EventsSLI('rate(x{a="b}[{{.window}}])', "rate(y[{{.window}}])")},
        {"sli": EventsSLI("sum(rate(x[{{.window}}])", "rate(y[{{.window}}])")},
        {"sli": EventsSLI("rate(x[{{.window}}]))", "rate(y[{{.window}}])")},
        {"sli": EventsSLI("rate(x[{{.Window}}]) + rate(x[{{.window}}])", "rate(y[{{.window}}])")},
    ],
)
def test_an_invalid_slo_fails(change: dict[str, object], tmp_path: Path) -> None:
    slo = dataclasses.replace(slo_from(PROMQL_SPEC, tmp_path), **change)  # type: ignore[arg-type]
    with pytest.raises(PluginProcessError, match="invalid slo"):
        FACTORY(None, UTILS).process(request(slo), empty_rules())


@pytest.mark.parametrize(
    "expr",
    [
        "vector(1)[1m]",
        "histogram_share(0.2, sum by (vmrange) (rate(x[1m])))",
        'WITH (f(x) = rate(x[1m])) f(y{a="}"})',
        "rate(x[1m]) # a comment with ( and [",
        "sum(rate(x[1m])) keep_metric_names",
        "`raw ( string`",
        "label_set(time(), 'k', 'v\\'s')",
    ],
)
def test_valid_metricsql_is_never_rejected(expr: str) -> None:
    check_metricsql(expr)


@pytest.mark.parametrize("expr", ["", "   ", "# only a comment", "rate(x[1m)]", 'x{a="b}', "(a"])
def test_broken_metricsql_is_rejected(expr: str) -> None:
    with pytest.raises(MetricsQLError):
        check_metricsql(expr)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing")
def test_promtool_accepts_the_plan_it_lets_through(tmp_path: Path) -> None:
    slo = slo_from(PROMQL_SPEC, tmp_path)
    rules = default_rules(slo)
    FACTORY(None, UTILS).process(request(slo), rules)
    result = promtool_check(rules, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
