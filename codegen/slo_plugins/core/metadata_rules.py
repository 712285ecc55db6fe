"""``sloth.dev/core/metadata_rules/v1``: objective, error budget, period, burn rates and the info series.

Dashboards read these (``slo:objective:ratio``, ``slo:period_error_budget_remaining:ratio``, ``sloth_slo_info``
...), so they are named exactly as Sloth names them.
"""

from __future__ import annotations

from typing import Any

from codegen import conventions as c
from codegen.durations import format_duration
from codegen.model import SLO
from codegen.numbers import go_float, go_float_plain
from codegen.plan import RecordingRule, Rule, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.labels import merge

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "metadata_rules", "new_plugin"]

SLO_PLUGIN_ID = "sloth.dev/core/metadata_rules/v1"


def _burn_rate(sli_record: str, ids: str) -> str:
    return (
        f"{sli_record}{ids}\n/ on({c.LABEL_ID}, {c.LABEL_SLO}, {c.LABEL_SERVICE}) group_left\n{c.ERROR_BUDGET}{ids}\n"
    )


def metadata_rules(slo: SLO, spec_kind: str) -> tuple[Rule, ...]:
    labels = merge(c.id_labels(slo.service, slo.name), slo.labels)
    ids = c.id_selector(slo.service, slo.name)
    objective = go_float(slo.objective_ratio)
    period = format_duration(slo.period)
    base = format_duration(slo.windows.base_window)
    info = merge(
        labels,
        (
            (c.LABEL_MODE, c.mode_for(spec_kind)),
            (c.LABEL_OBJECTIVE, go_float_plain(slo.objective)),
            (c.LABEL_SPEC, spec_kind),
            (c.LABEL_VERSION, c.VERSION_LABEL_VALUE),
        ),
    )
    return (
        RecordingRule(c.OBJECTIVE, f"vector({objective})", labels, "meta"),
        RecordingRule(c.ERROR_BUDGET, f"vector(1-{objective})", labels, "meta"),
        RecordingRule(c.TIME_PERIOD_DAYS, f"vector({go_float(slo.period / 86400)})", labels, "meta"),
        RecordingRule(c.CURRENT_BURN_RATE, _burn_rate(c.sli_error_record(base), ids), labels, "meta"),
        RecordingRule(c.PERIOD_BURN_RATE, _burn_rate(c.sli_error_record(period), ids), labels, "meta"),
        RecordingRule(c.PERIOD_BUDGET_REMAINING, f"1 - {c.PERIOD_BURN_RATE}{ids}", labels, "meta"),
        RecordingRule(c.SLO_INFO, "vector(1)", info, "meta"),
    )


class MetadataRulesPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        rules.meta_recordings = rules.meta_recordings.with_rules(metadata_rules(request.slo, request.spec_kind))


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config."""
    return MetadataRulesPlugin()
