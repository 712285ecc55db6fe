"""Round-trip helpers: load a spec, compile it, and reduce the plans to what a rule file says (semantic form)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from codegen.compiler import compile_specs
from codegen.errors import SpecError, SpecErrors
from codegen.model import SLO, CompileOptions, SpecKind, SpecSet
from codegen.parse import load_specs
from codegen.plan import AlertingRule, RuleGroup, SLOPlan
from codegen.plugin_files import load_plugin_dirs
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS
from codegen.slo_plugins.registry import builtin_registry

REPO = Path(__file__).parents[3]
GOLDEN = REPO / "tests" / "codegen" / "sloth_golden"
PLUGINS = REPO / "examples" / "plugins"
_WS = re.compile(r"\s+")

Rule = tuple[str, str, str, str | None, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
Groups = list[tuple[str, str | None, list[Rule]]]


@dataclass(frozen=True)
class Run:
    """How one example is read and compiled: the flags its own test gives it."""

    path: Path
    sloth_compat: bool = False  # read as Sloth reads it (Sloth's examples)
    windows: Path | None = None
    default_period: str = "30d"


_LOADED = load_plugin_dirs([str(PLUGINS)])
SLI_PLUGINS = {**BUILTIN_SLI_PLUGINS, **_LOADED.sli}
REGISTRY = builtin_registry().with_plugins(_LOADED.slo)


def _read(run: Run, path: Path, compat: bool) -> tuple[SpecSet, tuple[SpecError, ...]]:
    warnings: list[SpecError] = []
    specs = load_specs(
        str(path),
        CompileOptions(sloth_compat=compat),
        run.default_period,
        str(run.windows) if run.windows else None,
        SLI_PLUGINS,
        warnings=warnings,
    )
    return specs, tuple(warnings)


@cache  # each example's input is read once for all its round trips (the model is frozen)
def _input(run: Run) -> tuple[SpecSet, tuple[SpecError, ...]]:
    return _read(run, run.path, run.sloth_compat)


def load(run: Run, path: Path | None = None, *, sloth_compat: bool | None = None) -> SpecSet:
    """``run``'s input, or ``path`` read with ``run``'s flags: then any warning the input itself did not have
    (the same message on the same SLO and field) is raised as an error."""
    if path is None:
        return _input(run)[0]
    specs, warnings = _read(run, path, run.sloth_compat if sloth_compat is None else sloth_compat)
    known = {_what(w) for w in _input(run)[1]}
    if new := [w for w in warnings if _what(w) not in known]:  # a converted spec is read exactly as written
        raise SpecErrors(new)
    return specs


def _what(warning: SpecError) -> tuple[str | None, str, str]:
    return warning.slo, warning.field, warning.message


def compiled(specs: SpecSet, options: CompileOptions | None = None) -> dict[str, Groups]:
    """Every SLO's rule groups by SLO ID, in the semantic form ``compare.py`` uses for rule files."""
    if options is not None:
        specs = replace(specs, options=options)
    return {plan.slo.id: _groups(plan) for plan in compile_specs(specs, REGISTRY).plans}


def _rule(rule: Any) -> Rule:
    if isinstance(rule, AlertingRule):
        return ("alert", rule.alert, _WS.sub("", rule.expr), rule.for_, rule.labels, rule.annotations)
    return ("record", rule.record, _WS.sub("", rule.expr), None, rule.labels, ())


def _group(group: RuleGroup) -> tuple[str, str | None, list[Rule]]:
    return group.name, group.interval, [_rule(r) for r in group.rules]


def _groups(plan: SLOPlan) -> Groups:
    return [_group(g) for g in plan.groups()]


def with_slos(specs: SpecSet, change: Any, kind: SpecKind | None = None) -> SpecSet:
    """``specs`` with every SLO replaced by ``change(slo)`` (and every document's kind by ``kind``)."""
    files = tuple(
        replace(
            f,
            documents=tuple(
                replace(d, slos=tuple(change(s) for s in d.slos), kind=kind or d.kind) for d in f.documents
            ),
        )
        for f in specs.files
    )
    return replace(specs, files=files)


def relabel(groups: dict[str, Groups], labels: dict[str, str]) -> dict[str, Groups]:
    """``groups`` with the values of ``labels`` (where a rule has them) replaced: an expected difference."""

    def fix(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple((k, labels.get(k, v)) for k, v in pairs)

    return {
        slo_id: [(n, i, [(r[0], r[1], r[2], r[3], fix(r[4]), r[5]) for r in rules]) for n, i, rules in gs]
        for slo_id, gs in groups.items()
    }


def slos_of(specs: SpecSet) -> dict[str, SLO]:
    return {s.id: s for s in specs.slos}
