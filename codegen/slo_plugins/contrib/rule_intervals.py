"""``sloth.dev/contrib/rule_intervals/v1``: set the Prometheus evaluation ``interval`` of the SLO's rule groups.

``interval.default`` (required) applies to the SLI, metadata and alert groups unless ``sliError``, ``metadata`` or
``alert`` names a specific one. Extra groups keep theirs, as in Sloth.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from codegen.plan import SLORules
from codegen.slo_plugins.api import PluginConfigError, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.contrib._config import config_object, format_prom_duration_ms, prom_duration_ms

SLO_PLUGIN_ID = "sloth.dev/contrib/rule_intervals/v1"
_KINDS = ("default", "sliError", "metadata", "alert")


@dataclasses.dataclass(frozen=True)
class RuleIntervalsPlugin:
    sli_error: str
    metadata: str
    alert: str

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        rules.sli_recordings = dataclasses.replace(rules.sli_recordings, interval=self.sli_error)
        rules.meta_recordings = dataclasses.replace(rules.meta_recordings, interval=self.metadata)
        rules.alerts = dataclasses.replace(rules.alerts, interval=self.alert)


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Config: ``{"interval": {"default": "1m", "sliError": ..., "metadata": ..., "alert": ...}}``."""
    cfg = config_object(config, ("interval",), utils.logger, SLO_PLUGIN_ID)
    interval = config_object(cfg.get("interval"), _KINDS, utils.logger, f"{SLO_PLUGIN_ID} interval")
    ms = {kind: prom_duration_ms(interval.get(kind), f"interval.{kind}") for kind in _KINDS}
    if ms["default"] == 0:
        raise PluginConfigError("at least the default interval is required (config.interval.default)")

    def pick(kind: str) -> str:
        return format_prom_duration_ms(ms[kind] or ms["default"])

    return RuleIntervalsPlugin(pick("sliError"), pick("metadata"), pick("alert"))
