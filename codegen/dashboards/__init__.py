"""Dashboards renderer: the spec model to Grafana dashboard JSON files, keyed by file name (``<uid>.json``).

Declared dashboards (``kind: Dashboard`` with rows) and the SLO dashboard (generated from every SLO) go
through the same generic renderer in ``grafana``; ``slo`` only turns SLOs into rows of panels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codegen.compiler import CompiledSpecs
from codegen.dashboard_model import DashboardSpec
from codegen.dashboards.grafana import (
    DATASOURCE,
    DATASOURCE_UID,
    SCHEMA_VERSION,
    RenderContext,
    build_dashboard,
    to_json,
)
from codegen.dashboards.slo import VARIABLES, slo_dashboard_spec, variables_for
from codegen.dashboards.slo_views import detail_spec, overview_spec

__all__ = [
    "DATASOURCE",
    "DATASOURCE_UID",
    "SCHEMA_VERSION",
    "RenderedDashboard",
    "build_dashboards",
    "render_dashboards",
]


@dataclass(frozen=True)
class RenderedDashboard:
    """One dashboard model and where its definition came from (for the docs page)."""

    spec: DashboardSpec
    model: dict[str, Any]
    source: str

    @property
    def filename(self) -> str:
        return f"{self.spec.uid}.json"


def build_dashboards(specs: CompiledSpecs, source_label: Callable[[str], str] = str) -> list[RenderedDashboard]:
    """Every dashboard of the run: declared ones in spec order, then the SLO overview and the SLO detail view.

    The overview and the detail view have the same panels whatever the number of SLOs (a declared ``generate:
    slos`` board, one row per SLO, is for a service's own handful of SLOs). A declared board with the same uid
    replaces a generated one. ``source_label`` turns a spec file's path below the input root into its origin.
    """
    ctx = RenderContext(specs.options.runbook_base_url)
    out: list[RenderedDashboard] = []
    for compiled in specs.files:
        origin = source_label(compiled.relative)
        for board in compiled.spec_file.dashboards:
            if board.generate == "slos":
                generated = slo_dashboard_spec(specs, board)
                if generated is None:
                    continue
                variables = variables_for([p.slo for p in specs.plans])
                model = build_dashboard(generated, ctx, variables, f"{origin} and every SLO of the run")
                out.append(RenderedDashboard(generated, model, origin))
            else:
                out.append(RenderedDashboard(board, build_dashboard(board, ctx, (), origin), origin))
    slos = [plan.slo for plan in specs.plans]
    if not slos:
        return out
    taken = {r.spec.uid for r in out}
    origin = "every SLO of the run"
    for view, variables in ((overview_spec(), VARIABLES), (detail_spec(slos), variables_for(slos))):
        if view.uid not in taken:
            out.append(RenderedDashboard(view, build_dashboard(view, ctx, variables, origin), origin))
    return out


def render_dashboards(specs: CompiledSpecs, source_label: Callable[[str], str] = str) -> dict[str, str]:
    """File name -> JSON text (sorted keys, indent 2, trailing newline)."""
    return {r.filename: to_json(r.model) for r in build_dashboards(specs, source_label)}
