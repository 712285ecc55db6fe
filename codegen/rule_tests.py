"""Promtool test renderer: proves each SLO's generated alerts on Prometheus' own engine.

For every SLO with alerts it writes scenarios that feed the SLI recording series directly (the raw metrics are
absent, so the SLI rules themselves stay silent): each tier fires when both of its windows burn above its factor,
neither window alone fires it, nothing fires just below the lowest tier, and the no-data alert fires when the
metrics vanish. A tier's three scenarios are phases of one promtool test on the same two series (values change
from phase to phase, each phase is checked at its own time), so the file grows with the tiers, not with
scenarios x windows. Expected alerts are computed from the same thresholds Prometheus evaluates, including labels and
expanded annotations, so a wrong factor, window or label fails ``promtool test rules``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from codegen.compiler import CompiledFile
from codegen.conventions import LABEL_ID, LABEL_SEVERITY, LABEL_WINDOW
from codegen.durations import format_duration, parse_duration
from codegen.lowering import presence_query
from codegen.model import SLO, AlertTier, CompileOptions, Severity
from codegen.numbers import go_float
from codegen.plan import AlertingRule, RecordingRule, SLOPlan
from codegen.promql import absent_labels
from codegen.promql_check import string_literal
from codegen.yamlfmt import dump

INTERVAL = 60  # seconds between input samples and rule evaluations
_PREDICTABLE_ACTION = re.compile(
    r'{{ *(?:(?:\$labels|\.Labels)\.(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)|"(?P<quoted>(?:[^"\\\n]|\\[\\"])*)") *}}'
    r"|{{/\*(?s:.*?)\*/}}"  # a comment prints nothing
)


@dataclass(frozen=True)
class Scenario:
    name: str
    values: dict[int, float]  # window seconds -> constant error ratio; missing windows have no series


@dataclass(frozen=True)
class ScenarioGroup:
    """Scenarios played one after the other on the same input series (one promtool test): the series are
    written once, their values change from phase to phase, and each phase is checked at its own time."""

    name: str
    phases: tuple[Scenario, ...]

    def windows(self) -> list[int]:
        return sorted({w for phase in self.phases for w in phase.values})


def threshold(slo: SLO, tier: AlertTier) -> float:
    """The float Prometheus compares against: ``burn_factor * error_budget`` (same operands, same order)."""
    return tier.burn_factor * slo.error_budget_ratio


def tier_thresholds(slo: SLO) -> list[tuple[AlertTier, float]]:
    """Every tier with its threshold, computed once per SLO (each scenario phase is checked against all)."""
    return [(tier, threshold(slo, tier)) for tier in slo.windows.tiers]


def firing_severities(tiers: Sequence[tuple[AlertTier, float]], values: dict[int, float]) -> set[Severity]:
    """Severities whose alert condition holds for constant ratios ``values`` (the model of ``mwmb_expr``)."""
    fired: set[Severity] = set()
    for tier, limit in tiers:
        short, long = values.get(tier.short_window), values.get(tier.long_window)
        if short is not None and long is not None and short > limit and long > limit:
            fired.add(tier.severity)
    return fired


def scenario_groups(slo: SLO) -> list[ScenarioGroup]:
    """One group per tier (fires with both windows above its factor, then neither window alone fires it: only the
    tier's two windows have series, an absent series compares like a zero one), and one group just below the
    lowest tier on every window."""
    windows = slo.windows.windows()
    out: list[ScenarioGroup] = []
    for tier in slo.windows.tiers:
        burn = min(threshold(slo, tier) * 1.1, 1.0)
        factor = go_float(round(tier.burn_factor, 4))
        out.append(
            ScenarioGroup(
                f"{tier.name} fires: {tier.short} and {tier.long} burn above {factor}x; it needs both windows",
                (
                    Scenario(
                        f"{tier.short} and {tier.long} above {factor}x",
                        {tier.short_window: burn, tier.long_window: burn},
                    ),
                    Scenario(f"only {tier.short} above {factor}x", {tier.long_window: 0.0, tier.short_window: burn}),
                    Scenario(f"only {tier.long} above {factor}x", {tier.short_window: 0.0, tier.long_window: burn}),
                ),
            )
        )
    lowest = min(threshold(slo, t) for t in slo.windows.tiers)
    below = "nothing fires just below the lowest tier (0.9x its threshold on every window)"
    out.append(ScenarioGroup(below, (Scenario(below, {w: lowest * 0.9 for w in windows}),)))
    return out


def expand(template: str, labels: dict[str, str]) -> str | None:
    """Expand ``{{$labels.x}}`` and ``{{"literal"}}``; None when the template uses anything we cannot predict
    (``$value``, functions, trim markers...)."""
    out: list[str] = []
    position = 0
    for match in _PREDICTABLE_ACTION.finditer(template):
        text = template[position : match.start()]
        if "{{" in text:
            return None
        out.append(text)
        label, quoted = match.group("label"), match.group("quoted")
        if label is not None and label not in labels:
            return None  # "<no value>" or "" depending on Prometheus' missingkey option: not predictable
        if label is not None:
            out.append(labels[label])
        elif quoted is not None:
            out.append(_go_unquote(quoted))
        position = match.end()
    rest = template[position:]
    return None if "{{" in rest else "".join(out) + rest


def _go_unquote(body: str) -> str:
    """The value of a Go double-quoted string body holding only ``\\`` and ``\"`` escapes (what we emit)."""
    return re.sub(r'\\([\\"])', r"\1", body)


def _fmt(value: float) -> str:
    text = f"{value:.15f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _sli_rules(plan: SLOPlan) -> dict[str, RecordingRule]:
    """The plan's SLI recording of each window (the first, as ``SLOPlan.sli_rule`` finds it), in one pass."""
    found: dict[str, RecordingRule] = {}
    for rule in plan.sli_rules():
        if rule.window is not None:
            found.setdefault(rule.window, rule)
    return found


@lru_cache(maxsize=4096)
def _matcher(name: str, value: str) -> str:
    """``name="value"``; cached: an SLO's labels repeat in the series of every one of its windows."""
    return f"{name}={string_literal(value)}"


def _series_name(rule: RecordingRule | None, group: dict[str, str] | None = None) -> str | None:
    """The SLI recording's series exactly as the plan records it (name and labels, values escaped), plus a
    grouped SLO's group labels (the lowered queries keep them)."""
    if rule is None:
        return None
    labels = sorted({**dict(rule.labels), **(group or {})}.items())
    body = ", ".join(_matcher(k, v) for k, v in labels)
    return f"{rule.record}{{{body}}}"


def groups(slo: SLO) -> tuple[dict[str, str], dict[str, str]]:
    """Two groups of a grouped SLO (every group label set), the one a scenario burns and one that stays healthy."""
    return {label: "burning" for label in slo.grouping}, {label: "healthy" for label in slo.grouping}


def _expected_alerts(rule: AlertingRule, output_labels: dict[str, str]) -> dict[str, Any] | None:
    labels = dict(output_labels)
    for key, value in rule.labels:  # alert label values are templates too
        expanded_label = expand(value, output_labels)
        if expanded_label is None:
            return None
        if expanded_label:
            labels[key] = expanded_label
        else:  # Prometheus drops a label whose value expands to nothing
            labels.pop(key, None)
    annotations: dict[str, str] = {}
    for key, value in rule.annotations:
        expanded = expand(value, output_labels)
        if not expanded:
            return None
        annotations[key] = expanded
    return {"exp_labels": labels, "exp_annotations": annotations}


def _phased_values(group: ScenarioGroup, window: int, samples: int) -> str:
    """Promtool's expanding notation for one series over every phase: ``axN`` is N+1 samples of ``a``, and equal
    neighbouring phases merge into one run."""
    runs: list[list[Any]] = []
    for phase in group.phases:
        value = phase.values.get(window, 0.0)
        if runs and runs[-1][0] == value:
            runs[-1][1] += samples
        else:
            runs.append([value, samples])
    return " ".join(f"{_fmt(value)}x{count - 1}" for value, count in runs)


def slo_tests(
    plan: SLOPlan, no_data_peers: Mapping[str, Sequence[tuple[SLOPlan, AlertingRule]]] | None = None
) -> list[dict[str, Any]]:
    """Scenarios for the plan's burn-rate alerts (fed through its SLI recording series) and its no-data alert."""
    slo = plan.slo
    burn_rules = plan.burn_alerts()  # by tier, whatever their sloth_severity label says
    if not burn_rules:
        return []
    rules = plan.alert_rules()
    wait = max([parse_duration(r.for_) for r in rules if r.for_] or [0])
    check_at = wait + 3 * INTERVAL  # into a phase: past every `for`, with margin
    samples = check_at // INTERVAL + 2  # per phase: the check sees the phase's own samples, never the next ones
    bad, good = groups(slo)
    sli = _sli_rules(plan)
    names = {w: _series_name(sli.get(format_duration(w)), bad) for w in slo.windows.windows()}
    if any(name is None for name in names.values()):
        return []  # the plan records no SLI for some alert window: nothing to feed the alerts with
    first = sli.get(format_duration(slo.windows.windows()[0]))
    series_labels = {k: v for k, v in first.labels if k != LABEL_WINDOW} | bad if first else {}
    alert_name = next(iter(burn_rules.values())).alert
    # once per tier: every check where a tier fires expects the same alert (labels and expanded annotations)
    expected_alert = {severity: _expected_alerts(rule, series_labels) for severity, rule in burn_rules.items()}
    tests: list[dict[str, Any]] = []
    tiers = tier_thresholds(slo)
    for group in scenario_groups(slo):
        checks: list[tuple[int, set[Severity]]] = [
            (i * samples * INTERVAL + check_at, firing_severities(tiers, phase.values) & set(burn_rules))
            for i, phase in enumerate(group.phases)
        ]
        predicted = [[expected_alert[s] for s in sorted(fired)] for _, fired in checks]
        expected = [[a for a in alerts if a is not None] for alerts in predicted]
        test: dict[str, Any] = {
            "name": f"{slo.id}: {group.name}",
            "interval": format_duration(INTERVAL),
            "input_series": [
                {"series": names[w], "values": _phased_values(group, w, samples)} for w in group.windows()
            ],
        }
        if any(None in alerts for alerts in predicted):  # unpredictable annotations: check ALERTS instead
            test["promql_expr_test"] = [
                {
                    "eval_time": format_duration(at),
                    "expr": f'count(ALERTS{{alertname="{alert_name}", {LABEL_ID}="{slo.id}", '
                    f'alertstate="firing"}}) or vector(0)',
                    "exp_samples": [{"labels": "{}", "value": len(fired)}],
                }
                for at, fired in checks
            ]
        else:
            test["alert_rule_test"] = [
                {"eval_time": format_duration(at), "alertname": alert_name, "exp_alerts": exp}
                for (at, _), exp in zip(checks, expected, strict=True)
            ]
        tests.append(test)
    if slo.grouping:
        tests.extend(_group_tests(plan, burn_rules, series_labels, bad, good, samples, check_at))
    no_data = plan.no_data_alert()
    if no_data is not None and no_data.for_:
        peers = (no_data_peers or {}).get(no_data.alert) or [(plan, no_data)]
        tests.append(no_data_test(slo, no_data, peers))
    return tests


def no_data_test(slo: SLO, no_data: AlertingRule, peers: Sequence[tuple[SLOPlan, AlertingRule]]) -> dict[str, Any]:
    """Without any input every no-data alert of the rule file fires once its ``for`` has passed: the expected
    alerts at each eval time are this SLO's and those of its ``peers`` (SLOs sharing the alert name)."""
    checks: list[dict[str, Any]] = []
    expressions: list[dict[str, Any]] = []
    for at in (parse_duration(no_data.for_ or "0s") // 2, parse_duration(no_data.for_ or "0s") + 2 * INTERVAL):
        firing = [(p, rule) for p, rule in peers if parse_duration(rule.for_ or "0s") <= at]
        # absent() of the SLI's presence selector carries its equality matchers as labels
        expected = [_expected_alerts(rule, absent_labels(f"absent({presence_query(p.slo.sli)})")) for p, rule in firing]
        if any(e is None for e in expected):  # unpredictable annotations: count the ALERTS series instead
            expressions.append(
                {
                    "eval_time": format_duration(at),
                    "expr": f'count(ALERTS{{alertname={string_literal(no_data.alert)}, alertstate="firing"}}) '
                    "or vector(0)",
                    "exp_samples": [{"labels": "{}", "value": len(firing)}],
                }
            )
        else:
            checks.append({"eval_time": format_duration(at), "alertname": no_data.alert, "exp_alerts": expected})
    test: dict[str, Any] = {
        "name": f"{slo.id}: no-data alert fires after {no_data.for_} without SLI metrics",
        "interval": format_duration(INTERVAL),
        "input_series": [],
    }
    if checks:
        test["alert_rule_test"] = checks
    if expressions:
        test["promql_expr_test"] = expressions
    return test


def _no_data_rules(plans: Sequence[SLOPlan]) -> dict[str, list[tuple[SLOPlan, AlertingRule]]]:
    """No-data alerts of one rule file by alert name (SLOs may share an alert name, as in Sloth)."""
    found: dict[str, list[tuple[SLOPlan, AlertingRule]]] = {}
    for plan in plans:
        rule = plan.no_data_alert()
        if rule is not None and rule.for_:
            found.setdefault(rule.alert, []).append((plan, rule))
    return found


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
    sli = _sli_rules(plan)
    series = [
        {"series": _series_name(sli.get(format_duration(w)), labels), "values": f"{_fmt(value)}x{samples}"}
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
    peers = _no_data_rules(plans)
    tests = [t for plan in plans for t in slo_tests(plan, peers)]
    if not tests:
        return None
    relative = posixpath.relpath(rule_file, posixpath.dirname(test_file) or ".")
    body = {"rule_files": [relative], "evaluation_interval": format_duration(INTERVAL), "tests": tests}
    return dump(body)
