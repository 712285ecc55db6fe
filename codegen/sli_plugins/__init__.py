"""Sloth's SLI plugins in Python: the contract, the built-in ``sloth-common/...`` plugins and the file loader.

``sli.plugin: {id, options}`` in a spec calls the plugin with that id; its query becomes the SLO's raw SLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from codegen.sli_plugins.api import SLI_PLUGIN_VERSION, SLIGenerate, SLIPlugin, SLIPluginError, plugin_meta
from codegen.sli_plugins.common import COMMON_PLUGINS
from codegen.sli_plugins.loader import SLIPluginLoadError, load_sli_plugin_file, sli_plugin_from_namespace

BUILTIN_SLI_PLUGINS: Mapping[str, SLIPlugin] = MappingProxyType({p.id: p for p in COMMON_PLUGINS})

__all__ = [
    "BUILTIN_SLI_PLUGINS",
    "SLI_PLUGIN_VERSION",
    "SLIGenerate",
    "SLIPlugin",
    "SLIPluginError",
    "SLIPluginLoadError",
    "load_sli_plugin_file",
    "plugin_meta",
    "sli_plugin_from_namespace",
]
