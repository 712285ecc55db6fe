"""The rule sets under test, built by slogen's own code for the same SLOs.

``sloth``: ``--sloth-compat`` (Sloth v0.16's rules); ``default``: the default before tiles (NaN-safe raw windows);
``exact``: the same chain plus ``slogen.dev/exact_sli/v1`` (the tiled SLI group of ``codegen.exact_rules``);
``exact30``: the same with the SLI group evaluated every 30 s (the scrape interval). Each set
names its SLOs under its own service (``sloth-s07``, ``default-s07``, ``exact-s07``), so their recorded series
never collide in one Prometheus while the raw queries read the same counters.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from codegen.compiler import compile_specs
from codegen.model import SLO, CompileOptions, PluginRef
from codegen.parse import load_specs
from codegen.plan import RecordingRule, Rule, RuleGroup
from codegen.slo_plugins.chain import default_ids
from codegen.slo_plugins.slogen.exact_sli import SLO_PLUGIN_ID as EXACT_SLI

from .traffic import Service

SETS = ("sloth", "default", "exact", "exact30")
LABEL = {
    "sloth": "Sloth v0.16 (`--sloth-compat`)",
    "default": "NaN-safe raw windows (default before tiles)",
    "exact": "tiles (default)",
    "exact30": "tiles, SLI group every 30 s",
}


def spec_text(set_name: str, services: list[Service]) -> str:
    slos = []
    for s in services:
        slos.append(
            f"  - name: {s.name}\n    objective: 99\n    sli:\n      events:\n"
            f'        error_query: sum(rate(bench_errors_total{{slo="{s.name}"}}[{{{{.window}}}}]))\n'
            f'        total_query: sum(rate(bench_requests_total{{slo="{s.name}"}}[{{{{.window}}}}]))\n'
            f"    alerting:\n      name: Burn{s.name.capitalize()}\n"
        )
    return f'version: "prometheus/v1"\nservice: "{set_name}"\nlabels: {{bench: rules}}\nslos:\n' + "".join(slos)


@dataclass(frozen=True)
class RuleSet:
    name: str
    groups_by_slo: dict[str, list[RuleGroup]]  # by SLO name (the service's name, e.g. s07)
    slos: dict[str, SLO]


def options_of(set_name: str) -> CompileOptions:
    """The run options of a set: the default chain without the tiles, plus the tiles for the exact sets."""
    if set_name == "sloth":
        return CompileOptions(sloth_compat=True)
    untiled = tuple(PluginRef(i) for i in default_ids(CompileOptions()) if i != EXACT_SLI)
    tiles = {"exact": (PluginRef(EXACT_SLI),), "exact30": (PluginRef(EXACT_SLI, {"interval": "30s"}),)}
    return CompileOptions(disable_default_plugins=True, slo_plugins=untiled + tiles.get(set_name, ()))


def build(set_name: str, services: list[Service]) -> RuleSet:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{set_name}.yaml"
        path.write_text(spec_text(set_name, services))
        specs = load_specs(str(path), options_of(set_name))
    plans = compile_specs(specs).plans
    return RuleSet(set_name, {p.slo.name: p.groups() for p in plans}, {p.slo.name: p.slo for p in plans})


def rules_of(groups: list[RuleGroup]) -> list[tuple[RuleGroup, Rule]]:
    return [(g, r) for g in groups for r in g.rules]


def recorded(groups: list[RuleGroup]) -> list[RecordingRule]:
    return [r for g in groups for r in g.rules if isinstance(r, RecordingRule)]
