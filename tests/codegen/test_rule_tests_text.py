"""The promtool test renderer writes its text directly; it must equal the generic path it replaced, byte for byte.

The reference below is that path as it was: every test built as a dict (``slo_tests``, ``no_data_test``) and the
file written by ``yamlfmt.dump``, with ``absent_labels`` parsing every presence query. Compared on every spec the
repository has (``slo/``, the plugin examples, Sloth, OpenSLO and Pyrra inputs, as the round-trip tests read
them) with and without ``--sloth-compat``, and on generated SLO names, labels, annotations, objectives and ``for``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen.compiler import CompiledFile, compile_specs
from codegen.conventions import LABEL_ID
from codegen.durations import format_duration, parse_duration
from codegen.errors import SpecErrors
from codegen.lowering import presence_query
from codegen.model import CompileOptions, Severity
from codegen.parse import load_specs
from codegen.plan import AlertingRule, SLOPlan
from codegen.promql import absent_labels
from codegen.promql_check import string_literal
from codegen.rule_tests import (
    INTERVAL,
    _expected_alerts,
    _group_test,
    _phased_values,
    _series_name,
    _sli_rules,
    expand,
    firing_severities,
    groups,
    render_rule_tests,
    scenario_groups,
    tier_thresholds,
)
from codegen.yamlfmt import dump
from tests.codegen.convert.roundtrip import REGISTRY, load
from tests.codegen.convert.test_roundtrip import RUNS, _id


def reference_slo_tests(
    plan: SLOPlan, no_data_peers: Mapping[str, Sequence[tuple[SLOPlan, AlertingRule]]]
) -> list[dict[str, Any]]:
    slo = plan.slo
    burn_rules = plan.burn_alerts()
    if not burn_rules:
        return []
    rules = plan.alert_rules()
    wait = max([parse_duration(r.for_) for r in rules if r.for_] or [0])
    check_at = wait + 3 * INTERVAL
    samples = check_at // INTERVAL + 2
    bad, good = groups(slo)
    sli = _sli_rules(plan)
    names = {w: _series_name(sli.get(format_duration(w)), bad) for w in slo.windows.windows()}
    if any(name is None for name in names.values()):
        return []
    first = sli.get(format_duration(slo.windows.windows()[0]))
    series_labels = {k: v for k, v in first.labels if k != "sloth_window"} | bad if first else {}
    alert_name = next(iter(burn_rules.values())).alert
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
        if any(None in alerts for alerts in predicted):
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
        tests.append(_group_test(plan, burn_rules, series_labels, bad, good, samples, check_at))
    no_data = plan.no_data_alert()
    if no_data is not None and no_data.for_:
        tests.append(reference_no_data_test(plan, no_data, no_data_peers.get(no_data.alert) or [(plan, no_data)]))
    return tests


def reference_no_data_test(
    plan: SLOPlan, no_data: AlertingRule, peers: Sequence[tuple[SLOPlan, AlertingRule]]
) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    expressions: list[dict[str, Any]] = []
    for at in (parse_duration(no_data.for_ or "0s") // 2, parse_duration(no_data.for_ or "0s") + 2 * INTERVAL):
        firing = [(p, rule) for p, rule in peers if parse_duration(rule.for_ or "0s") <= at]
        expected = [_expected_alerts(rule, absent_labels(f"absent({presence_query(p.slo.sli)})")) for p, rule in firing]
        if any(e is None for e in expected):
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
        "name": f"{plan.slo.id}: no-data alert fires after {no_data.for_} without SLI metrics",
        "interval": format_duration(INTERVAL),
        "input_series": [],
    }
    if checks:
        test["alert_rule_test"] = checks
    if expressions:
        test["promql_expr_test"] = expressions
    return test


def reference_render(compiled: CompiledFile, options: CompileOptions, rule_file: str, test_file: str) -> str | None:
    documents = compiled.documents
    loaded = [d for d in documents if d.document.k8s is None]
    if options.sloth_compat:
        loaded = loaded[:1] if documents and documents[0].document.k8s is None else []
    plans = [plan for doc in loaded for plan in doc.plans]
    peers: dict[str, list[tuple[SLOPlan, AlertingRule]]] = {}
    for plan in plans:
        rule = plan.no_data_alert()
        if rule is not None and rule.for_:
            peers.setdefault(rule.alert, []).append((plan, rule))
    tests = [t for plan in plans for t in reference_slo_tests(plan, peers)]
    if not tests:
        return None
    relative = posixpath.relpath(rule_file, posixpath.dirname(test_file) or ".")
    return dump({"rule_files": [relative], "evaluation_interval": format_duration(INTERVAL), "tests": tests})


def assert_same_text(files: Sequence[CompiledFile], options: CompileOptions) -> int:
    """Both renderings of every file under both readings of ``--sloth-compat``; the number of non-empty ones."""
    written = 0
    for compiled in files:
        for opts in (options, replace(options, sloth_compat=not options.sloth_compat)):
            args = (compiled, opts, "alerts/x.yaml", "alerts/tests/x_test.yaml")
            expected = reference_render(*args)
            assert render_rule_tests(*args) == expected
            written += expected is not None
    return written


@pytest.mark.parametrize("run", RUNS, ids=_id)
def test_every_spec_in_the_repository_renders_as_the_generic_path_did(run: Any) -> None:
    compiled = compile_specs(load(run), REGISTRY)
    assert_same_text(compiled.files, compiled.options)


def test_the_repository_specs_exercise_every_branch() -> None:
    """The comparison above is not vacuous: the inputs produce tests, grouped SLOs, no-data peers, and
    unpredictable annotations (checked through ALERTS)."""
    texts = []
    for run in RUNS:
        compiled = compile_specs(load(run), REGISTRY)
        texts += [render_rule_tests(f, compiled.options, "a.yaml", "t.yaml") for f in compiled.files]
    text = "\n".join(t for t in texts if t)
    assert text.count("\n- name: ") > 500
    assert "grouped, only the burning group" in text
    assert "no-data alert fires after" in text
    assert "promql_expr_test:" in text


_TEXT = st.text(  # YAML's hard cases often: line breaks (block literals), quotes, ": ", " #", non-ASCII
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from("\n :#\"'\\{-\t\u2028é"),
    ),
    max_size=12,
)
_LABEL_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: not n.startswith(("sloth_", "slo_")) and n not in ("severity", "tier")
)
_TEMPLATE = st.one_of(
    _TEXT.filter(str.strip),
    st.builds(lambda a, b: f"{a}{{{{ $labels.{b} }}}}", _TEXT, st.sampled_from(["sloth_service", "sloth_slo", "x"])),
    st.builds(lambda a: f'{a} {{{{"lit\\"eral"}}}}\nsecond line', _TEXT),
    st.builds(lambda a: f"{a}\n  indented {{{{ $labels.sloth_id }}}}\n", _TEXT),
    st.builds(lambda a: f"{a} {{{{ $value }}}}", _TEXT),
)

_SLIS: list[dict[str, Any]] = [  # presence queries: an aggregation, a call, a plain selector; a grouped SLI
    {"events": {"error_query": 'sum(rate(e{a="1"}[{{.window}}]))', "total_query": "sum(rate(t[{{.window}}]))"}},
    {"raw": {"error_ratio_query": 'avg_over_time(e{job="x"}[{{.window}}])'}},
    {"latency": {"histogram": "h", "threshold": 0.5, "matchers": 'job="j", x="y"', "buckets": [0.1, 0.5, 1]}},
    {
        "events": {
            "error_query": 'sum by (route) (rate(e{a="1"}[{{.window}}]))',
            "total_query": "sum by (route) (rate(t[{{.window}}]))",
        }
    },
]


@st.composite
def spec_files(draw: st.DrawFn) -> str:
    """A prometheus/v1 spec with generated names, labels, annotations, objectives, ``for`` and no-data alerts;
    the two SLOs of a file may share their alert names (no-data peers)."""
    shared = draw(st.booleans())
    slos = []
    for index in range(draw(st.integers(1, 2))):
        alerting: dict[str, Any] = {
            "name": "Shared" if shared else f"Alert{index}",
            "labels": draw(st.dictionaries(_LABEL_NAME, _TEMPLATE, max_size=2)),
            "annotations": draw(st.dictionaries(_LABEL_NAME, _TEMPLATE, max_size=2)),
            "page_alert": {"for": draw(st.sampled_from(["1m", "5m", "1h"]))} if draw(st.booleans()) else {},
            "ticket_alert": {"disable": True} if draw(st.booleans()) else {},
        }
        if draw(st.booleans()):
            alerting["no_data_alert"] = {"for": draw(st.sampled_from(["2m", "4m", "8m", "10m"]))}
        slo: dict[str, Any] = {
            "name": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)) + f"-{index}",
            "objective": draw(st.sampled_from([90, 95, 99, 99.5, 99.9, 99.95, 99.99])),
            "description": draw(_TEXT),
            "labels": draw(st.dictionaries(_LABEL_NAME, _TEXT.filter(str.strip), max_size=3)),
            "sli": draw(st.sampled_from(_SLIS[:3])),
            "alerting": alerting,
        }
        if draw(st.booleans()):
            slo["sli"], slo["grouping"] = _SLIS[3], ["route"]
        slos.append(slo)
    service = draw(st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True))
    return yaml.safe_dump({"version": "prometheus/v1", "service": service, "slos": slos}, allow_unicode=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec_files())
def test_generated_specs_render_as_the_generic_path_did(tmp_path: Path, spec: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec, encoding="utf-8")
    try:
        compiled = compile_specs(load_specs(str(path)))
    except SpecErrors:
        return  # an input the validator refuses has no tests to render
    assert_same_text(compiled.files, compiled.options)


_ACTION = re.compile(
    r'{{ *(?:(?:\$labels|\.Labels)\.(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)|"(?P<quoted>(?:[^"\\\n]|\\[\\"])*)") *}}'
    r"|{{/\*(?s:.*?)\*/}}"
)


def reference_expand(template: str, labels: dict[str, str]) -> str | None:
    """``expand`` as it was: the template scanned on every call."""
    out: list[str] = []
    position = 0
    for match in _ACTION.finditer(template):
        text = template[position : match.start()]
        if "{{" in text:
            return None
        out.append(text)
        label, quoted = match.group("label"), match.group("quoted")
        if label is not None and label not in labels:
            return None
        if label is not None:
            out.append(labels[label])
        elif quoted is not None:
            out.append(re.sub(r'\\([\\"])', r"\1", quoted))
        position = match.end()
    rest = template[position:]
    return None if "{{" in rest else "".join(out) + rest


_PIECES = st.sampled_from(
    ["{{$labels.a}}", "{{ .Labels.b }}", '{{"q\\"x\\\\"}}', "{{/* c */}}", "{{ $value }}", "{{", "}}", "{{-", "a", " "]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_PIECES, _TEXT), max_size=6).map("".join), st.dictionaries(st.sampled_from("ab"), _TEXT))
def test_expand_with_its_cached_template_parts_equals_the_scan_per_call(template: str, labels: dict[str, str]) -> None:
    assert expand(template, labels) == reference_expand(template, labels)
