"""The three rule sets under test, built by slogen's own code for the same SLOs.

``sloth``: ``--sloth-compat`` (Sloth v0.16's rules); ``default``: today's default (NaN-safe raw windows);
``exact``: the tiled SLI group of ``codegen.exact_rules`` with today's metadata and alert rules on top;
``exact30``: the same with the SLI group evaluated every 30 s (the scrape interval). Each set
names its SLOs under its own service (``sloth-s07``, ``default-s07``, ``exact-s07``), so their recorded series
never collide in one Prometheus while the raw queries read the same counters.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from codegen.compiler import CompiledDocument
from codegen.exact_rules import exact_sli_groups, sloth_plan
from codegen.model import SLO, CompileOptions
from codegen.parse import load_specs
from codegen.plan import RecordingRule, Rule, RuleGroup
from codegen.rules import document_groups

from .traffic import Service

SETS = ("sloth", "default", "exact", "exact30")
LABEL = {
    "sloth": "Sloth v0.16 (`--sloth-compat`)",
    "default": "slogen default today",
    "exact": "tiled (new default)",
    "exact30": "tiled, SLI group every 30 s",
}


def meta_recordings(slo: SLO, options: CompileOptions, mode: str) -> RuleGroup:
    """The default chain's metadata group (``mode`` is the spec's; kept for the callers' shape)."""
    return sloth_plan(slo, options).meta_recordings


def slo_alerts(slo: SLO, options: CompileOptions) -> RuleGroup | None:
    """The default chain's alert group, None when it has no rules."""
    alerts = sloth_plan(slo, options).alerts
    return alerts if alerts.rules else None


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


def build(set_name: str, services: list[Service]) -> RuleSet:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{set_name}.yaml"
        path.write_text(spec_text(set_name, services))
        specs = load_specs(str(path))
    doc = specs.files[0].documents[0]
    slos = {slo.name: slo for slo in doc.slos}
    groups: dict[str, list[RuleGroup]] = {}
    if set_name.startswith("exact"):
        options = CompileOptions()
        interval = "30s" if set_name == "exact30" else None
        for slo in doc.slos:
            alerts = slo_alerts(slo, options)
            groups[slo.name] = [
                *exact_sli_groups(slo, options, interval),
                meta_recordings(slo, options, "cli-gen-prom"),
                *([alerts] if alerts else []),
            ]
    else:
        options = CompileOptions(sloth_compat=set_name == "sloth")
        compiled = CompiledDocument(doc, tuple(sloth_plan(slo, options) for slo in doc.slos))
        for group in document_groups(compiled, options):
            owner = next(name for name in slos if group.name.endswith(f"-{set_name}-{name}"))
            groups.setdefault(owner, []).append(group)
    return RuleSet(set_name, groups, slos)


def rules_of(groups: list[RuleGroup]) -> list[tuple[RuleGroup, Rule]]:
    return [(g, r) for g in groups for r in g.rules]


def recorded(groups: list[RuleGroup]) -> list[RecordingRule]:
    return [r for g in groups for r in g.rules if isinstance(r, RecordingRule)]
