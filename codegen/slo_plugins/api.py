"""The SLO plugin contract, shared by built-in plugins and plugins loaded with ``-p/--plugins-path``.

It mirrors Sloth's ``prometheus/slo/v1``: a plugin is created by a factory from its JSON-like config, then asked
to process each SLO: it may read the request and edit the plan (``SLORules``). Plugins run in a chain ordered by
``priority`` (lower first; equal priorities keep declaration order); a spec- or SLO-level ``overridePrevious``
drops the plugins declared before it (the defaults included).

A plugin file (``plugin.py`` below a ``-p`` directory) defines ``SLO_PLUGIN_VERSION = "prometheus/slo/v1"``,
``SLO_PLUGIN_ID`` and ``new_plugin(config, utils) -> SLOPlugin``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from codegen.model import SLO, CompileOptions, PluginChainSpec, PluginRef, SpecKind
from codegen.plan import SLORules

__all__ = [
    "SLO_PLUGIN_VERSION",
    "PluginChainSpec",
    "PluginConfigError",
    "PluginFactory",
    "PluginProcessError",
    "PluginRef",
    "PluginRequest",
    "PluginUtils",
    "SLOPlugin",
]

SLO_PLUGIN_VERSION = "prometheus/slo/v1"


class PluginConfigError(ValueError):
    """A plugin's config is invalid; the message names what is wrong (the caller adds file, SLO and plugin id)."""


class PluginProcessError(ValueError):
    """A plugin refused an SLO (e.g. the validate plugin); the message says why."""


@dataclass(frozen=True)
class PluginRequest:
    """What a plugin reads: the SLO (with its window catalog), the run's options and the spec it came from.

    ``slo.labels`` already include the run's ``--extra-labels`` (Sloth merges them before the chain runs).
    """

    slo: SLO
    options: CompileOptions
    spec_kind: SpecKind
    original_source: Mapping[str, Any] = field(default_factory=dict)  # the raw spec document, read-only


@dataclass(frozen=True)
class PluginUtils:
    """What the application lends a plugin (Sloth's ``AppUtils``)."""

    logger: logging.Logger


class SLOPlugin(Protocol):
    """A processed step of the chain. ``process`` edits ``rules`` in place or raises ``PluginProcessError``."""

    def process(self, request: PluginRequest, rules: SLORules) -> None: ...


PluginFactory = Callable[[Any, PluginUtils], SLOPlugin]
"""``factory(config, utils)``: validate ``config`` (raise ``PluginConfigError``) and return the plugin."""
