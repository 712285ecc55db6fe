"""Promtool test renderer: proves each SLO's generated alerts on Prometheus' own engine.

For every SLO with alerts it writes scenarios that feed the SLI recording series directly (the raw metrics are
absent, so the SLI rules themselves stay silent): each tier fires when both of its windows burn above its factor,
neither window alone fires it, nothing fires just below the lowest tier, and the no-data alert fires when the
metrics vanish. Expected alerts are computed from the same thresholds Prometheus evaluates, including labels and
expanded annotations, so a wrong factor, window or label fails ``promtool test rules``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codegen.compiler import CompiledFile
from codegen.conventions import LABEL_ID, LABEL_SEVERITY, LABEL_WINDOW
from codegen.durations import format_duration, parse_duration
from codegen.lowering import presence_query
from codegen.model import SLO, AlertTier, CompileOptions, Severity
from codegen.numbers import go_float
from codegen.plan import AlertingRule, SLOPlan
from codegen.promql import absent_labels
from codegen.yamlfmt import dump

INTERVAL = 60  # seconds between input samples and rule evaluations
_LABEL_TEMPLATE = re.compile(r"{{\s*(?:\$labels|\.Labels)\.([a-zA-Z_][a-zA-Z0-9_]*)\s*}}")


@dataclass(frozen=True)
class Scenario:
    name: str
    values: dict[int, float]  # window seconds -> constant error ratio; missing windows have no series


def threshold(slo: SLO, tier: AlertTier) -> float:
    """The float Prometheus compares against: ``burn_factor * error_budget`` (same operands, same order)."""
    return tier.burn_factor * slo.error_budget_ratio


def firing_severities(slo: SLO, values: dict[int, float]) -> set[Severity]:
    """Severities whose alert condition holds for constant ratios ``values`` (the model of ``mwmb_expr``)."""
    fired: set[Severity] = set()
    for tier in slo.windows.tiers:
        limit = threshold(slo, tier)
        short, long = values.get(tier.short_window), values.get(tier.long_window)
        if short is not None and long is not None and short > limit and long > limit:
            fired.add(tier.severity)
    return fired


def scenarios(slo: SLO) -> list[Scenario]:
    windows = slo.windows.windows()
    out: list[Scenario] = []
    for tier in slo.windows.tiers:
        burn = min(threshold(slo, tier) * 1.1, 1.0)
        factor = go_float(round(tier.burn_factor, 4))
        both = {w: 0.0 for w in windows} | {tier.short_window: burn, tier.long_window: burn}
        out.append(Scenario(f"{tier.name} fires: {tier.short} and {tier.long} burn above {factor}x", both))
        out.append(
            Scenario(
                f"{tier.name} needs both windows: only {tier.short} above {factor}x",
                {w: 0.0 for w in windows} | {tier.short_window: burn},
            )
        )
        out.append(
            Scenario(
                f"{tier.name} needs both windows: only {tier.long} above {factor}x",
                {w: 0.0 for w in windows} | {tier.long_window: burn},
            )
        )
    lowest = min(threshold(slo, t) for t in slo.windows.tiers)
    out.append(
        Scenario(
            "nothing fires just below the lowest tier (0.9x its threshold on every window)",
            {w: lowest * 0.9 for w in windows},
        )
    )
    return out


def expand(template: str, labels: dict[str, str]) -> str | None:
    """Expand ``{{$labels.x}}``; None when the template uses anything we cannot predict (``$value``...)."""
    text = _LABEL_TEMPLATE.sub(lambda m: labels.get(m.group(1), "<no value>"), template)
    return None if "{{" in text else text


def _fmt(value: float) -> str:
    text = f"{value:.15f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _series_name(plan: SLOPlan, window: int, group: dict[str, str] | None = None) -> str | None:
    """The SLI recording's series for ``window`` exactly as the plan records it (name and labels), plus a grouped
    SLO's group labels (the lowered queries keep them)."""
    rule = plan.sli_rule(format_duration(window))
    if rule is None:
        return None
    body = ", ".join(f'{k}="{v}"' for k, v in sorted({**dict(rule.labels), **(group or {})}.items()))
    return f"{rule.record}{{{body}}}"


def groups(slo: SLO) -> tuple[dict[str, str], dict[str, str]]:
    """Two groups of a grouped SLO (every group label set), the one a scenario burns and one that stays healthy."""
    return {label: "burning" for label in slo.grouping}, {label: "healthy" for label in slo.grouping}


def _expected_alerts(rule: AlertingRule, output_labels: dict[str, str]) -> dict[str, Any] | None:
    labels = {**output_labels, **dict(rule.labels)}
    annotations: dict[str, str] = {}
    for key, value in rule.annotations:
        expanded = expand(value, output_labels)
        if expanded is None:
            return None
        annotations[key] = expanded
    return {"exp_labels": labels, "exp_annotations": annotations}


def slo_tests(plan: SLOPlan, peers: Sequence[SLOPlan] = ()) -> list[dict[str, Any]]:
    """Scenarios for the plan's burn-rate alerts (fed through its SLI recording series) and its no-data alert.

    ``peers`` are the other SLOs loaded with it: without input every no-data alert of the file fires, so those
    sharing the alert name (Pyrra names every SLO's alert ``ErrorBudgetBurn``) are expected too.
    """
    slo = plan.slo
    burn_rules = plan.burn_alerts()  # by tier, whatever their sloth_severity label says
    if not burn_rules:
        return []
    rules = plan.alert_rules()
    wait = max([parse_duration(r.for_) for r in rules if r.for_] or [0])
    eval_seconds = wait + 5 * INTERVAL
    samples = eval_seconds // INTERVAL + 5
    bad, good = groups(slo)
    names = {w: _series_name(plan, w, bad) for w in slo.windows.windows()}
    if any(name is None for name in names.values()):
        return []  # the plan records no SLI for some alert window: nothing to feed the alerts with
    first = plan.sli_rule(format_duration(slo.windows.windows()[0]))
    series_labels = {k: v for k, v in first.labels if k != LABEL_WINDOW} | bad if first else {}
    alert_name = next(iter(burn_rules.values())).alert
    tests: list[dict[str, Any]] = []
    for scenario in scenarios(slo):
        fired = firing_severities(slo, scenario.values) & set(burn_rules)
        expected: list[dict[str, Any]] | None = []
        for severity in sorted(fired):
            exp = _expected_alerts(burn_rules[severity], series_labels)
            if exp is None or expected is None:
                expected = None
                break
            expected.append(exp)
        test: dict[str, Any] = {
            "name": f"{slo.id}: {scenario.name}",
            "interval": format_duration(INTERVAL),
            "input_series": [
                {"series": names[w], "values": f"{_fmt(v)}x{samples}"} for w, v in sorted(scenario.values.items())
            ],
        }
        if expected is None:  # unpredictable annotations: check the ALERTS series instead
            test["promql_expr_test"] = [
                {
                    "eval_time": format_duration(eval_seconds),
                    "expr": f'count(ALERTS{{alertname="{alert_name}", {LABEL_ID}="{slo.id}", '
                    f'alertstate="firing"}}) or vector(0)',
                    "exp_samples": [{"labels": "{}", "value": len(fired)}],
                }
            ]
        else:
            test["alert_rule_test"] = [
                {"eval_time": format_duration(eval_seconds), "alertname": alert_name, "exp_alerts": expected}
            ]
        tests.append(test)
    if slo.grouping:
        tests.extend(_group_tests(plan, burn_rules, series_labels, bad, good, samples, eval_seconds))
    no_data = plan.no_data_alert()
    if no_data is not None and no_data.for_:
        at = parse_duration(no_data.for_) + 2 * INTERVAL
        same = [
            (p, r)
            for p in (plan, *(p for p in peers if p is not plan))
            if (r := p.no_data_alert()) is not None and r.alert == no_data.alert and r.for_ == no_data.for_
        ]
        expected_no_data = [
            e
            for p, r in same
            if (e := _expected_alerts(r, absent_labels(f"absent({presence_query(p.slo.sli)})"))) is not None
        ]
        tests.append(
            {
                "name": f"{slo.id}: no-data alert fires after {no_data.for_} without SLI metrics",
                "interval": format_duration(INTERVAL),
                "input_series": [],
                "alert_rule_test": [
                    {
                        "eval_time": format_duration(parse_duration(no_data.for_) // 2),
                        "alertname": no_data.alert,
                        "exp_alerts": [],
                    },
                    {"eval_time": format_duration(at), "alertname": no_data.alert, "exp_alerts": expected_no_data},
                ],
            }
        )
    return tests


def _group_tests(
    plan: SLOPlan,
    burn_rules: dict[Severity, AlertingRule],
    bad_labels: dict[str, str],
    bad: dict[str, str],
    good: dict[str, str],
    samples: int,
    eval_seconds: int,
) -> list[dict[str, Any]]:
    """A grouped SLO: one group burns every window above every tier, the other burns nothing; the alerts fire
    with the burning group's labels only (the healthy group's series are there, so its silence is proven)."""
    slo = plan.slo
    windows = slo.windows.windows()
    burn = min(max(threshold(slo, t) for t in slo.windows.tiers) * 1.1, 1.0)
    series = [
        {"series": _series_name(plan, w, labels), "values": f"{_fmt(value)}x{samples}"}
        for w in windows
        for labels, value in ((bad, burn), (good, 0.0))
    ]
    group_text = ", ".join(f"{k}={v}" for k, v in bad.items())
    alert_name = next(iter(burn_rules.values())).alert
    by_labels = ", ".join((*slo.grouping, LABEL_SEVERITY))
    test: dict[str, Any] = {
        "name": f"{slo.id}: grouped, only the burning group ({group_text}) fires",
        "interval": format_duration(INTERVAL),
        "input_series": series,
        "promql_expr_test": [
            {
                "eval_time": format_duration(eval_seconds),
                "expr": f'count by ({by_labels}) (ALERTS{{alertname="{alert_name}", {LABEL_ID}="{slo.id}", '
                'alertstate="firing"})',
                "exp_samples": [
                    {
                        "labels": "{"
                        + ", ".join(
                            f'{k}="{v}"' for k, v in sorted({**bad, LABEL_SEVERITY: severity_label(rule)}.items())
                        )
                        + "}",
                        "value": 1,
                    }
                    for _, rule in sorted(burn_rules.items())
                ],
            }
        ],
    }
    expected = [_expected_alerts(rule, bad_labels) for _, rule in sorted(burn_rules.items())]
    if all(e is not None for e in expected):
        test["alert_rule_test"] = [
            {"eval_time": format_duration(eval_seconds), "alertname": alert_name, "exp_alerts": expected}
        ]
    return [test]


def severity_label(rule: AlertingRule) -> str:
    return dict(rule.labels).get(LABEL_SEVERITY, "")


def render_rule_tests(compiled: CompiledFile, options: CompileOptions, rule_file: str, test_file: str) -> str | None:
    """A promtool test file for every SLO with alerts in the file; None when there is nothing to prove."""
    # Only what Prometheus loads from the rule file: PrometheusRule objects are not rule files, and with
    # --sloth-compat a multi-document file is loaded up to its first document only.
    documents = compiled.documents
    loaded = [d for d in documents if d.document.k8s is None]
    if options.sloth_compat:
        loaded = loaded[:1] if documents and documents[0].document.k8s is None else []
    plans = [plan for doc in loaded for plan in doc.plans]
    tests = [t for plan in plans for t in slo_tests(plan, plans)]
    if not tests:
        return None
    relative = posixpath.relpath(rule_file, posixpath.dirname(test_file) or ".")
    body = {"rule_files": [relative], "evaluation_interval": format_duration(INTERVAL), "tests": tests}
    return dump(body)
