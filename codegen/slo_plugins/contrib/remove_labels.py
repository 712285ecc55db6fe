"""``sloth.dev/contrib/remove_labels/v1``: drop custom labels from the SLI and metadata recordings.

Kept: the SLO id labels, ``sloth_window`` on SLI recordings, ``preserveLabels``; skipped entirely: the info metric
and ``skipMetrics``. Keeping custom labels on ``sloth_slo_info`` only stops a label change from breaking the
period recording for a whole period.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from codegen.plan import RecordingRule, RuleGroup, SLORules
from codegen.slo_plugins.api import PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.contrib._config import config_object, string_list
from codegen.slo_plugins.contrib._conventions import (
    INFO_METRIC,
    SLO_ID_LABEL,
    SLO_NAME_LABEL,
    SLO_SERVICE_LABEL,
    WINDOW_LABEL,
)

SLO_PLUGIN_ID = "sloth.dev/contrib/remove_labels/v1"
_ID_LABELS = frozenset((SLO_ID_LABEL, SLO_SERVICE_LABEL, SLO_NAME_LABEL))


@dataclasses.dataclass(frozen=True)
class RemoveLabelsPlugin:
    preserve: frozenset[str]
    skip_metrics: frozenset[str]

    def _strip(self, group: RuleGroup, keep: frozenset[str]) -> RuleGroup:
        rules = tuple(
            dataclasses.replace(rule, labels=tuple((k, v) for k, v in rule.labels if k in keep))
            if isinstance(rule, RecordingRule) and rule.record not in self.skip_metrics
            else rule
            for rule in group.rules
        )
        return group.with_rules(rules)

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        keep = _ID_LABELS | self.preserve
        rules.sli_recordings = self._strip(rules.sli_recordings, keep | {WINDOW_LABEL})
        rules.meta_recordings = self._strip(rules.meta_recordings, keep - {WINDOW_LABEL})


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Config: ``preserveLabels`` and ``skipMetrics`` (lists of strings, optional)."""
    cfg = config_object(config, ("preserveLabels", "skipMetrics"), utils.logger, SLO_PLUGIN_ID)
    preserve = frozenset(string_list(cfg.get("preserveLabels"), "preserveLabels"))
    skip = frozenset((INFO_METRIC, *string_list(cfg.get("skipMetrics"), "skipMetrics")))
    return RemoveLabelsPlugin(preserve, skip)
