"""``slogen.dev/nan_safe_sli/v1``: SLI ratios without Sloth's NaN when a window saw no traffic.

Sloth's ``error / total`` is ``0/0 = NaN`` on an idle window, and one NaN sample poisons the period average for a
whole period. This plugin rewrites every SLI recording that still holds the plain ratio (so a recording another
plugin changed, or the optimized period average, is left alone) into a ratio where an idle window has no sample
and "no error series yet" counts as zero errors.
"""

from __future__ import annotations

from typing import Any

from codegen.lowering import error_ratio, nan_safe_error_ratio
from codegen.plan import SLI_ROLES, RecordingRule, Rule, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin"]

SLO_PLUGIN_ID = "slogen.dev/nan_safe_sli/v1"


class NanSafeSLIPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        out: list[Rule] = []
        changed = False
        for rule in rules.sli_recordings.rules:
            if isinstance(rule, RecordingRule) and rule.role in SLI_ROLES and rule.window:
                safe = nan_safe_error_ratio(slo, rule.window)
                if safe is not None and rule.expr == error_ratio(slo, rule.window):
                    rule = rule.with_expr(safe)
                    changed = True
            out.append(rule)
        if changed:
            rules.sli_recordings = rules.sli_recordings.with_rules(tuple(out))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config."""
    return NanSafeSLIPlugin()
