"""The compiled plan of one SLO: the Prometheus rule groups every output is rendered from.

SLO plugins build it (Sloth's ``PromSLORules``: SLI recordings, metadata recordings, alerts, extra groups); rule
files, promtool tests, dashboards and docs only read it. Rules and groups are frozen; a plugin edits the plan by
replacing a group (``dataclasses.replace``), so no renderer can observe a half-edited rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Labels = tuple[tuple[str, str], ...]

# What a rule is for, so renderers find rules by role instead of re-deriving them from names.
RuleRole = Literal["sli", "sli_instant", "sli_period", "meta", "burn_page", "burn_ticket", "no_data", "extra"]


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Labels
    role: RuleRole = "extra"
    window: str | None = None  # the SLI window this rule records, e.g. "5m" or "30d"


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    expr: str
    labels: Labels
    annotations: Labels
    for_: str | None = None
    role: RuleRole = "extra"


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]
    interval: str | None = None  # Prometheus rule-group ``interval`` (Sloth's rule_intervals plugin sets it)


@dataclass
class SLORules:
    """The plan under construction, one per SLO: what the plugin chain edits, in Sloth's group order."""

    sli_recordings: RuleGroup
    meta_recordings: RuleGroup
    alerts: RuleGroup
    extra_groups: list[RuleGroup] = field(default_factory=list)

    def groups(self) -> list[RuleGroup]:
        """Non-empty groups in output order."""
        return [g for g in (self.sli_recordings, self.meta_recordings, self.alerts, *self.extra_groups) if g.rules]
