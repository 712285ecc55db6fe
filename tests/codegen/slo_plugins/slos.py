"""Building SLOs and running one plugin on them, for the plugin tests (Sloth's plugin_test.go tables, ported)."""

from __future__ import annotations

import logging
from typing import Any

from codegen.model import (
    SLI,
    SLO,
    Alerting,
    AlertOptions,
    AlertTier,
    CompileOptions,
    EventsSLI,
    Source,
    SpecKind,
    WindowCatalog,
)
from codegen.plan import SLORules, empty_rules
from codegen.slo_plugins.api import PluginRequest, PluginUtils
from codegen.slo_plugins.registry import builtin_registry
from codegen.windows import builtin_catalogs

UTILS = PluginUtils(logging.getLogger("tests.slo_plugins"))
EVENTS = EventsSLI('rate(my_metric[{{.window}}]{error="true"})', "rate(my_metric[{{.window}}])")
SLOTH_IDS = {"sloth_id": "test-svc-test-name", "sloth_service": "test-svc", "sloth_slo": "test-name"}


def catalog_30d() -> WindowCatalog:
    return builtin_catalogs()[30 * 86400]


def catalog(pairs: list[tuple[int, int]], period: int = 30 * 86400) -> WindowCatalog:
    """A catalog from (short, long) seconds for page-quick, page-slow, ticket-quick, ticket-slow."""
    names = (("page-quick", "page"), ("page-slow", "page"), ("ticket-quick", "ticket"), ("ticket-slow", "ticket"))
    tiers = [AlertTier(n, s, 2.0, short, long, period) for (n, s), (short, long) in zip(names, pairs, strict=True)]  # type: ignore[arg-type]
    return WindowCatalog(period, *tiers)


def slo(
    sli: SLI = EVENTS,
    *,
    service: str = "test-svc",
    name: str = "test-name",
    objective: float = 99.9,
    labels: tuple[tuple[str, str], ...] = (("kind", "test"),),
    alerting: Alerting | None = None,
    windows: WindowCatalog | None = None,
    **extra: Any,
) -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=objective,
        description="",
        labels=labels,
        sli=sli,
        alerting=alerting or Alerting(page=AlertOptions(disabled=True), ticket=AlertOptions(disabled=True)),
        windows=windows or catalog_30d(),
        source=Source("test.yaml", 1),
        **extra,
    )


def run(
    plugin_id: str,
    target: SLO,
    config: Any = None,
    rules: SLORules | None = None,
    options: CompileOptions | None = None,
    spec_kind: SpecKind = "prometheus/v1",
) -> SLORules:
    """Create ``plugin_id`` from ``config`` through the registry and process ``target`` once."""
    plugin = builtin_registry().factory(plugin_id)(config, UTILS)
    out = rules if rules is not None else empty_rules()
    plugin.process(PluginRequest(target, options or CompileOptions(), spec_kind), out)
    return out


def as_dicts(rules: Any) -> list[dict[str, Any]]:
    """Rules as Sloth's test tables write them: record/alert, expr, labels (and annotations) as dicts."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        entry: dict[str, Any] = {"expr": rule.expr, "labels": dict(rule.labels)}
        if hasattr(rule, "record"):
            entry["record"] = rule.record
        else:
            entry["alert"] = rule.alert
            entry["annotations"] = dict(rule.annotations)
        out.append(entry)
    return out
