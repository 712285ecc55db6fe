"""The dashboard page: panels at their gridPos on Grafana's 24-column grid, under a header."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stack.dashboards import all_values
from stack.prometheus_api import PrometheusClient
from stack.snapshot.data import TimeRange, fetch_panel
from stack.snapshot.panels import Box, render_panel
from stack.snapshot.style import (
    DEFAULT_WIDTH,
    GAP_PX,
    GRID_COLUMNS,
    HEADER_PX,
    PAGE_PADDING,
    PANEL_PAD,
    PANEL_TITLE_PX,
    ROW_PX,
    THEME,
    esc,
)


@dataclass
class PanelReport:
    title: str
    type: str
    has_data: bool
    errors: list[str]


@dataclass
class Page:
    html: str
    width: int
    height: int
    panels: list[PanelReport]


CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: %(page)s; color: %(text)s; font: 13px Inter, "DejaVu Sans", Helvetica, sans-serif; }
.header { height: %(header)dpx; padding: 14px %(pad)dpx 0; }
.header h1 { margin: 0; font-size: 20px; font-weight: 500; }
.header .sub { color: %(muted)s; font-size: 12px; margin-top: 4px; }
.grid24 { display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: %(row)dpx; gap: %(gap)dpx;
  padding: 0 %(pad)dpx %(pad)dpx; }
.panel { background: %(panel)s; border: 1px solid %(border)s; border-radius: 3px; overflow: hidden; }
.panel .title { height: %(title)dpx; line-height: %(title)dpx; padding: 0 %(ppad)dpx; font-weight: 500;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.panel .body { padding: 0 %(ppad)dpx %(ppad)dpx; position: relative; }
.row { font-size: 15px; font-weight: 500; line-height: %(row)dpx; border-bottom: 1px solid %(border)s; }
.axis { fill: %(muted)s; font-size: 11px; }
.lane { fill: #ffffff; font-size: 12px; }
.legend { font-size: 12px; line-height: 18px; margin-top: 2px; }
.legend .item { margin-right: 14px; white-space: nowrap; }
.legend i, .pielegend i { display: inline-block; width: 14px; height: 4px; margin: 0 6px 3px 0; border-radius: 2px; }
.nodata { text-align: center; color: %(muted)s; }
.stat { position: relative; display: flex; align-items: center; justify-content: center; border-radius: 2px; }
.stat .spark { position: absolute; left: 0; top: 0; }
.statbody { position: relative; text-align: center; }
.statvalue { font-weight: 500; white-space: nowrap; }
.statname { font-size: 12px; }
.statrow { display: flex; align-items: center; justify-content: space-between; padding: 0 8px;
  border-bottom: 1px solid %(border)s; }
.statrow .statname { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; margin-right: 12px; }
table.grid, table.pielegend { border-collapse: collapse; width: 100%%; font-size: 12px; }
table.grid th, table.grid td, table.pielegend th, table.pielegend td { text-align: left; padding: 4px 8px;
  border-bottom: 1px solid %(border)s; white-space: nowrap; }
table.grid th, table.pielegend th { color: #6e9fff; font-weight: 500; }
"""


def panel_box(grid: Mapping[str, Any], page_width: int) -> Box:
    """Pixel size of a panel's body, from its gridPos, on Grafana's grid."""
    inner = page_width - 2 * PAGE_PADDING
    column = (inner - (GRID_COLUMNS - 1) * GAP_PX) / GRID_COLUMNS
    width = grid["w"] * column + (grid["w"] - 1) * GAP_PX
    height = grid["h"] * ROW_PX + (grid["h"] - 1) * GAP_PX
    return Box(width - 2 * PANEL_PAD - 2, height - PANEL_TITLE_PX - PANEL_PAD - 2)


def page_height(dashboard: Mapping[str, Any]) -> int:
    bottom = max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard.get("panels", [])), default=0)
    return HEADER_PX + bottom * (ROW_PX + GAP_PX) + PAGE_PADDING


def render_page(
    dashboard: Mapping[str, Any],
    client: PrometheusClient,
    window: TimeRange,
    *,
    width: int = DEFAULT_WIDTH,
    source: str = "",
    chosen: Mapping[str, str] | None = None,
) -> Page:
    """The dashboard as one HTML page of `width` px: header, then every panel at its gridPos.

    Variables take their "All" value unless ``chosen`` selects one (as a person picks an SLO in Grafana).
    """
    variables = {**all_values(dashboard), **(chosen or {})}
    cells, reports = [], []
    for panel in dashboard.get("panels", []):
        grid = panel["gridPos"]
        place = f"grid-column:{grid['x'] + 1} / span {grid['w']};grid-row:{grid['y'] + 1} / span {grid['h']}"
        if panel.get("type") == "row":
            cells.append(f'<div class="row" style="{place}">&#9662; {esc(panel.get("title", ""))}</div>')
            continue
        box = panel_box(grid, width)
        data = fetch_panel(panel, client, window, variables, box.width)
        body = render_panel(panel, data, box, window)
        reports.append(PanelReport(str(panel.get("title", "")), str(panel.get("type")), data.has_data, data.errors))
        cells.append(
            f'<div class="panel" style="{place}"><div class="title">{esc(panel.get("title", ""))}</div>'
            f'<div class="body" style="height:{box.height:.0f}px">{body}</div></div>'
        )
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(window.start))
    until = time.strftime("%H:%M %Z", time.localtime(window.end))
    sub = f"{stamp} to {until} · rendered by `make snapshot` from {source or client.base_url}"
    css = CSS % {
        **THEME,
        "header": HEADER_PX,
        "pad": PAGE_PADDING,
        "row": ROW_PX,
        "gap": GAP_PX,
        "title": PANEL_TITLE_PX,
        "ppad": PANEL_PAD,
    }
    document = (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head><body>'
        f'<div class="header"><h1>{esc(dashboard.get("title", ""))}</h1><div class="sub">{esc(sub)}</div></div>'
        f'<div class="grid24">{"".join(cells)}</div></body></html>'
    )
    return Page(document, width, page_height(dashboard), reports)
