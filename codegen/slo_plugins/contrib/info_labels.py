"""``sloth.dev/contrib/info_labels/v1``: add labels to the SLO's info metric (``sloth_slo_info`` by default).

Runs after the metadata rules; when the metric is not in the plan it does nothing, as in Sloth.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from codegen.plan import RecordingRule, SLORules
from codegen.slo_plugins.api import PluginConfigError, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.contrib._config import config_object, merge_labels, sorted_labels, string, string_map
from codegen.slo_plugins.contrib._conventions import INFO_METRIC

SLO_PLUGIN_ID = "sloth.dev/contrib/info_labels/v1"


@dataclasses.dataclass(frozen=True)
class InfoLabelsPlugin:
    labels: dict[str, str]
    metric_name: str

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        group = rules.meta_recordings
        for i, rule in enumerate(group.rules):
            if isinstance(rule, RecordingRule) and rule.record == self.metric_name:
                new = dataclasses.replace(rule, labels=sorted_labels(merge_labels(rule.labels, self.labels)))
                rules.meta_recordings = group.with_rules((*group.rules[:i], new, *group.rules[i + 1 :]))
                return  # only the first match, as Sloth


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Config: ``labels`` (required, at least one), ``metricName`` (default ``sloth_slo_info``)."""
    cfg = config_object(config, ("labels", "metricName"), utils.logger, SLO_PLUGIN_ID)
    labels = string_map(cfg.get("labels"), "labels")
    if not labels:
        raise PluginConfigError("at least one label is required (config.labels)")
    return InfoLabelsPlugin(labels, string(cfg.get("metricName"), "metricName") or INFO_METRIC)
