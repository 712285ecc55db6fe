"""``sloth.dev/contrib/denominator_corrected_rules/v1``: SLI recordings weighted by traffic (Sloth PR #459).

Each window's error ratio is multiplied by ``slo:numerator_correction:ratio<W>`` (the window's share of the
period's traffic, recorded beside the metadata rules), so a few errors in a quiet night do not page like the same
ratio at peak. Replaces the SLI recordings; events SLIs only. ``disableOptimized`` computes the period SLI from
the raw queries instead of averaging the page-quick short window's recording.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from codegen.conventions import NUMERATOR_CORRECTION_PREFIX as NUMERATOR_CORRECTION_METRIC
from codegen.durations import format_duration
from codegen.model import SLO, EventsSLI
from codegen.plan import RecordingRule, RuleRole, SLORules
from codegen.slo_plugins.api import PluginProcessError, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.contrib._config import boolean, config_object, label_matcher, merge_labels, sorted_labels
from codegen.slo_plugins.contrib._conventions import WINDOW_LABEL, id_labels, sli_error_metric
from codegen.slo_plugins.contrib._templates import render_window

SLO_PLUGIN_ID = "sloth.dev/contrib/denominator_corrected_rules/v1"


def _events(slo: SLO) -> EventsSLI:
    sli = slo.sli
    if not isinstance(sli, EventsSLI) or not sli.error_query or not sli.total_query:
        raise PluginProcessError(f"denominator corrected SLI requires an events SLI (SLO {slo.id} has {sli.kind})")
    return sli


@dataclasses.dataclass(frozen=True)
class DenominatorCorrectedRulesPlugin:
    disable_optimized: bool

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        sli = _events(slo)
        ids = id_labels(slo)
        slo_labels = dict(slo.labels)  # the compiler already merged -l labels in, as Sloth does
        id_filter = label_matcher(ids)
        period = format_duration(slo.period)
        windows = [format_duration(w) for w in slo.windows.windows()]

        sli_rules: list[RecordingRule] = []
        for window in windows:
            expr = (
                f"(\n{NUMERATOR_CORRECTION_METRIC}{window}{id_filter}\n* on()\n"
                f"{render_window(sli.error_query, window, 'error query')}\n)\n/\n"
                f"({render_window(sli.total_query, window, 'total query')})\n"
            )
            sli_rules.append(self._sli_rule(window, expr, ids, slo_labels, "sli"))
        if self.disable_optimized:
            expr = (
                f"({render_window(sli.error_query, period, 'error query')})\n/\n"
                f"({render_window(sli.total_query, period, 'total query')})\n"
            )
        else:
            base = sli_error_metric(format_duration(slo.windows.base_window)) + id_filter
            expr = f"sum_over_time({base}[{period}])\n/ ignoring ({WINDOW_LABEL})\ncount_over_time({base}[{period}])\n"
        sli_rules.append(self._sli_rule(period, expr, ids, slo_labels, "sli_period"))
        rules.sli_recordings = rules.sli_recordings.with_rules(tuple(sli_rules))

        meta_labels = sorted_labels(merge_labels(ids, slo_labels))
        corrections = tuple(
            RecordingRule(
                record=f"{NUMERATOR_CORRECTION_METRIC}{window}",
                expr=f"({render_window(sli.total_query, window, 'total query')})"
                f"/({render_window(sli.total_query, period, 'total query')})",
                labels=meta_labels,
                role="extra",
                window=window,
            )
            for window in windows
        )
        rules.meta_recordings = rules.meta_recordings.with_rules((*rules.meta_recordings.rules, *corrections))

    @staticmethod
    def _sli_rule(window: str, expr: str, ids: dict[str, str], labels: dict[str, str], role: RuleRole) -> RecordingRule:
        return RecordingRule(
            record=sli_error_metric(window),
            expr=expr,
            labels=sorted_labels(merge_labels(ids, {WINDOW_LABEL: window}, labels)),
            role=role,
            window=window,
        )


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Config: ``disableOptimized`` (bool, default false)."""
    cfg = config_object(config, ("disableOptimized",), utils.logger, SLO_PLUGIN_ID)
    return DenominatorCorrectedRulesPlugin(boolean(cfg.get("disableOptimized"), "disableOptimized"))
