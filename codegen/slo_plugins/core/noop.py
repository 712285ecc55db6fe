"""``sloth.dev/core/noop/v1``: does nothing; a placeholder and the smallest example of a plugin."""

from __future__ import annotations

from typing import Any

from codegen.plan import SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin"]

SLO_PLUGIN_ID = "sloth.dev/core/noop/v1"


class NoopPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        return None


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Any config is accepted and ignored, as in Sloth."""
    return NoopPlugin()
