"""``sloth.dev/core/alert_rules/v1``: the multi-window multi-burn-rate page and ticket alerts.

Each alert fires when the quick tier's short *and* long windows, or the slow tier's, burn the error budget faster
than the tier's factor. Labels: ``sloth_severity`` then the spec's alert labels (the spec wins); annotations:
Sloth's ``title`` and ``summary`` then the spec's.
"""

from __future__ import annotations

from typing import Any

from codegen import conventions as c
from codegen.model import SLO, AlertOptions, AlertTier, Severity
from codegen.numbers import go_float
from codegen.plan import AlertingRule, Labels, Rule, RuleRole, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.labels import merge

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "alert_rules", "mwmb_expr", "new_plugin", "tiers_of"]

SLO_PLUGIN_ID = "sloth.dev/core/alert_rules/v1"
ROLE_FOR: dict[Severity, RuleRole] = {"page": "burn_page", "ticket": "burn_ticket"}


def mwmb_expr(slo: SLO, quick: AlertTier, slow: AlertTier) -> str:
    """Sloth's condition: (quick short AND quick long) OR (slow short AND slow long)."""
    budget = go_float(slo.error_budget_ratio)
    ids = c.id_selector(slo.service, slo.name)

    def pair(tier: AlertTier) -> str:
        # both windows of a tier compare with the same threshold: formatted once
        threshold = f"{ids} > ({go_float(tier.burn_factor)} * {budget})) without ({c.LABEL_WINDOW})"
        return (
            f"(\n    max({c.sli_error_record(tier.short)}{threshold}\n"
            f"    and\n    max({c.sli_error_record(tier.long)}{threshold}\n)"
        )

    return f"{pair(quick)}\nor\n{pair(slow)}\n"


def tiers_of(slo: SLO, severity: Severity) -> tuple[AlertOptions, AlertTier, AlertTier]:
    """The spec's options and the (quick, slow) tiers of one severity."""
    catalog = slo.windows
    if severity == "page":
        return slo.alerting.page, catalog.page_quick, catalog.page_slow
    return slo.alerting.ticket, catalog.ticket_quick, catalog.ticket_slow


def alert_rules(slo: SLO) -> tuple[Rule, ...]:
    alerting = slo.alerting
    if not alerting.name:
        return ()
    out: list[Rule] = []
    severities: tuple[Severity, ...] = ("page", "ticket")
    for severity in severities:
        options, quick, slow = tiers_of(slo, severity)
        if options.disabled:
            continue
        labels = merge(((c.LABEL_SEVERITY, severity),), alerting.labels, options.labels)
        defaults: Labels = (
            (
                "summary",
                f"{{{{$labels.{c.LABEL_SERVICE}}}}} {{{{$labels.{c.LABEL_SLO}}}}} SLO error budget burn rate "
                "is over expected.",
            ),
            (
                "title",
                f"({severity}) {{{{$labels.{c.LABEL_SERVICE}}}}} {{{{$labels.{c.LABEL_SLO}}}}} SLO error budget "
                "burn rate is too fast.",
            ),
        )
        annotations = merge(defaults, alerting.annotations, options.annotations)
        out.append(
            AlertingRule(alerting.name, mwmb_expr(slo, quick, slow), labels, annotations, role=ROLE_FOR[severity])
        )
    return tuple(out)


class AlertRulesPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        rules.alerts = rules.alerts.with_rules(alert_rules(request.slo))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config."""
    return AlertRulesPlugin()
