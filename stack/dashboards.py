"""The queries of a generated Grafana dashboard, with template variables expanded as Grafana would.

Grafana substitutes `$var`, `${var}`, `$__rate_interval`, `$__interval` and `$__range` before it sends a query
to Prometheus. Doing the same here lets the snapshot renderer and the end-to-end test run exactly the queries
a person's Grafana would run for a given time range.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel."""

    panel_id: int
    panel_title: str
    panel_type: str
    ref_id: str
    expr: str
    legend: str
    instant: bool


def load_dashboard(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "panels" not in data:
        raise ValueError(f"{path}: not a Grafana dashboard model (no 'panels')")
    return data


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included (collapsed rows keep theirs inside)."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Every target with an `expr`, in panel order."""
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr or target.get("hide"):
                continue
            found.append(
                PanelQuery(
                    panel_id=int(panel.get("id", 0)),
                    panel_title=str(panel.get("title", "")),
                    panel_type=str(panel.get("type", "")),
                    ref_id=str(target.get("refId", "")),
                    expr=str(expr),
                    legend=str(target.get("legendFormat", "")),
                    instant=bool(target.get("instant")) and not target.get("range"),
                )
            )
    return found


def variable_queries(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, query) of each query-type template variable, e.g. ("service", "label_values(...)")."""
    out = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if text:
            out.append((str(variable["name"]), str(text)))
    return out


def all_values(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """Each variable's "All" selection as Grafana sends it for Prometheus: its `allValue` (".*" here)."""
    values = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("includeAll") and variable.get("allValue") is not None:
            values[str(variable["name"])] = str(variable["allValue"])
    return values


def duration(seconds: float) -> str:
    """A Prometheus duration for a whole number of seconds (at least 1s)."""
    return f"{max(1, math.ceil(seconds))}s"


def time_variables(range_seconds: float, step_seconds: float, scrape_interval_seconds: float) -> dict[str, str]:
    """Grafana's built-ins: `$__rate_interval` = max(4 x scrape interval, interval + scrape interval)."""
    return {
        "__range": duration(range_seconds),
        "__interval": duration(step_seconds),
        "__rate_interval": duration(max(4 * scrape_interval_seconds, step_seconds + scrape_interval_seconds)),
    }


def expand(expr: str, variables: Mapping[str, str]) -> str:
    """Substitute `$name` / `${name}`; an unknown variable is an error, never sent to Prometheus as text."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise KeyError(f"dashboard variable ${name} has no value (known: {', '.join(sorted(variables))})")
        return variables[name]

    return _VARIABLE.sub(replace, expr)


def legend_name(legend: str, labels: Mapping[str, str]) -> str:
    """Grafana's legendFormat: `{{label}}` replaced by the series' label value; `__auto` or empty shows the
    series' labels."""
    if legend and legend != "__auto":
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), legend)
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    name = labels.get("__name__", "")
    if not shown:
        return name or "value"
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}"
