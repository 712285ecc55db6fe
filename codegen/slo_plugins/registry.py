"""SLO plugin ids to factories: the built-in plugins, plus any a run adds (``-p`` files).

A built-in plugin is a module below ``codegen.slo_plugins.core``, ``.slogen`` or ``.contrib`` written exactly like
a ``-p`` plugin file: it defines ``SLO_PLUGIN_ID`` and ``new_plugin(config, utils)``. A package may instead (or
also) define ``FACTORIES: Mapping[str, PluginFactory]``. Dropping a module in one of those packages registers it.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Iterable, Mapping
from functools import cache
from types import ModuleType

from codegen.slo_plugins.api import PluginConfigError, PluginFactory

BUILTIN_PACKAGES = ("codegen.slo_plugins.core", "codegen.slo_plugins.slogen", "codegen.slo_plugins.contrib")


class UnknownPluginError(PluginConfigError):
    """A declared plugin id no registered plugin has; the message lists the ids that exist."""


class DuplicatePluginError(ValueError):
    """Two plugins claim the same id."""


class Registry:
    """An immutable id -> factory map (``with_plugins`` returns a new one)."""

    def __init__(self, factories: Mapping[str, PluginFactory] | None = None) -> None:
        self._factories: dict[str, PluginFactory] = dict(factories or {})

    def ids(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, plugin_id: object) -> bool:
        return plugin_id in self._factories

    def factory(self, plugin_id: str) -> PluginFactory:
        """The factory of ``plugin_id``; ``UnknownPluginError`` names the id and every id that exists."""
        try:
            return self._factories[plugin_id]
        except KeyError:
            known = ", ".join(self.ids()) or "none"
            raise UnknownPluginError(f'unknown SLO plugin id "{plugin_id}" (known SLO plugin ids: {known})') from None

    def with_plugins(self, factories: Mapping[str, PluginFactory]) -> Registry:
        """This registry plus ``factories`` (e.g. loaded with ``-p``); an id registered twice is an error."""
        clash = sorted(set(factories) & set(self._factories))
        if clash:
            raise DuplicatePluginError(f"SLO plugin id(s) already registered: {', '.join(clash)}")
        return Registry({**self._factories, **factories})


def module_factories(modules: Iterable[ModuleType]) -> dict[str, PluginFactory]:
    """``SLO_PLUGIN_ID -> new_plugin`` of every module that defines both."""
    out: dict[str, PluginFactory] = {}
    for module in modules:
        plugin_id = getattr(module, "SLO_PLUGIN_ID", None)
        factory = getattr(module, "new_plugin", None)
        if isinstance(plugin_id, str) and callable(factory):
            if plugin_id in out:
                raise DuplicatePluginError(f"SLO plugin id {plugin_id!r} is defined twice (in {module.__name__})")
            out[plugin_id] = factory
    return out


def _package_factories(package_name: str) -> dict[str, PluginFactory]:
    if importlib.util.find_spec(package_name) is None:
        return {}
    package = importlib.import_module(package_name)
    modules = [
        importlib.import_module(f"{package_name}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]
    found = module_factories(modules)
    declared: Mapping[str, PluginFactory] = getattr(package, "FACTORIES", {})
    for plugin_id, factory in declared.items():
        if found.get(plugin_id, factory) is not factory:
            raise DuplicatePluginError(f"SLO plugin id {plugin_id!r} is defined twice in {package_name}")
        found[plugin_id] = factory
    return found


@cache
def builtin_registry() -> Registry:
    """Every built-in plugin (imported once per process)."""
    factories: dict[str, PluginFactory] = {}
    for package in BUILTIN_PACKAGES:
        for plugin_id, factory in _package_factories(package).items():
            if plugin_id in factories:
                raise DuplicatePluginError(f"SLO plugin id {plugin_id!r} is defined twice ({package})")
            factories[plugin_id] = factory
    return Registry(factories)
