"""sloth.dev/contrib/error_budget_exhausted_alert/v1: the cases of Sloth's plugin_test.go, plus promtool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codegen.plan import AlertingRule
from codegen.slo_plugins.api import PluginConfigError
from codegen.slo_plugins.contrib import CONTRIB_FACTORIES
from codegen.slo_plugins.contrib.error_budget_exhausted_alert import SLO_PLUGIN_ID
from tests.codegen.slo_plugins.helpers import (
    EVENTS_SPEC,
    PROMTOOL,
    UTILS,
    default_rules,
    empty_rules,
    promtool_check,
    request,
    slo_from,
)

FACTORY = CONTRIB_FACTORIES[SLO_PLUGIN_ID]
METRIC = "slo:period_error_budget_remaining:ratio"


def _spec(service: str, name: str, labels: dict[str, str] | None = None) -> str:
    label_text = "{" + ", ".join(f"{k}: {v}" for k, v in (labels or {}).items()) + "}"
    return f"""version: "prometheus/v1"
service: "{service}"
slos:
  - name: "{name}"
    objective: 99
    labels: {label_text}
    sli: {{raw: {{error_ratio_query: "sum(rate(e[{{{{.window}}}}]))"}}}}
    alerting: {{page_alert: {{disable: true}}, ticket_alert: {{disable: true}}}}
"""


CASES: list[tuple[str, dict[str, Any], tuple[str, str, dict[str, str]], AlertingRule]] = [
    (
        "A config without for duration should *not* fail.",
        {"threshold": 0.0, "alert_name": "TestAlert"},
        ("web-service", "availability", {}),
        AlertingRule(
            "TestAlert",
            f'{METRIC}{{sloth_id="web-service-availability", sloth_service="web-service", sloth_slo="availability"}}'
            " <= 0",
            (),
            (),
            "5m",
        ),
    ),
    (
        "SLO with custom labels should include them in expression.",
        {"threshold": 0.0, "alert_name": "TestAlert"},
        ("web-service", "availability", {"environment": "production", "team": "platform"}),
        AlertingRule(
            "TestAlert",
            f'{METRIC}{{environment="production", sloth_id="web-service-availability", sloth_service="web-service", '
            'sloth_slo="availability", team="platform"} <= 0',
            (),
            (),
            "5m",
        ),
    ),
    (
        "Config with selector labels should include them in expression.",
        {"threshold": 0.0, "alert_name": "TestAlert", "selector_labels": {"region": "us-west-2", "tier": "critical"}},
        ("web-service", "availability", {}),
        AlertingRule(
            "TestAlert",
            f'{METRIC}{{region="us-west-2", sloth_id="web-service-availability", sloth_service="web-service", '
            'sloth_slo="availability", tier="critical"} <= 0',
            (),
            (),
            "5m",
        ),
    ),
    (
        "A config with negative threshold should *not* fail.",
        {"threshold": -0.1, "for": "5m", "alert_name": "TestAlert"},
        ("payment-service", "error-rate", {}),
        AlertingRule(
            "TestAlert",
            f'{METRIC}{{sloth_id="payment-service-error-rate", sloth_service="payment-service", '
            'sloth_slo="error-rate"} <= -0.1',
            (),
            (),
            "5m",
        ),
    ),
    (
        "Creating alert rule for exhausted error budget should generate correct rule.",
        {
            "threshold": 0.0,
            "for": "5m",
            "alert_name": "ErrorBudgetExhausted",
            "alert_labels": {"severity": "critical", "team": "platform"},
        },
        ("checkout", "availability", {}),
        AlertingRule(
            "ErrorBudgetExhausted",
            f'{METRIC}{{sloth_id="checkout-availability", sloth_service="checkout", sloth_slo="availability"}} <= 0',
            (("severity", "critical"), ("team", "platform")),
            (),
            "5m",
        ),
    ),
    (
        "Creating alert rule with positive threshold should generate correct promql expression.",
        {"threshold": 0.05, "for": "10m", "alert_name": "ErrorBudgetLow", "alert_labels": {"severity": "warning"}},
        ("api-gateway", "latency", {}),
        AlertingRule(
            "ErrorBudgetLow",
            f'{METRIC}{{sloth_id="api-gateway-latency", sloth_service="api-gateway", sloth_slo="latency"}} <= 0.05',
            (("severity", "warning"),),
            (),
            "10m",
        ),
    ),
    (
        "A config without alert name should not fail and use default name.",
        {"threshold": 0.0, "for": "5m"},
        ("auth-service", "reliability", {}),
        AlertingRule(
            "ErrorBudgetExhausted",
            f'{METRIC}{{sloth_id="auth-service-reliability", sloth_service="auth-service", sloth_slo="reliability"}}'
            " <= 0",
            (),
            (),
            "5m",
        ),
    ),
    (
        "Config with both selector and alert labels should separate them correctly.",
        {
            "threshold": 0.0,
            "alert_name": "TestAlert",
            "selector_labels": {"region": "us-west-2"},
            "alert_labels": {"severity": "critical"},
        },
        ("web-service", "availability", {}),
        AlertingRule(
            "TestAlert",
            f'{METRIC}{{region="us-west-2", sloth_id="web-service-availability", sloth_service="web-service", '
            'sloth_slo="availability"} <= 0',
            (("severity", "critical"),),
            (),
            "5m",
        ),
    ),
    (
        "Config with custom annotations should include them in alert rule.",
        {
            "threshold": 0.0,
            "alert_name": "TestAlert",
            "annotations": {
                "description": "Custom error budget alert for {{ $labels.sloth_slo }}",
                "runbook_url": "https://example.com/runbook",
                "summary": "Error budget exhausted",
            },
        },
        ("web-service", "availability", {}),
        AlertingRule(
            "TestAlert",
            f'{METRIC}{{sloth_id="web-service-availability", sloth_service="web-service", sloth_slo="availability"}}'
            " <= 0",
            (),
            (
                ("description", "Custom error budget alert for {{ $labels.sloth_slo }}"),
                ("runbook_url", "https://example.com/runbook"),
                ("summary", "Error budget exhausted"),
            ),
            "5m",
        ),
    ),
    (
        "Creating alert rule with minimal config should work without annotations.",
        {"threshold": 0.1, "for": "15m", "alert_name": "MinimalAlert"},
        ("database", "uptime", {}),
        AlertingRule(
            "MinimalAlert",
            f'{METRIC}{{sloth_id="database-uptime", sloth_service="database", sloth_slo="uptime"}} <= 0.1',
            (),
            (),
            "15m",
        ),
    ),
]


@pytest.mark.parametrize(("name", "config", "slo", "expected"), CASES, ids=[c[0] for c in CASES])
def test_sloth_cases(
    name: str, config: dict[str, Any], slo: tuple[str, str, dict[str, str]], expected: AlertingRule, tmp_path: Path
) -> None:
    rules = empty_rules()
    FACTORY(config, UTILS).process(request(slo_from(_spec(*slo), tmp_path)), rules)
    assert rules.alerts.rules == (expected,)


@pytest.mark.parametrize(
    "config",
    [
        {"threshold": 0.0, "for": "invalid-duration", "alert_name": "TestAlert"},  # Sloth's load-error case
        {"threshold": "0.1"},
        {"alert_labels": {"a": 1}},
        {"for": 300},
    ],
)
def test_an_invalid_config_fails(config: Any) -> None:
    with pytest.raises(PluginConfigError):
        FACTORY(config, UTILS)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing")
def test_promtool_accepts_the_plan(tmp_path: Path) -> None:
    slo = slo_from(EVENTS_SPEC, tmp_path)
    rules = default_rules(slo)
    before = len(rules.alerts.rules)
    FACTORY({"threshold": 0.05, "alert_labels": {"severity": "info"}}, UTILS).process(request(slo), rules)
    assert len(rules.alerts.rules) == before + 1
    result = promtool_check(rules, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
