"""``slogen.dev/no_data_alert/v1``: an alert when the SLI's metrics are absent.

Without it a silent exporter looks like a perfect SLO: no errors, no burn, no page. Added after the burn-rate
alerts of an SLO that has any (``alerting.no_data_alert.disable`` turns it off), ``absent()`` of what the SLI
needs to exist, for ``no_data_alert.for`` (10m by default).
"""

from __future__ import annotations

from typing import Any

from codegen import conventions as c
from codegen.gotemplate import literal as template_literal
from codegen.lowering import no_data_expr, presence_query
from codegen.plan import BURN_ROLES, AlertingRule, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.labels import merge

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin"]

SLO_PLUGIN_ID = "slogen.dev/no_data_alert/v1"


class NoDataAlertPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        alerting = slo.alerting
        no_data = alerting.no_data
        burn = [r for r in rules.alerts.rules if isinstance(r, AlertingRule) and r.role in BURN_ROLES]
        if no_data.disabled or not burn or not alerting.name:
            return
        name = c.no_data_alert_name(alerting.name)
        presence = presence_query(slo.sli)
        labels = merge(
            alerting.labels,
            c.id_labels(slo.service, slo.name),
            ((c.ROUTING_SEVERITY, c.NO_DATA_ROUTING_SEVERITY), (c.LABEL_SEVERITY, c.NO_DATA_SEVERITY)),
            no_data.labels,
        )
        annotations = merge(
            (
                ("summary", f"{slo.service} {slo.name} SLO has no data: its SLI metrics are absent."),
                (
                    "description",
                    template_literal(
                        f"absent({presence}) for {no_data.for_}: the exporter is down, not "
                        "scraped, or the metric was renamed. The SLO and its burn-rate alerts are blind."
                    ),
                ),
                ("runbook_url", template_literal(c.runbook_url(request.options.runbook_base_url, name))),
                ("title", f"({c.NO_DATA_SEVERITY}) {slo.service} {slo.name} SLO has no data"),
            ),
            no_data.annotations,
        )
        rule = AlertingRule(name, no_data_expr(slo), labels, annotations, no_data.for_, role="no_data")
        rules.alerts = rules.alerts.with_rules((*rules.alerts.rules, rule))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config: the alert is configured per SLO (``alerting.no_data_alert``)."""
    return NoDataAlertPlugin()
