"""``slogen.dev/nan_safe_sli/v1``: SLI ratios without Sloth's NaN when a window saw no traffic.

Sloth's ``error / total`` is ``0/0 = NaN`` on an idle window, and one NaN sample poisons the period average for a
whole period. This plugin rewrites every SLI recording that still holds the plain ratio (so a recording another
plugin changed, or the optimized period average, is left alone) into a ratio where an idle window has no sample
and "no error series yet" counts as zero errors.
"""

from __future__ import annotations

from typing import Any

from codegen.lowering import error_ratio, nan_safe_error_ratio
from codegen.model import SLO
from codegen.plan import SLI_ROLES, RecordingRule, Rule, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin"]

SLO_PLUGIN_ID = "slogen.dev/nan_safe_sli/v1"


def _nan_safe(slo: SLO, rule: RecordingRule, window: str) -> RecordingRule | None:
    """``rule`` with the NaN-safe ratio if it holds the plain one, else None. The plain ratio is compared first,
    so a rule holding something else (the optimized period average) costs no NaN-safe ratio."""
    if rule.expr != error_ratio(slo, window):
        return None
    safe = nan_safe_error_ratio(slo, window)
    return None if safe is None else rule.with_expr(safe)


class NanSafeSLIPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        out: list[Rule] = []
        changed = False
        for rule in rules.sli_recordings.rules:
            if isinstance(rule, RecordingRule) and rule.role in SLI_ROLES and rule.window:
                safe = _nan_safe(slo, rule, rule.window)
                if safe is not None:
                    rule = safe
                    changed = True
            out.append(rule)
        if changed:
            rules.sli_recordings = rules.sli_recordings.with_rules(tuple(out))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config."""
    return NanSafeSLIPlugin()
