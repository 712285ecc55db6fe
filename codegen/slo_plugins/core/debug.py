"""``sloth.dev/core/debug/v1``: logs a message, the request and/or the plan so far, at debug level.

Config (all optional): ``msg`` (string), ``request`` (bool), ``result`` (bool).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codegen.plan import SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.config import config_mapping

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin"]

SLO_PLUGIN_ID = "sloth.dev/core/debug/v1"


@dataclass(frozen=True)
class DebugPlugin:
    utils: PluginUtils
    msg: str
    show_request: bool
    show_result: bool

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        log = self.utils.logger
        if self.msg:
            log.debug("%s", self.msg)
        if self.show_request:
            log.debug("%r", request)
        if self.show_result:
            log.debug("%r", rules)


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    cfg = config_mapping(config, {"msg": str, "request": bool, "result": bool})
    return DebugPlugin(utils, cfg["msg"] or "", bool(cfg["request"]), bool(cfg["result"]))
