"""sloth.dev/contrib/denominator_corrected_rules/v1: the cases of Sloth's plugin_test.go, plus promtool."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.model import EventsSLI
from codegen.plan import RecordingRule
from codegen.slo_plugins.api import PluginConfigError, PluginProcessError
from codegen.slo_plugins.contrib import CONTRIB_FACTORIES
from codegen.slo_plugins.contrib.denominator_corrected_rules import SLO_PLUGIN_ID
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
ERR = 'sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))'
TOT = 'sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))'
SPEC = f"""version: "prometheus/v1"
service: "svc01"
labels: {{global01k1: global01v1}}
slos:
  - name: "slo1"
    objective: 99.9
    labels: {{global02k1: global02v1}}
    sli: {{events: {{error_query: '{ERR}', total_query: '{TOT}'}}}}
    alerting: {{page_alert: {{disable: true}}, ticket_alert: {{disable: true}}}}
"""
WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
IDS = 'sloth_id="svc01-slo1", sloth_service="svc01", sloth_slo="slo1"'
LABELS = {"global01k1": "global01v1", "global02k1": "global02v1", "sloth_id": "svc01-slo1"}
LABELS |= {"sloth_service": "svc01", "sloth_slo": "slo1"}


def _render(template: str, window: str) -> str:
    return template.replace("{{.window}}", window)


def _expected_sli(optimized: bool) -> list[RecordingRule]:
    rules = [
        RecordingRule(
            f"slo:sli_error:ratio_rate{w}",
            f"(\nslo:numerator_correction:ratio{w}{{{IDS}}}\n* on()\n{_render(ERR, w)}\n)\n/\n({_render(TOT, w)})\n",
            tuple(sorted({**LABELS, "sloth_window": w}.items())),
        )
        for w in WINDOWS
    ]
    period = (
        f"sum_over_time(slo:sli_error:ratio_rate5m{{{IDS}}}[30d])\n/ ignoring (sloth_window)\n"
        f"count_over_time(slo:sli_error:ratio_rate5m{{{IDS}}}[30d])\n"
        if optimized
        else f"({_render(ERR, '30d')})\n/\n({_render(TOT, '30d')})\n"
    )
    rules.append(
        RecordingRule("slo:sli_error:ratio_rate30d", period, tuple(sorted({**LABELS, "sloth_window": "30d"}.items())))
    )
    return rules


@pytest.mark.parametrize("optimized", [False, True], ids=["not optimized", "optimized"])
def test_rules_for_an_events_slo(optimized: bool, tmp_path: Path) -> None:
    rules = empty_rules()
    plugin = FACTORY({"disableOptimized": not optimized} if not optimized else None, UTILS)
    plugin.process(request(slo_from(SPEC, tmp_path)), rules)
    got = [(r.record, r.expr, r.labels) for r in rules.sli_recordings.rules if isinstance(r, RecordingRule)]
    assert got == [(r.record, r.expr, r.labels) for r in _expected_sli(optimized)]
    meta = [(r.record, r.expr, dict(r.labels)) for r in rules.meta_recordings.rules if isinstance(r, RecordingRule)]
    assert meta == [
        (f"slo:numerator_correction:ratio{w}", f"({_render(TOT, w)})/({_render(TOT, '30d')})", LABELS) for w in WINDOWS
    ]


def test_a_raw_sli_fails(tmp_path: Path) -> None:
    spec = SPEC.replace(
        f"{{events: {{error_query: '{ERR}', total_query: '{TOT}'}}}}",
        "{raw: {error_ratio_query: 'rate(my_metric[{{.window}}])'}}",
    )
    with pytest.raises(PluginProcessError, match="events SLI"):
        FACTORY(None, UTILS).process(request(slo_from(spec, tmp_path)), empty_rules())


@pytest.mark.parametrize(
    "error_query",
    ['rate(my_metric[{{}.window}}]{error="true"})', 'rate(my_metric[{{.Window}}]{error="true"})'],
    ids=["invalid expression", "wrong variable"],
)
def test_a_broken_template_fails(error_query: str, tmp_path: Path) -> None:
    import dataclasses

    slo = slo_from(SPEC, tmp_path)  # the parser refuses such a template, so build the SLO a plugin could see
    slo = dataclasses.replace(slo, sli=EventsSLI(error_query, "rate(my_metric[{{.window}}])"))
    with pytest.raises(PluginProcessError, match="template"):
        FACTORY({"disableOptimized": True}, UTILS).process(request(slo), empty_rules())


def test_an_invalid_config_fails() -> None:
    with pytest.raises(PluginConfigError):
        FACTORY({"disableOptimized": "yes"}, UTILS)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing")
@pytest.mark.parametrize("disable_optimized", [False, True])
def test_promtool_accepts_the_plan(disable_optimized: bool, tmp_path: Path) -> None:
    slo = slo_from(SPEC, tmp_path)
    rules = default_rules(slo)
    FACTORY({"disableOptimized": disable_optimized}, UTILS).process(request(slo), rules)
    assert any(
        r.record.startswith("slo:numerator_correction:")
        for r in rules.meta_recordings.rules
        if isinstance(r, RecordingRule)
    )
    result = promtool_check(rules, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
