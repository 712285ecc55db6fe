"""Compile: every SLO of a run through its plugin chain, once, into the frozen plans every renderer reads.

A pure function of the specs and the plugin registry. Sloth's order per SLO: ``--extra-labels`` merge into the SLO's
labels, the chain runs on an empty plan, unnamed groups get Sloth's default names, then ``--disable-recordings``
and ``--disable-alerts`` empty the groups they name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from codegen import conventions as c
from codegen.dashboard_model import DashboardSpec
from codegen.errors import SpecError, SpecErrors
from codegen.model import SLO, CompileOptions, SpecDocument, SpecFile, SpecKind, SpecSet, ThresholdAlert
from codegen.plan import RuleGroup, SLOPlan, SLORules, empty_rules
from codegen.slo_plugins.api import PluginConfigError, PluginProcessError, PluginRequest
from codegen.slo_plugins.chain import Chain, PluginDeclarationError
from codegen.slo_plugins.labels import merge
from codegen.slo_plugins.registry import Registry, builtin_registry


@dataclass(frozen=True)
class CompiledDocument:
    document: SpecDocument
    plans: tuple[SLOPlan, ...]


@dataclass(frozen=True)
class CompiledFile:
    spec_file: SpecFile
    documents: tuple[CompiledDocument, ...]

    @property
    def relative(self) -> str:
        return self.spec_file.relative


@dataclass(frozen=True)
class CompiledSpecs:
    """The renderers' single input: the specs and one plan per SLO, in spec order."""

    specs: SpecSet
    files: tuple[CompiledFile, ...]

    @property
    def options(self) -> CompileOptions:
        return self.specs.options

    @property
    def plans(self) -> tuple[SLOPlan, ...]:
        return tuple(p for f in self.files for d in f.documents for p in d.plans)

    @property
    def threshold_alerts(self) -> tuple[ThresholdAlert, ...]:
        return self.specs.threshold_alerts

    @property
    def dashboards(self) -> tuple[DashboardSpec, ...]:
        return self.specs.dashboards


def _named(group: RuleGroup, name: str) -> RuleGroup:
    return group if group.name else group.with_name(name)


def _finish(slo: SLO, rules: SLORules, options: CompileOptions) -> SLOPlan:
    """Sloth's safe defaults (group names), then the CLI's disable flags."""
    sli = _named(rules.sli_recordings, c.sli_group(slo.id))
    meta = _named(rules.meta_recordings, c.meta_group(slo.id))
    alerts = _named(rules.alerts, c.alerts_group(slo.id))
    extra = tuple(_named(g, c.extra_group(i, slo.id)) for i, g in enumerate(rules.extra_groups))
    if options.disable_recordings:
        sli, meta = sli.with_rules(()), meta.with_rules(())
    if options.disable_alerts:
        alerts = alerts.with_rules(())
    return SLOPlan(slo, sli, meta, alerts, extra)


def compile_slo(slo: SLO, spec_kind: SpecKind, chain: Chain) -> SLOPlan:
    """Run ``slo``'s chain; plugin errors propagate (``PluginConfigError``, ``PluginProcessError``)."""
    options = chain.options
    seen = slo if not options.extra_labels else replace(slo, labels=merge(slo.labels, options.extra_labels))
    request = PluginRequest(seen, options, spec_kind)
    rules = empty_rules()
    for plugin_id, plugin in chain.plugins_for(slo):
        try:
            plugin.process(request, rules)
        except PluginProcessError as exc:
            raise PluginProcessError(f"SLO plugin {plugin_id}: {exc}") from exc
    return _finish(slo, rules, options)


def _error(slo: SLO, message: str) -> SpecError:
    return SpecError(slo.source.path, slo.source.line, slo.name, "", message)


def _declaration_error(slo: SLO, exc: PluginDeclarationError) -> SpecError:
    """At the declaration: once for a spec-level plugin (no SLO named, so the SLOs sharing it report it once)."""
    ref = exc.ref
    if ref.source is None:  # a -s plugin: no file
        return SpecError("--slo-plugins", None, None, "", str(exc))
    spec_level = any(r is ref for r in slo.spec_plugins.plugins)
    return SpecError(ref.source.path, ref.source.line, None if spec_level else slo.name, "", str(exc))


def iter_compile(specs: SpecSet, chain: Chain, errors: list[SpecError]) -> Iterator[CompiledFile]:
    for spec_file in specs.files:
        documents: list[CompiledDocument] = []
        for doc in spec_file.documents:
            plans: list[SLOPlan] = []
            for slo in doc.slos:
                try:
                    plans.append(compile_slo(slo, doc.kind, chain))
                except PluginDeclarationError as exc:
                    errors.append(_declaration_error(slo, exc))
                except (PluginConfigError, PluginProcessError) as exc:
                    errors.append(_error(slo, str(exc)))
            documents.append(CompiledDocument(doc, tuple(plans)))
        yield CompiledFile(spec_file, tuple(documents))


def compile_specs(specs: SpecSet, registry: Registry | None = None) -> CompiledSpecs:
    """One plan per SLO; raises ``SpecErrors`` listing every SLO whose chain failed (unknown plugin id, bad
    plugin config, a plugin refusing the SLO), with file, line and SLO."""
    chain = Chain(registry or builtin_registry(), specs.options)
    errors: list[SpecError] = []
    files = tuple(iter_compile(specs, chain, errors))
    if errors:
        raise SpecErrors(errors)
    return CompiledSpecs(specs, files)
