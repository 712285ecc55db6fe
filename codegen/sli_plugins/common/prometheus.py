"""Prometheus itself: rule evaluation availability and scrape target availability."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import trimmed_filter

_RULES_EVAL_AVAILABILITY = Template(
    "\n"
    "sum(rate(prometheus_rule_evaluation_failures_total{ ${filter} }[{{ .window }}]))\n"
    "/\n"
    "sum(rate(prometheus_rule_evaluations_total{ ${filter} }[{{ .window }}]))\n"
)
_TARGETS_AVAILABILITY = Template(
    "\n"
    "sum(count_over_time((up{ ${filter} } == 0)[{{ .window }}:])) or vector(0)\n"
    "/\n"
    "sum(count_over_time((up{ ${filter} })[{{ .window }}:]))\n"
)


def rules_eval_availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: failed rule evaluations."""
    return _RULES_EVAL_AVAILABILITY.substitute(filter=trimmed_filter(options))


def targets_availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: scrapes of a target that was down."""
    return _TARGETS_AVAILABILITY.substitute(filter=trimmed_filter(options))


PLUGINS = (
    SLIPlugin("sloth-common/prometheus/rules/eval-availability", rules_eval_availability),
    SLIPlugin("sloth-common/prometheus/targets/availability", targets_availability),
)
