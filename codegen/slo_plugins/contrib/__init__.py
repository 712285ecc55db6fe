"""Sloth v0.16's contrib SLO plugins (``sloth.dev/contrib/...``), re-implemented in Python with Sloth's ids and
config. Each module has a ``new_plugin(config, utils)`` factory; ``CONTRIB_FACTORIES`` maps id -> factory."""

from __future__ import annotations

from codegen.slo_plugins.api import PluginFactory
from codegen.slo_plugins.contrib import (
    denominator_corrected_rules,
    error_budget_exhausted_alert,
    info_labels,
    remove_labels,
    rule_intervals,
    validate_victoria_metrics,
)

CONTRIB_FACTORIES: dict[str, PluginFactory] = {
    module.SLO_PLUGIN_ID: module.new_plugin
    for module in (
        info_labels,
        denominator_corrected_rules,
        rule_intervals,
        error_budget_exhausted_alert,
        remove_labels,
        validate_victoria_metrics,
    )
}
