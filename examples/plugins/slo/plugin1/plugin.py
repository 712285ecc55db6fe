"""Sloth's integration-test SLO plugin ``integration-tests/plugin1``, as a slogen plugin file.

Adds the configured ``labels`` to the SLO's ``sloth_slo_info`` recording (the first one found). Load it with
``slogen generate -p examples/plugins ...``; a spec enables it in ``slo_plugins`` / ``plugins``:

    slo_plugins:
      chain:
        - id: "integration-tests/plugin1"
          config: {labels: {k1: v1}}
"""

from __future__ import annotations

import dataclasses
from typing import Any

from codegen.plan import RecordingRule, SLORules
from codegen.slo_plugins.api import PluginConfigError, PluginRequest, PluginUtils, SLOPlugin

SLO_PLUGIN_VERSION = "prometheus/slo/v1"
SLO_PLUGIN_ID = "integration-tests/plugin1"
INFO_METRIC = "sloth_slo_info"


@dataclasses.dataclass(frozen=True)
class Plugin:
    labels: dict[str, str]

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        group = rules.meta_recordings
        for i, rule in enumerate(group.rules):
            if isinstance(rule, RecordingRule) and rule.record == INFO_METRIC:
                merged = tuple(sorted({**dict(rule.labels), **self.labels}.items()))
                new = dataclasses.replace(rule, labels=merged)
                rules.meta_recordings = group.with_rules((*group.rules[:i], new, *group.rules[i + 1 :]))
                return


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Config: ``{"labels": {name: value}}`` (optional)."""
    if config is None:
        return Plugin({})
    if not isinstance(config, dict):
        raise PluginConfigError("config must be an object")
    labels = next((v for k, v in config.items() if str(k).lower() == "labels"), None) or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise PluginConfigError("config.labels must be an object of strings")
    return Plugin({str(k): v for k, v in labels.items()})
