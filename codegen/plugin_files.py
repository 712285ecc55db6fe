"""``-p/--plugins-path``: find and load Python SLI and SLO plugin files, as Sloth loads its Go plugin files.

Every file named ``plugin.py`` below a plugins directory (recursively, hidden directories and ``__pycache__``
skipped, sorted so loading order is stable) is one plugin, imported once. It is an SLI plugin when it defines
``SLI_PLUGIN_VERSION``/``SLI_PLUGIN_ID`` (``codegen.sli_plugins`` owns that format), otherwise an SLO plugin,
which defines ``SLO_PLUGIN_VERSION = "prometheus/slo/v1"``, ``SLO_PLUGIN_ID`` and ``new_plugin(config, utils)`` (see
``codegen.slo_plugins.api``). A file that fails to import, is neither kind, or repeats an id already loaded is an
error naming the file: a plugin silently missing would change what is generated.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginFactory

if TYPE_CHECKING:
    from codegen.sli_plugins import SLIPlugin

PLUGIN_FILE_NAME = "plugin.py"
_MODULE_PREFIX = "slogen_plugin_files"


class PluginFileError(ValueError):
    """A plugin file could not be loaded; the message names the file and why."""


@dataclass
class LoadedPlugins:
    """What the plugin directories hold: SLI plugins and SLO plugin factories by id, and where each came from."""

    sli: dict[str, SLIPlugin] = field(default_factory=dict)
    slo: dict[str, PluginFactory] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # "sli:<id>" / "slo:<id>" -> file


def discover_plugin_files(directories: Iterable[str]) -> list[Path]:
    """Every ``plugin.py`` below each directory, in directory order then sorted path order."""
    found: list[Path] = []
    for directory in directories:
        root = Path(directory)
        if not root.is_dir():
            raise PluginFileError(f"{directory}: plugins path is not a directory")
        found.extend(
            sorted(
                path
                for path in root.rglob(PLUGIN_FILE_NAME)
                if path.is_file()
                and not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(root).parts[:-1])
            )
        )
    return found


def import_plugin_module(path: Path) -> ModuleType:
    """Import one plugin file under a private module name; any failure is a ``PluginFileError`` naming it."""
    resolved = path.resolve()
    name = f"{_MODULE_PREFIX}.m{hashlib.sha1(str(resolved).encode()).hexdigest()[:16]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise PluginFileError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look the module up while it executes
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in third-party plugin code: report it with the file, never crash
        del sys.modules[name]
        raise PluginFileError(f"{path}: plugin file failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def slo_plugin_of(module: ModuleType, path: Path) -> tuple[str, PluginFactory] | None:
    """``(id, factory)`` when the module is an SLO plugin file, ``None`` when it does not claim to be one."""
    version: Any = getattr(module, "SLO_PLUGIN_VERSION", None)
    if version is None:
        return None
    if version != SLO_PLUGIN_VERSION:
        raise PluginFileError(f"{path}: unsupported SLO_PLUGIN_VERSION {version!r} (expected {SLO_PLUGIN_VERSION!r})")
    plugin_id: Any = getattr(module, "SLO_PLUGIN_ID", None)
    if not isinstance(plugin_id, str) or not plugin_id:
        raise PluginFileError(f"{path}: SLO_PLUGIN_ID must be a non-empty string")
    factory: Any = getattr(module, "new_plugin", None)
    if not callable(factory):
        raise PluginFileError(f"{path}: an SLO plugin file must define new_plugin(config, utils)")
    return plugin_id, factory


def _sli_plugin_of(module: ModuleType, path: Path) -> SLIPlugin | None:
    from codegen.sli_plugins import SLIPluginLoadError, sli_plugin_from_namespace  # owns the SLI file format

    try:
        return sli_plugin_from_namespace(vars(module), str(path))
    except SLIPluginLoadError as exc:
        raise PluginFileError(str(exc)) from exc


def load_plugin_dirs(directories: Iterable[str]) -> LoadedPlugins:
    """Load every plugin file below ``directories``; ``PluginFileError`` on the first file that cannot be used."""
    loaded = LoadedPlugins()
    for path in discover_plugin_files(directories):
        module = import_plugin_module(path)  # run once; it is an SLI or an SLO plugin file
        sli = _sli_plugin_of(module, path)
        if sli is not None:
            _claim(loaded, f"sli:{sli.id}", path, "SLI")
            loaded.sli[sli.id] = sli
            continue
        slo = slo_plugin_of(module, path)
        if slo is None:
            raise PluginFileError(
                f"{path}: not a plugin file: an SLI plugin defines SLI_PLUGIN_VERSION, SLI_PLUGIN_ID and "
                f"generate(); an SLO plugin defines SLO_PLUGIN_VERSION = {SLO_PLUGIN_VERSION!r}, SLO_PLUGIN_ID "
                "and new_plugin(config, utils)"
            )
        plugin_id, factory = slo
        _claim(loaded, f"slo:{plugin_id}", path, "SLO")
        loaded.slo[plugin_id] = factory
    return loaded


def _claim(loaded: LoadedPlugins, key: str, path: Path, kind: str) -> None:
    first = loaded.sources.get(key)
    if first is not None:
        raise PluginFileError(f"{path}: {kind} plugin id {key.split(':', 1)[1]!r} already loaded from {first}")
    loaded.sources[key] = str(path)
