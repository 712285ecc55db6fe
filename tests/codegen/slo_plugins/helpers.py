"""Shared by the SLO plugin tests: an SLO from spec text, the default Sloth plan for it, and promtool on a plan."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from codegen.compiler import compile_slo
from codegen.model import SLO, CompileOptions
from codegen.parse import load_specs
from codegen.plan import RuleGroup, SLORules
from codegen.rulefiles import groups_dict
from codegen.slo_plugins.api import PluginRequest, PluginUtils
from codegen.slo_plugins.chain import Chain
from codegen.slo_plugins.registry import builtin_registry

PROMTOOL = shutil.which("promtool")
UTILS = PluginUtils(logger=logging.getLogger("slogen.test.plugins"))
COMPAT = CompileOptions(sloth_compat=True)

EVENTS_SPEC = """version: "prometheus/v1"
service: "svc01"
labels: {global01k1: global01v1}
slos:
  - name: "slo1"
    objective: 99.9
    labels: {global02k1: global02v1}
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      page_alert: {labels: {tier: "1"}}
      ticket_alert: {labels: {tier: "2"}}
"""


def slo_from(spec: str, tmp_path: Path, options: CompileOptions = COMPAT) -> SLO:
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    return load_specs(str(path), options).slos[0]


def request(slo: SLO, options: CompileOptions = COMPAT) -> PluginRequest:
    return PluginRequest(slo=slo, options=options, spec_kind=slo.spec_kind)


def empty_rules() -> SLORules:
    return SLORules(RuleGroup("sli", ()), RuleGroup("meta", ()), RuleGroup("alerts", ()))


def default_rules(slo: SLO, options: CompileOptions = COMPAT) -> SLORules:
    """Sloth's default chain output (validate, sli_rules, metadata_rules, alert_rules) for ``slo``."""
    plan = compile_slo(slo, slo.spec_kind, Chain(builtin_registry(), options))
    return SLORules(plan.sli_recordings, plan.meta_recordings, plan.alerts, list(plan.extra_groups))


def rule_file(rules: SLORules) -> dict[str, Any]:
    """The plan as a Prometheus rule file, by the rule-file renderer (with each group's ``interval``)."""
    return {"groups": groups_dict(rules.groups())}


def promtool_check(rules: SLORules, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``promtool check rules`` on the plan rendered as a rule file."""
    assert PROMTOOL is not None, "promtool missing: `make test` installs Debian's prometheus"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule_file(rules), sort_keys=False, allow_unicode=True))
    return subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
