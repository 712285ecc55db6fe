"""Promtool test renderer: proves each SLO's generated alerts on Prometheus' own engine.

For every SLO with alerts it writes scenarios that feed the SLI recording series directly (the raw metrics are
absent, so the SLI rules themselves stay silent): each tier fires when both of its windows burn above its factor,
neither window alone fires it, nothing fires just below the lowest tier, and the no-data alert fires when the
metrics vanish. A tier's three scenarios are phases of one promtool test on the same two series (values change
from phase to phase, each phase is checked at its own time), so the file grows with the tiers, not with
scenarios x windows. Expected alerts are computed from the same thresholds Prometheus evaluates, including labels and
expanded annotations, so a wrong factor, window or label fails ``promtool test rules``.

The file is written as text, exactly what ``yamlfmt.dump`` writes for the same tests (its quoting and members,
not rules of our own; tests/codegen/test_rule_tests_text.py compares the two): at 10,000 SLOs the generic
emitter's per-member work and the per-scenario dicts cost more than the tests' content. What does not depend on
the SLO's names and labels (values strings, eval times, who fires) is computed once per shape of SLO, an expected
alert once per SLO and tier, the no-data peers once per file.
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
from codegen.model import SLO, AlertTier, CompileOptions, Severity, WindowCatalog
from codegen.numbers import go_float
from codegen.plan import AlertingRule, RecordingRule, SLOPlan
from codegen.promql import absent_labels
from codegen.promql_check import string_literal
from codegen.yamlfmt import dump, emit_mapping, emit_member, key_prefix, string

INTERVAL = 60  # seconds between input samples and rule evaluations
_PREDICTABLE_ACTION = re.compile(
    r'{{ *(?:(?:\$labels|\.Labels)\.(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)|"(?P<quoted>(?:[^"\\\n]|\\[\\"])*)") *}}'
    r"|{{/\*(?s:.*?)\*/}}"  # a comment prints nothing
)
_OPENS_WITH_CALL = re.compile(r"\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\(")  # a function or aggregation, never a selector
_seconds = lru_cache(maxsize=256)(parse_duration)  # a run has a handful of distinct `for` values
_INTERVAL_LINE = f"  interval: {string(format_duration(INTERVAL))}"


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


def expand(template: str, labels: Mapping[str, str]) -> str | None:
    """Expand ``{{$labels.x}}`` and ``{{"literal"}}``; None when the template uses anything we cannot predict
    (``$value``, functions, trim markers...) or a label ``labels`` lacks."""
    if "{{" not in template:
        return template
    parts = _template_parts(template)
    if parts is None:
        return None
    out: list[str] = []
    for text, label in parts:
        out.append(text)
        if label is not None:
            value = labels.get(label)
            if value is None:
                return None  # "<no value>" or "" depending on Prometheus' missingkey option: not predictable
            out.append(value)
    return "".join(out)


@lru_cache(maxsize=8192)
def _template_parts(template: str) -> tuple[tuple[str, str | None], ...] | None:
    """A template as (text, label to print after it or None) pairs, None when it holds an action we cannot
    predict; cached: annotation templates repeat across an SLO's alerts and across SLOs."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _PREDICTABLE_ACTION.finditer(template):
        text = template[position : match.start()]
        if "{{" in text:
            return None
        label, quoted = match.group("label"), match.group("quoted")
        parts.append((text + _go_unquote(quoted), None) if quoted is not None else (text, label))
        position = match.end()
    rest = template[position:]
    return None if "{{" in rest else (*parts, (rest, None))


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
    labels = dict(rule.labels)
    if group:
        labels.update(group)
    return f"{rule.record}{{{', '.join([_matcher(k, v) for k, v in sorted(labels.items())])}}}"


def groups(slo: SLO) -> tuple[dict[str, str], dict[str, str]]:
    """Two groups of a grouped SLO (every group label set), the one a scenario burns and one that stays healthy."""
    return {label: "burning" for label in slo.grouping}, {label: "healthy" for label in slo.grouping}


def _expected_alerts(rule: AlertingRule, output_labels: dict[str, str]) -> dict[str, dict[str, str]] | None:
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


@dataclass(frozen=True)
class _GroupText:
    """A scenario group's text that does not depend on the SLO's names and labels, only on its windows, budget,
    ``for`` and enabled tiers, so SLOs sharing those share it (the values strings, eval times, who fires)."""

    name: str  # the group's name, after the SLO id
    series: tuple[tuple[int, str], ...]  # (window, the ``values:`` line) per input series
    checks: tuple[tuple[int, str, tuple[Severity, ...]], ...]  # (eval seconds, the ``eval_time`` line, firing)


_ShapeKey = tuple[WindowCatalog, float, int, int, frozenset[Severity]]
_SHAPES: dict[_ShapeKey, tuple[_GroupText, ...]] = {}
_SHAPES_MAX = 4096  # distinct (windows, objective, for, tiers) combinations; real runs have a handful


def _group_texts(slo: SLO, samples: int, check_at: int, enabled: frozenset[Severity]) -> tuple[_GroupText, ...]:
    """The scenario groups as text, computed once per shape: a pure function of the key, so the cache can be
    cleared at any time without changing any output."""
    key: _ShapeKey = (slo.windows, slo.error_budget_ratio, samples, check_at, enabled)
    found = _SHAPES.get(key)
    if found is None:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        tiers = tier_thresholds(slo)
        found = _SHAPES[key] = tuple(
            _GroupText(
                group.name,
                tuple((w, f"    values: {string(_phased_values(group, w, samples))}") for w in group.windows()),
                tuple(
                    (at, f"  - eval_time: {string(format_duration(at))}", tuple(sorted(fired & enabled)))
                    for at, fired in (
                        (i * samples * INTERVAL + check_at, firing_severities(tiers, phase.values))
                        for i, phase in enumerate(group.phases)
                    )
                ),
            )
            for group in scenario_groups(slo)
        )
    return found


def _member(out: list[str], prefix: str, value: str, indent: str) -> None:
    """``prefix value`` exactly as ``yamlfmt`` writes a string member of a mapping at ``indent``."""
    if "\n" in value:
        emit_member(prefix, value, indent + "  ", out, indent)
    else:
        out.append(f"{prefix} {string(value)}")


def _alert_text(alert: dict[str, dict[str, str]]) -> str:
    """One expected alert as an item of ``exp_alerts`` (always at the same depth), as ``yamlfmt`` writes it;
    rendered once per SLO and tier though it is checked wherever the tier fires."""
    lines: list[str] = []
    first = "    - "
    for key, members in alert.items():  # exp_labels, exp_annotations: string to string
        if members:
            lines.append(f"{first}{key}:")
            for name, value in members.items():
                if "\n" in value:
                    _member(lines, key_prefix("        ", name), value, "        ")
                else:  # _member's common case inline: a dozen members per alert, 30,000 alerts at 10,000 SLOs
                    lines.append(f"{key_prefix('        ', name)} {string(value)}")
        else:
            lines.append(f"{first}{key}: {{}}")
        first = "      "
    return "\n".join(lines)


def _alert_checks(out: list[str], alertname: str, checks: Sequence[tuple[str, Sequence[str]]]) -> None:
    """An ``alert_rule_test`` list: (``eval_time`` line, expected alerts' text) per check."""
    out.append("  alert_rule_test:")
    for eval_line, alerts in checks:
        out.append(eval_line)
        out.append(alertname)
        if alerts:
            out.append("    exp_alerts:")
            out.extend(alerts)
        else:
            out.append("    exp_alerts: []")


def _write_slo(
    out: list[str],
    plan: SLOPlan,
    no_data: AlertingRule | None,
    no_data_peers: Mapping[str, Sequence[tuple[int, str | None]]],
) -> None:
    """Append the plan's tests: its burn-rate alerts' scenarios (fed through its SLI recording series), a grouped
    SLO's group test and its no-data alert's test (``no_data``), as ``yamlfmt.dump`` writes items of the
    ``tests`` list."""
    slo = plan.slo
    burn_rules = plan.burn_alerts()  # by tier, whatever their sloth_severity label says
    if not burn_rules:
        return
    rules = plan.alert_rules()
    wait = max([_seconds(r.for_) for r in rules if r.for_] or [0])
    check_at = wait + 3 * INTERVAL  # into a phase: past every `for`, with margin
    samples = check_at // INTERVAL + 2  # per phase: the check sees the phase's own samples, never the next ones
    bad, good = groups(slo)
    sli = _sli_rules(plan)
    windows = slo.windows.windows()
    names = {w: _series_name(sli.get(format_duration(w)), bad) for w in windows}
    series: dict[int, str] = {}
    for window, name in names.items():
        if name is None:
            return  # the plan records no SLI for some alert window: nothing to feed the alerts with
        lines: list[str] = []
        _member(lines, "  - series:", name, "    ")
        series[window] = "\n".join(lines)
    first = sli.get(format_duration(windows[0]))
    series_labels = {k: v for k, v in first.labels if k != LABEL_WINDOW} | bad if first else {}
    alert_name = next(iter(burn_rules.values())).alert
    alertname: list[str] = []
    _member(alertname, "    alertname:", alert_name, "      ")
    alertname_line = "\n".join(alertname)
    # once per tier: every check where a tier fires expects the same alert (labels and expanded annotations)
    expected: dict[Severity, str] = {}
    for severity, rule in burn_rules.items():
        alert = _expected_alerts(rule, series_labels)
        if alert is not None:
            expected[severity] = _alert_text(alert)
    for group in _group_texts(slo, samples, check_at, frozenset(burn_rules)):
        _member(out, "- name:", f"{slo.id}: {group.name}", "  ")
        out.append(_INTERVAL_LINE)
        out.append("  input_series:")
        for window, values in group.series:
            out.append(series[window])
            out.append(values)
        if all(s in expected for _, _, fired in group.checks for s in fired):
            _alert_checks(out, alertname_line, [(at, [expected[s] for s in fired]) for _, at, fired in group.checks])
        else:  # unpredictable annotations: check ALERTS instead
            count = (
                f'count(ALERTS{{alertname="{alert_name}", {LABEL_ID}="{slo.id}", alertstate="firing"}}) or vector(0)'
            )
            checks = [
                {
                    "eval_time": format_duration(at),
                    "expr": count,
                    "exp_samples": [{"labels": "{}", "value": len(fired)}],
                }
                for at, _, fired in group.checks
            ]
            emit_member("  promql_expr_test:", checks, "    ", out, "  ")
    if slo.grouping:
        emit_mapping(_group_test(plan, burn_rules, series_labels, bad, good, samples, check_at), "  ", "- ", out)
    if no_data is not None and no_data.for_:
        _write_no_data(out, slo, no_data, no_data_peers[no_data.alert])


def _write_no_data(out: list[str], slo: SLO, no_data: AlertingRule, peers: Sequence[tuple[int, str | None]]) -> None:
    """Without any input every no-data alert of the rule file fires once its ``for`` has passed: the expected
    alerts at each eval time are this SLO's and those of its ``peers`` (SLOs sharing the alert name), given as
    (``for`` seconds, expected alert's text or None when its annotations are unpredictable)."""
    checks: list[tuple[str, list[str]]] = []
    expressions: list[dict[str, Any]] = []
    wait = _seconds(no_data.for_ or "0s")
    for at in (wait // 2, wait + 2 * INTERVAL):
        firing = [alert for seconds, alert in peers if seconds <= at]
        if any(alert is None for alert in firing):  # unpredictable annotations: count the ALERTS series instead
            expressions.append(
                {
                    "eval_time": format_duration(at),
                    "expr": f'count(ALERTS{{alertname={string_literal(no_data.alert)}, alertstate="firing"}}) '
                    "or vector(0)",
                    "exp_samples": [{"labels": "{}", "value": len(firing)}],
                }
            )
        else:
            checks.append((f"  - eval_time: {string(format_duration(at))}", [a for a in firing if a is not None]))
    _member(out, "- name:", f"{slo.id}: no-data alert fires after {no_data.for_} without SLI metrics", "  ")
    out.append(_INTERVAL_LINE)
    out.append("  input_series: []")
    if checks:
        alertname: list[str] = []
        _member(alertname, "    alertname:", no_data.alert, "      ")
        _alert_checks(out, "\n".join(alertname), checks)
    if expressions:
        emit_member("  promql_expr_test:", expressions, "    ", out, "  ")


@lru_cache(maxsize=4096)
def _absent_labels(presence: str) -> tuple[tuple[str, str], ...]:
    """What ``absent()`` of the SLI's presence selector labels its output with; cached (SLOs sharing a no-data
    alert name are each other's peers). A query opening with a call or aggregation (``sum(rate(...))``, most
    SLIs) is no plain selector, which the parser would only confirm at ~40 us a query."""
    if _OPENS_WITH_CALL.match(presence):
        return ()
    return tuple(absent_labels(f"absent({presence})").items())


def _no_data_peers(no_data: Sequence[tuple[SLOPlan, AlertingRule | None]]) -> dict[str, list[tuple[int, str | None]]]:
    """No-data alerts of one rule file by alert name (SLOs may share an alert name, as in Sloth): each one's
    ``for`` in seconds and its expected alert's text (None when its annotations are unpredictable), computed once
    per file though every peer's test checks them all."""
    found: dict[str, list[tuple[int, str | None]]] = {}
    for plan, rule in no_data:
        if rule is not None and rule.for_:
            # absent() of the SLI's presence selector carries its equality matchers as labels
            alert = _expected_alerts(rule, dict(_absent_labels(presence_query(plan.slo.sli))))
            text = None if alert is None else _alert_text(alert)
            found.setdefault(rule.alert, []).append((_seconds(rule.for_), text))
    return found


def _group_test(
    plan: SLOPlan,
    burn_rules: dict[Severity, AlertingRule],
    bad_labels: dict[str, str],
    bad: dict[str, str],
    good: dict[str, str],
    samples: int,
    eval_seconds: int,
) -> dict[str, Any]:
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
    return test


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
    no_data = [(plan, plan.no_data_alert()) for plan in plans]
    peers = _no_data_peers(no_data)
    tests: list[str] = []
    for plan, rule in no_data:
        _write_slo(tests, plan, rule, peers)
    if not tests:
        return None
    relative = posixpath.relpath(rule_file, posixpath.dirname(test_file) or ".")
    head = dump({"rule_files": [relative], "evaluation_interval": format_duration(INTERVAL)})
    return head + "tests:\n" + "\n".join(tests) + "\n"
