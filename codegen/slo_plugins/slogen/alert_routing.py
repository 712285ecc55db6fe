"""``slogen.dev/alert_routing/v1``: what an on-call needs on a burn-rate alert, beyond Sloth's labels.

Adds a routing ``severity`` label (critical for page, warning for ticket) beside ``sloth_severity``, a
``description`` that says how fast the budget burns over which windows, a ``runbook_url`` (``--runbook-base-url``
plus the alert's anchor) and the spec's ``for``. The spec's own labels and annotations always win.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from codegen import conventions as c
from codegen.durations import format_duration
from codegen.gotemplate import literal as template_literal
from codegen.model import SLO, AlertTier
from codegen.numbers import go_float
from codegen.plan import BURN_ROLES, AlertingRule, Rule, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.core.alert_rules import tiers_of
from codegen.slo_plugins.labels import has_key, with_label

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin", "tier_description"]

SLO_PLUGIN_ID = "slogen.dev/alert_routing/v1"


@lru_cache(maxsize=1024)  # a pure function of the tier; SLOs share a handful of tiers
def _burn(tier: AlertTier) -> str:
    return f"{go_float(round(tier.burn_factor, 2))}x over {tier.long} and {tier.short}"


def tier_description(slo: SLO, quick: AlertTier, slow: AlertTier) -> str:
    """Annotations are Go templates: the text (with the user's description) is printed literally."""
    what = slo.description.rstrip(".") + ". " if slo.description else ""
    # one tier may fill both slots (an OpenSLO severity with a single burn-rate condition): say it once
    fast, slower = _burn(quick), _burn(slow)
    either = fast if fast == slower else f"{fast}, or {slower}"
    return template_literal(
        f"{what}{slo.service}/{slo.name} ({go_float(slo.objective)}% over {format_duration(slo.period)}) "
        f"is burning its error budget faster than {either}."
    )


class AlertRoutingPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        out: list[Rule] = []
        for rule in rules.alerts.rules:
            if isinstance(rule, AlertingRule) and rule.role in BURN_ROLES:
                severity = BURN_ROLES[rule.role]
                options, quick, slow = tiers_of(slo, severity)
                labels = with_label(rule.labels, c.ROUTING_SEVERITY, c.SEVERITY_FOR[severity], override=False)
                annotations = rule.annotations
                if not has_key(annotations, "description"):
                    annotations = with_label(annotations, "description", tier_description(slo, quick, slow))
                if not has_key(annotations, "runbook_url"):
                    runbook = template_literal(c.runbook_url(request.options.runbook_base_url, rule.alert))
                    annotations = with_label(annotations, "runbook_url", runbook)
                rule = AlertingRule(rule.alert, rule.expr, labels, annotations, rule.for_ or options.for_, rule.role)
            out.append(rule)
        rules.alerts = rules.alerts.with_rules(tuple(out))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config: the runbook base URL is the run's ``--runbook-base-url``."""
    return AlertRoutingPlugin()
