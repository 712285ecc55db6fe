"""A panel's queries run over a time range, variables expanded as Grafana does."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stack.dashboards import expand, legend_name, time_variables
from stack.prometheus_api import PrometheusClient, PrometheusError


@dataclass
class PanelData:
    """What a panel's queries returned: named series (range) or named values (instant)."""

    series: list[tuple[str, dict[str, str], list[tuple[float, float]]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ref_ids: list[str] = field(default_factory=list)  # the target (refId) each entry of `series` came from

    @property
    def has_data(self) -> bool:
        return any(points for _, _, points in self.series)


@dataclass(frozen=True)
class TimeRange:
    start: float
    end: float
    scrape_interval: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def step(self, width_px: float) -> float:
        """Grafana's interval: the range over the panel's pixel width, never below the scrape interval."""
        return max(self.scrape_interval, math.ceil(self.seconds / max(100.0, width_px)))


def fetch_panel(
    panel: Mapping[str, Any],
    client: PrometheusClient,
    window: TimeRange,
    variables: Mapping[str, str],
    width_px: float,
) -> PanelData:
    step = window.step(width_px)
    names = {**variables, **time_variables(window.seconds, step, window.scrape_interval)}
    data = PanelData()
    for target in panel.get("targets", []):
        expr = target.get("expr")
        if not expr or target.get("hide"):
            continue
        try:
            query = expand(str(expr), names)
            if target.get("instant") and not target.get("range"):
                for sample in client.query(query, window.end):
                    name = legend_name(str(target.get("legendFormat", "")), sample.labels)
                    data.series.append((name, sample.labels, [(window.end, sample.value)]))
                    data.ref_ids.append(str(target.get("refId", "")))
            else:
                for series in client.query_range(query, window.start, window.end, step):
                    name = legend_name(str(target.get("legendFormat", "")), series.labels)
                    data.series.append((name, series.labels, series.points))
                    data.ref_ids.append(str(target.get("refId", "")))
        except (PrometheusError, KeyError) as exc:
            data.errors.append(str(exc))
    return data
