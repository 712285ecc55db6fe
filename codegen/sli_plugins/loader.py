"""Loading SLI plugins from Python files, as Sloth loads Go ones from ``plugin.go`` files.

A plugin file defines ``SLI_PLUGIN_VERSION = "prometheus/v1"``, ``SLI_PLUGIN_ID`` and
``generate(meta, labels, options) -> str``. A file without ``SLI_PLUGIN_VERSION`` and ``SLI_PLUGIN_ID`` is not an
SLI plugin (it may be an SLO plugin); a file with one of them but not a usable plugin is an error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codegen.sli_plugins.api import SLI_PLUGIN_VERSION, SLIPlugin

VERSION_NAME = "SLI_PLUGIN_VERSION"
ID_NAME = "SLI_PLUGIN_ID"
GENERATE_NAME = "generate"


class SLIPluginLoadError(Exception):
    """A plugin file is malformed; the message names the file and what is wrong."""


def load_sli_plugin_file(path: Path) -> SLIPlugin | None:
    """Run ``path`` as its own module and return the SLI plugin it defines, or None when it defines none."""
    name = "slogen_plugin_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SLIPluginLoadError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing in the plugin look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise SLIPluginLoadError(f"{path}: the plugin file failed to load: {type(exc).__name__}: {exc}") from exc
    return sli_plugin_from_namespace(vars(module), str(path))


def sli_plugin_from_namespace(namespace: Mapping[str, Any], origin: str) -> SLIPlugin | None:
    """The SLI plugin a loaded module's globals define (None when they define none); ``origin`` names it in
    errors. Lets a loader that already ran the file (e.g. to look for an SLO plugin too) skip a second run."""
    if VERSION_NAME not in namespace and ID_NAME not in namespace:
        return None
    version = namespace.get(VERSION_NAME)
    if version != SLI_PLUGIN_VERSION:
        raise SLIPluginLoadError(
            f"{origin}: unsupported {VERSION_NAME} {version!r}: SLI plugins must declare {SLI_PLUGIN_VERSION!r}"
        )
    plugin_id = namespace.get(ID_NAME)
    if not isinstance(plugin_id, str) or not plugin_id.strip():
        raise SLIPluginLoadError(f"{origin}: {ID_NAME} must be a non-empty string, got {plugin_id!r}")
    generate = namespace.get(GENERATE_NAME)
    if not callable(generate):
        raise SLIPluginLoadError(f"{origin}: an SLI plugin must define {GENERATE_NAME}(meta, labels, options) -> str")
    try:
        inspect.signature(generate).bind({}, {}, {})
    except TypeError as exc:
        raise SLIPluginLoadError(f"{origin}: {GENERATE_NAME} must accept (meta, labels, options): {exc}") from exc
    except ValueError:  # a builtin without a signature: let the call decide
        pass
    return SLIPlugin(plugin_id, generate)
