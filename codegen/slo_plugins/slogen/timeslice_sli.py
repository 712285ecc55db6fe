"""``slogen.dev/timeslice_sli/v1``: records a timeslice SLI's 0/1 bad-slice indicator (or a slice-ratio SLI's
error ratio per slice) once per evaluation.

The SLI windows then average that stored series (``avg_over_time``) instead of re-evaluating a subquery. The
rule goes first in the SLI group, so it exists before the windows read it. Other SLI types are left alone.
"""

from __future__ import annotations

from typing import Any

from codegen.conventions import SLI_INSTANT, id_labels
from codegen.lowering import instant_indicator
from codegen.model import SliceRatioSLI, TimesliceSLI
from codegen.plan import RecordingRule, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.labels import merge

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin"]

SLO_PLUGIN_ID = "slogen.dev/timeslice_sli/v1"


class TimesliceSLIPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        if not isinstance(slo.sli, TimesliceSLI | SliceRatioSLI):
            return
        group = rules.sli_recordings
        if any(isinstance(r, RecordingRule) and r.role == "sli_instant" for r in group.rules):
            return
        labels = merge(slo.labels, id_labels(slo.service, slo.name))
        instant = RecordingRule(SLI_INSTANT, instant_indicator(slo.sli, slo.grouping), labels, "sli_instant")
        rules.sli_recordings = group.with_rules((instant, *group.rules))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config."""
    return TimesliceSLIPlugin()
