"""The compiled plan of one SLO: the Prometheus rule groups every output is rendered from.

SLO plugins build it (Sloth's ``PromSLORules``: SLI recordings, metadata recordings, alerts, extra groups); rule
files, promtool tests, dashboards and docs only read it. Rules and groups are frozen; a plugin edits the plan by
replacing a group (``dataclasses.replace``), so no renderer can observe a half-edited rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from codegen.model import SLO, Severity

Labels = tuple[tuple[str, str], ...]

# What a rule is for, so renderers find rules by role instead of re-deriving them from names:
# sli (an alert window's error ratio), sli_period (the whole period's), sli_instant (the timeslice indicator),
# meta (metadata recordings), burn_page/burn_ticket (the multi-window burn-rate alerts), no_data.
RuleRole = Literal["sli", "sli_instant", "sli_period", "meta", "burn_page", "burn_ticket", "no_data", "extra"]


@dataclass(frozen=True, slots=True)
class RecordingRule:
    record: str
    expr: str
    labels: Labels
    role: RuleRole = "extra"
    window: str | None = None  # the SLI window this rule records, e.g. "5m" or "30d"

    def with_expr(self, expr: str) -> RecordingRule:
        """This rule recording ``expr`` instead (cheaper than ``dataclasses.replace`` on the hot path)."""
        return RecordingRule(self.record, expr, self.labels, self.role, self.window)


@dataclass(frozen=True, slots=True)
class AlertingRule:
    alert: str
    expr: str
    labels: Labels
    annotations: Labels
    for_: str | None = None
    role: RuleRole = "extra"


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True, slots=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]
    interval: str | None = None  # Prometheus rule-group ``interval`` (Sloth's rule_intervals plugin sets it)

    def with_rules(self, rules: tuple[Rule, ...]) -> RuleGroup:
        """This group holding ``rules`` instead: how a plugin edits the plan."""
        return RuleGroup(self.name, rules, self.interval)

    def with_name(self, name: str) -> RuleGroup:
        return RuleGroup(name, self.rules, self.interval)


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


BURN_ROLES: dict[RuleRole, Severity] = {"burn_page": "page", "burn_ticket": "ticket"}
SLI_ROLES: frozenset[RuleRole] = frozenset({"sli", "sli_period"})


def empty_rules() -> SLORules:
    """The plan before the first plugin runs: three unnamed, empty groups (names default after the chain)."""
    return SLORules(RuleGroup("", ()), RuleGroup("", ()), RuleGroup("", ()))


@dataclass(frozen=True, slots=True)
class SLOPlan:
    """One SLO compiled: what the chain built, frozen. Every renderer reads this and nothing else about rules."""

    slo: SLO
    sli_recordings: RuleGroup
    meta_recordings: RuleGroup
    alerts: RuleGroup
    extra_groups: tuple[RuleGroup, ...] = ()

    def groups(self) -> list[RuleGroup]:
        """Non-empty groups in output order (Sloth's: SLI, metadata, alerts, then extra groups)."""
        return [g for g in (self.sli_recordings, self.meta_recordings, self.alerts, *self.extra_groups) if g.rules]

    def rules(self) -> list[Rule]:
        return [r for g in self.groups() for r in g.rules]

    def sli_rules(self) -> list[RecordingRule]:
        """The SLI error-ratio recordings (alert windows and the period), in group order."""
        return [r for r in self.rules() if isinstance(r, RecordingRule) and r.role in SLI_ROLES]

    def sli_rule(self, window: str) -> RecordingRule | None:
        return next((r for r in self.sli_rules() if r.window == window), None)

    def alert_windows(self) -> list[str]:
        """The alert windows the SLI recordings cover, in recording order (the period excluded)."""
        return [r.window for r in self.sli_rules() if r.role == "sli" and r.window]

    def period_window(self) -> str | None:
        return next((r.window for r in self.sli_rules() if r.role == "sli_period"), None)

    def alert_rules(self) -> list[AlertingRule]:
        """Every alert of the SLO (burn-rate, no-data and any a plugin added), in output order."""
        return [r for r in self.rules() if isinstance(r, AlertingRule)]

    def burn_alerts(self) -> dict[Severity, AlertingRule]:
        """The enabled multi-window burn-rate alerts by tier severity (whatever their ``sloth_severity`` says)."""
        return {BURN_ROLES[r.role]: r for r in self.alert_rules() if r.role in BURN_ROLES}

    def no_data_alert(self) -> AlertingRule | None:
        return next((r for r in self.alert_rules() if r.role == "no_data"), None)
