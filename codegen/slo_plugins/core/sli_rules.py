"""``sloth.dev/core/sli_rules/v1``: the SLI error-ratio recording rules, one per alert window plus the period.

Windows are the alert tiers' unique windows, ascending, then the SLO period. By default ("optimized") the period
rule averages the page-quick short window's recording over the period (sum over count: a correct mean of ratios)
instead of evaluating the raw queries over 30 days; config ``disableOptimized: true`` evaluates the raw queries
for the period too (exact, but Prometheus then scans the whole period's samples on every evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codegen.conventions import LABEL_WINDOW, id_labels, id_selector, sli_error_record
from codegen.durations import format_duration
from codegen.lowering import error_ratio
from codegen.model import SLO
from codegen.plan import RecordingRule, Rule, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginProcessError, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.config import config_mapping
from codegen.slo_plugins.labels import label_setter, merge

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin", "sli_rules"]

SLO_PLUGIN_ID = "sloth.dev/core/sli_rules/v1"


def optimized_period_expr(slo: SLO, period: str, base: str) -> str:
    """Mean of the ``base`` window's ratio over ``period``: ``sum_over_time / count_over_time``."""
    selector = f"{sli_error_record(base)}{id_selector(slo.service, slo.name)}"
    return f"sum_over_time({selector}[{period}])\n/ ignoring ({LABEL_WINDOW})\ncount_over_time({selector}[{period}])\n"


def _rendered(slo: SLO, window: str) -> str:
    """The ratio over ``window``; a template action left unrendered (``{{.Window}}``, ``{{}.window}}``) is an
    error, as Go's ``missingkey=error`` template makes it in Sloth."""
    expr = error_ratio(slo, window)
    if "{{" in expr:
        raise PluginProcessError(
            f'could not create "{slo.id}" SLO rule for window {window}: could not render SLI expression template: '
            "only the {{.window}} variable is available"
        )
    return expr


def sli_rules(slo: SLO, optimized: bool = True) -> tuple[Rule, ...]:
    """The SLI recordings of ``slo`` (roles ``sli`` per alert window, ``sli_period`` for the period)."""
    base = merge(id_labels(slo.service, slo.name), slo.labels)  # Sloth's order: ids, window, then SLO labels
    labels_for = label_setter(base, LABEL_WINDOW, override=False)
    catalog = slo.windows
    rules: list[Rule] = []
    for seconds in catalog.windows():
        window = format_duration(seconds)
        rules.append(RecordingRule(sli_error_record(window), _rendered(slo, window), labels_for(window), "sli", window))
    period = format_duration(slo.period)
    labels = labels_for(period)
    if optimized:
        if catalog.base_window == slo.period:
            raise PluginProcessError(
                f'could not create "{slo.id}" SLO rule for window {period}: '
                "can't optimize using the same shortwindow as the window to optimize"
            )
        expr = optimized_period_expr(slo, period, format_duration(catalog.base_window))
    else:
        expr = _rendered(slo, period)
    rules.append(RecordingRule(sli_error_record(period), expr, labels, "sli_period", period))
    return tuple(rules)


@dataclass(frozen=True)
class SLIRulesPlugin:
    optimized: bool

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        """Replaces the SLI group's rules, as Sloth does."""
        rules.sli_recordings = rules.sli_recordings.with_rules(sli_rules(request.slo, self.optimized))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    cfg = config_mapping(config, {"disableOptimized": bool})
    return SLIRulesPlugin(optimized=not cfg["disableOptimized"])
