"""Grafana's grid and dark theme, as the snapshot draws them."""

from __future__ import annotations

import html

GRID_COLUMNS = 24
ROW_PX = 30
GAP_PX = 8
PAGE_PADDING = 16
HEADER_PX = 64
PANEL_TITLE_PX = 30
PANEL_PAD = 8
DEFAULT_WIDTH = 1600

THEME = {
    "page": "#111217",
    "panel": "#181b1f",
    "border": "#2c3235",
    "text": "#ccccdc",
    "muted": "#8e8e99",
    "grid": "#2a2d33",
}
NAMED_COLORS = {
    "green": "#73BF69",
    "red": "#F2495C",
    "orange": "#FF9830",
    "yellow": "#FADE2A",
    "blue": "#5794F2",
    "purple": "#B877D9",
    "text": THEME["text"],
    "dark-red": "#C4162A",
    "dark-green": "#37872D",
    "dark-yellow": "#E0B400",
    "dark-orange": "#FA6400",
    "transparent": "transparent",
}
PALETTE = ("#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0", "#37872D")


def color(name: str | None) -> str:
    if not name:
        return THEME["text"]
    return NAMED_COLORS.get(name, name)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)
