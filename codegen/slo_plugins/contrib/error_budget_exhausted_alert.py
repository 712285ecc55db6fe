"""``sloth.dev/contrib/error_budget_exhausted_alert/v1``: an alert when the period's error budget is spent.

Fires when ``slo:period_error_budget_remaining:ratio`` of the SLO is at or below ``threshold`` (default 0) for
``for`` (default 5m); an informational signal for budget policies (change freeze, review), not a page.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from codegen.plan import AlertingRule, SLORules
from codegen.slo_plugins.api import PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.contrib._config import (
    config_object,
    format_prom_duration_ms,
    go_g,
    label_matcher,
    merge_labels,
    number,
    prom_duration_ms,
    sorted_labels,
    string,
    string_map,
)
from codegen.slo_plugins.contrib._conventions import BUDGET_REMAINING_METRIC, id_labels

SLO_PLUGIN_ID = "sloth.dev/contrib/error_budget_exhausted_alert/v1"
DEFAULT_ALERT_NAME = "ErrorBudgetExhausted"
DEFAULT_FOR_MS = 5 * 60_000
_KEYS = ("threshold", "for", "annotations", "alert_name", "alert_labels", "selector_labels")


@dataclasses.dataclass(frozen=True)
class ErrorBudgetExhaustedAlertPlugin:
    threshold: float
    for_: str
    alert_name: str
    annotations: dict[str, str]
    alert_labels: dict[str, str]
    selector_labels: dict[str, str]

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        selector = merge_labels(id_labels(slo), slo.labels, self.selector_labels)
        rule = AlertingRule(
            alert=self.alert_name,
            expr=f"{BUDGET_REMAINING_METRIC}{label_matcher(selector)} <= {go_g(self.threshold)}",
            labels=sorted_labels(self.alert_labels),
            annotations=sorted_labels(self.annotations),
            for_=self.for_,
        )
        rules.alerts = rules.alerts.with_rules((*rules.alerts.rules, rule))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Config (all optional): ``threshold``, ``for``, ``annotations``, ``alert_name``, ``alert_labels``,
    ``selector_labels``."""
    cfg = config_object(config, _KEYS, utils.logger, SLO_PLUGIN_ID)
    return ErrorBudgetExhaustedAlertPlugin(
        threshold=number(cfg.get("threshold"), "threshold"),
        for_=format_prom_duration_ms(prom_duration_ms(cfg.get("for"), "for") or DEFAULT_FOR_MS),
        alert_name=string(cfg.get("alert_name"), "alert_name") or DEFAULT_ALERT_NAME,
        annotations=string_map(cfg.get("annotations"), "annotations"),
        alert_labels=string_map(cfg.get("alert_labels"), "alert_labels"),
        selector_labels=string_map(cfg.get("selector_labels"), "selector_labels"),
    )
