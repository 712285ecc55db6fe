"""Assembling an SLO's plugin chain exactly as Sloth v0.16 does.

Declarations come in this order: the run's ``-s`` plugins, the spec's ``slo_plugins``, the SLO's ``plugins``.
``overridePrevious`` on the spec level drops the defaults and the ``-s`` plugins; on the SLO level it also drops
the spec level's. The declared plugins are sorted by ``priority`` (stable: equal priorities keep declaration
order); negative priorities run before the default plugins, zero and above after them. With
``--disable-default-slo-plugins`` the default slot is empty.

The default slot holds Sloth's core plugins followed by slogen's own (``slogen.dev/...``), which
``--sloth-compat`` leaves out, except the timeslice SLI recording that SLI type needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from codegen.model import SLO, CompileOptions, PluginRef
from codegen.slo_plugins.api import PluginConfigError, PluginUtils, SLOPlugin
from codegen.slo_plugins.registry import Registry, UnknownPluginError

VALIDATE = "sloth.dev/core/validate/v1"
SLI_RULES = "sloth.dev/core/sli_rules/v1"
METADATA_RULES = "sloth.dev/core/metadata_rules/v1"
ALERT_RULES = "sloth.dev/core/alert_rules/v1"
TIMESLICE_SLI = "slogen.dev/timeslice_sli/v1"
NAN_SAFE_SLI = "slogen.dev/nan_safe_sli/v1"
ALERT_ROUTING = "slogen.dev/alert_routing/v1"
NO_DATA_ALERT = "slogen.dev/no_data_alert/v1"

SLOTH_DEFAULTS = (VALIDATE, SLI_RULES, METADATA_RULES, ALERT_RULES)
SLOGEN_REQUIRED = (TIMESLICE_SLI,)  # an SLI type of ours needs it; harmless for Sloth's SLIs
SLOGEN_IMPROVEMENTS = (NAN_SAFE_SLI, ALERT_ROUTING, NO_DATA_ALERT)  # what --sloth-compat leaves out

LOGGER = logging.getLogger("slogen.slo_plugins")


class PluginDeclarationError(PluginConfigError):
    """A declared plugin could not be created (unknown id, invalid config); ``ref`` says where it was declared."""

    def __init__(self, ref: PluginRef, message: str) -> None:
        super().__init__(message)
        self.ref = ref


def default_ids(options: CompileOptions) -> tuple[str, ...]:
    """The plugin ids of the default slot for this run."""
    if options.disable_default_plugins:
        return ()
    extra = () if options.sloth_compat else SLOGEN_IMPROVEMENTS
    return (*SLOTH_DEFAULTS, *SLOGEN_REQUIRED, *extra)


@dataclass(frozen=True)
class ChainPlan:
    """The declared plugins around the default slot, for one SLO."""

    before: tuple[PluginRef, ...]  # priority < 0
    defaults: bool  # whether the default slot runs
    after: tuple[PluginRef, ...]  # priority >= 0

    def ids(self, options: CompileOptions) -> list[str]:
        slot = list(default_ids(options)) if self.defaults else []
        return [r.id for r in self.before] + slot + [r.id for r in self.after]


def chain_plan(slo: SLO, options: CompileOptions) -> ChainPlan:
    """Which declared plugins run before and after the default slot, and whether the slot runs."""
    spec_level, slo_level = slo.spec_plugins, slo.plugins
    override = spec_level.override_previous or slo_level.override_previous
    declared = slo_level.plugins if slo_level.override_previous else (*spec_level.plugins, *slo_level.plugins)
    refs = sorted((*(() if override else options.slo_plugins), *declared), key=lambda r: r.priority)
    return ChainPlan(
        before=tuple(r for r in refs if r.priority < 0),
        defaults=not override,
        after=tuple(r for r in refs if r.priority >= 0),
    )


@dataclass
class Chain:
    """Builds each SLO's plugin list; the default slot's plugins are created once per run, declared ones per SLO
    (as Sloth does: a declared plugin's factory runs for every SLO that declares it)."""

    registry: Registry
    options: CompileOptions
    utils: PluginUtils = field(default_factory=lambda: PluginUtils(LOGGER))
    _defaults: list[tuple[str, SLOPlugin]] | None = field(default=None, init=False, repr=False)

    def defaults(self) -> list[tuple[str, SLOPlugin]]:
        if self._defaults is None:
            self._defaults = [(i, self.registry.factory(i)(None, self.utils)) for i in default_ids(self.options)]
        return self._defaults

    def create(self, ref: PluginRef) -> SLOPlugin:
        """Look up and instantiate one declared plugin; ``PluginDeclarationError`` names the id and the problem."""
        try:
            return self.registry.factory(ref.id)(ref.config, self.utils)
        except UnknownPluginError as exc:
            raise PluginDeclarationError(ref, str(exc)) from exc
        except PluginConfigError as exc:
            raise PluginDeclarationError(ref, f'invalid config of SLO plugin "{ref.id}": {exc}') from exc

    def plugins_for(self, slo: SLO) -> list[tuple[str, SLOPlugin]]:
        """``(id, plugin)`` in execution order."""
        if not (slo.spec_plugins.plugins or slo.plugins.plugins or self.options.slo_plugins):
            overridden = slo.spec_plugins.override_previous or slo.plugins.override_previous
            return [] if overridden else self.defaults()  # nothing declared: the common case, no sorting
        plan = chain_plan(slo, self.options)
        if not plan.before and not plan.after:
            return self.defaults() if plan.defaults else []
        before = [(r.id, self.create(r)) for r in plan.before]
        after = [(r.id, self.create(r)) for r in plan.after]
        return before + (self.defaults() if plan.defaults else []) + after
