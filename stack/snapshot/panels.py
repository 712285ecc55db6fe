"""Each panel type drawn as inline SVG/HTML in its pixel box: timeseries, stat, gauge, pie, state timeline, table."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stack.snapshot.data import PanelData, TimeRange
from stack.snapshot.style import PALETTE, THEME, color, esc
from stack.snapshot.values import format_value, last_not_null, mapped, nice_ticks, threshold_color


@dataclass(frozen=True)
class Box:
    width: float
    height: float


def _no_data(box: Box, text: str = "No data") -> str:
    return f'<div class="nodata" style="height:{box.height:.0f}px;line-height:{box.height:.0f}px">{esc(text)}</div>'


def _legend_html(items: Sequence[tuple[str, str]]) -> str:
    spans = "".join(f'<span class="item"><i style="background:{c}"></i>{esc(n)}</span>' for n, c in items)
    return f'<div class="legend">{spans}</div>'


def _legend_height(items: Sequence[tuple[str, str]], width: float) -> float:
    if not items:
        return 0.0
    lines, used = 1, 0.0
    for name, _ in items:
        need = 26 + 6.6 * len(name)
        if used and used + need > width:
            lines, used = lines + 1, 0.0
        used += need
    return 18.0 * lines + 4


def _series_colors(panel: Mapping[str, Any], count: int) -> list[str]:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    mode = (defaults.get("color") or {}).get("mode", "palette-classic")
    if mode == "fixed":
        fixed = color((defaults.get("color") or {}).get("fixedColor"))
        return [fixed] * count
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


def render_timeseries(panel: Mapping[str, Any], data: PanelData, box: Box, window: TimeRange) -> str:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    custom = defaults.get("custom", {})
    unit, decimals = defaults.get("unit"), defaults.get("decimals")
    series = [(n, pts) for n, _, pts in data.series if pts]
    if not series:
        return _no_data(box)
    colors = _series_colors(panel, len(series))
    legend_items = [(n, colors[i]) for i, (n, _) in enumerate(series)]
    legend_h = _legend_height(legend_items, box.width)
    chart_h = max(40.0, box.height - legend_h)
    stacked = (custom.get("stacking") or {}).get("mode") == "normal"
    Points = list[tuple[float, float]]
    stacked_series: list[tuple[str, Points, Points | None]] = []
    if stacked:  # cumulative sums on the shared step grid
        totals: dict[float, float] = {}
        for name, pts in series:
            base = [(t, totals.get(t, 0.0)) for t, _ in pts]
            upper = []
            for t, v in pts:
                totals[t] = totals.get(t, 0.0) + (0.0 if math.isnan(v) else v)
                upper.append((t, totals[t]))
            stacked_series.append((name, upper, base))
    else:
        stacked_series = [(name, pts, None) for name, pts in series]
    values = [v for _, pts, _ in stacked_series for _, v in pts if not math.isnan(v)]
    if not values:
        return _no_data(box)
    low = float(defaults["min"]) if defaults.get("min") is not None else min(values)
    high = float(defaults["max"]) if defaults.get("max") is not None else max(values)
    if high <= low:
        high = low + (abs(low) or 1.0)
    ticks = nice_ticks(low, high)
    labels = [format_value(t, unit, decimals) for t in ticks]
    left = min(150.0, 14 + 6.4 * max(len(s) for s in labels))
    right, top, bottom = 8.0, 6.0, 20.0
    plot_w, plot_h = box.width - left - right, chart_h - top - bottom

    def x(t: float) -> float:
        return left + (t - window.start) / window.seconds * plot_w

    def y(v: float) -> float:
        clamped = min(max(v, low), high)
        return top + plot_h - (clamped - low) / (high - low) * plot_h

    parts = [f'<svg width="{box.width:.0f}" height="{chart_h:.0f}" xmlns="http://www.w3.org/2000/svg">']
    for tick, label in zip(ticks, labels, strict=True):
        parts.append(
            f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{THEME["grid"]}"/>'
            f'<text x="{left - 6:.1f}" y="{y(tick) + 4:.1f}" text-anchor="end" class="axis">{esc(label)}</text>'
        )
    for t in _time_ticks(window, plot_w):
        if x(t) + 30 > box.width:  # a label cut by the panel edge: Grafana drops it too
            continue
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top:.1f}" y2="{top + plot_h:.1f}" stroke="{THEME["grid"]}"/>'
            f'<text x="{x(t):.1f}" y="{chart_h - 5:.1f}" text-anchor="middle" class="axis">'
            f"{_clock(t, window)}</text>"
        )
    fill_opacity = float(custom.get("fillOpacity", 0)) / 100
    step = window.step(box.width)
    for index, (_, pts, base_points) in enumerate(stacked_series):
        stroke = colors[index]
        for segment, base_segment in _segments(pts, base_points, step):
            line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in segment)
            if fill_opacity > 0:
                floor = base_segment or [(t, max(low, min(0.0, high))) for t, _ in segment]
                back = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in reversed(floor))
                parts.append(f'<polygon points="{line} {back}" fill="{stroke}" fill-opacity="{fill_opacity}"/>')
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{stroke}" '
                f'stroke-width="{max(1.0, float(custom.get("lineWidth", 1))):.1f}"/>'
            )
    style = (custom.get("thresholdsStyle") or {}).get("mode", "off")
    if style in ("line", "dashed", "line+area", "dashed+area"):
        for threshold in (defaults.get("thresholds") or {}).get("steps", [])[1:]:
            value = threshold.get("value")
            if value is None or not low <= float(value) <= high:
                continue
            dash = ' stroke-dasharray="6 4"' if style.startswith("dashed") else ""
            parts.append(
                f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{y(float(value)):.1f}" '
                f'y2="{y(float(value)):.1f}" stroke="{color(threshold.get("color"))}" stroke-width="1.5"{dash}/>'
            )
    parts.append("</svg>")
    return "".join(parts) + _legend_html(legend_items)


def _segments(
    points: Sequence[tuple[float, float]], base: Sequence[tuple[float, float]] | None, step: float
) -> list[tuple[list[tuple[float, float]], list[tuple[float, float]] | None]]:
    """Split a series where Prometheus returned no point (a gap > 1.5 steps) or NaN: Grafana breaks lines there."""
    out: list[tuple[list[tuple[float, float]], list[tuple[float, float]] | None]] = []
    current: list[tuple[float, float]] = []
    current_base: list[tuple[float, float]] = []
    last_t: float | None = None
    for i, (t, v) in enumerate(points):
        broken = math.isnan(v) or (last_t is not None and t - last_t > 1.5 * step)
        if broken and current:
            out.append((current, current_base if base is not None else None))
            current, current_base = [], []
        if not math.isnan(v):
            current.append((t, v))
            if base is not None:
                current_base.append(base[i])
        last_t = t
    if current:
        out.append((current, current_base if base is not None else None))
    return out


def _clock(moment: float, window: TimeRange) -> str:
    """Tick label: seconds only when the ticks are less than a minute apart."""
    return time.strftime("%H:%M:%S" if window.seconds <= 600 else "%H:%M", time.localtime(moment))


def _time_ticks(window: TimeRange, width: float) -> list[float]:
    count = max(2, int(width // 110))
    candidates = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
    step = next((c for c in candidates if window.seconds / c <= count), candidates[-1])
    first = math.ceil(window.start / step) * step
    return [t for t in range(int(first), int(window.end) + 1, step)]


def render_stat(panel: Mapping[str, Any], data: PanelData, box: Box) -> str:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    options = panel.get("options", {})
    unit, decimals = defaults.get("unit"), defaults.get("decimals")
    mappings = defaults.get("mappings") or []
    items = [(n, pts) for n, _, pts in data.series if last_not_null(pts) is not None]
    if not items:
        return _no_data(box, str(defaults.get("noValue") or "No data"))
    color_mode = options.get("colorMode", "value")
    text_mode = options.get("textMode", "auto")
    horizontal = box.width >= box.height * 1.2
    # Grafana lists many values as rows (name left, value right) when side-by-side cells would be too narrow.
    as_list = len(items) > 1 and (box.width / len(items) < 120 if horizontal else box.height / len(items) < 40)
    if as_list:
        horizontal = False
    cell_w = box.width / len(items) if horizontal else box.width
    cell_h = box.height if horizontal else box.height / len(items)
    cells = []
    for name, pts in items:
        value = last_not_null(pts)
        assert value is not None
        hit = mapped(value, mappings)
        text = hit[0] if hit else format_value(value, unit, decimals)
        tint = hit[1] if hit else threshold_color(value, defaults.get("thresholds"))
        background = tint if color_mode == "background" else "transparent"
        foreground = "#ffffff" if color_mode == "background" else (tint if color_mode == "value" else THEME["text"])
        main = name if text_mode == "name" else text
        if as_list:
            size = max(12.0, min(cell_h * 0.6, 28.0))
            cells.append(
                f'<div class="statrow" style="height:{cell_h:.0f}px;background:{background}">'
                f'<span class="statname" style="font-size:{min(14.0, size * 0.6):.0f}px">{esc(name)}</span>'
                f'<span class="statvalue" style="color:{foreground};font-size:{size:.0f}px">{esc(main)}</span></div>'
            )
            continue
        show_name = text_mode == "auto" and len(items) > 1
        size = max(12.0, min(cell_h * (0.32 if show_name else 0.45), cell_w / max(4, len(main)) * 1.6))
        spark = ""
        if options.get("graphMode") == "area" and len(pts) > 1:
            spark = _sparkline(pts, cell_w, cell_h, foreground if color_mode != "background" else "#ffffff")
        label = f'<div class="statname">{esc(name)}</div>' if show_name else ""
        cells.append(
            f'<div class="stat" style="width:{cell_w:.0f}px;height:{cell_h:.0f}px;background:{background}">'
            f'{spark}<div class="statbody">{label}<div class="statvalue" style="color:{foreground};'
            f'font-size:{size:.0f}px">{esc(main)}</div></div></div>'
        )
    direction = "row" if horizontal else "column"
    return f'<div style="display:flex;flex-direction:{direction}">{"".join(cells)}</div>'


def _sparkline(points: Sequence[tuple[float, float]], width: float, height: float, stroke: str) -> str:
    values = [(t, v) for t, v in points if not math.isnan(v)]
    if len(values) < 2:
        return ""
    t0, t1 = values[0][0], values[-1][0]
    low, high = min(v for _, v in values), max(v for _, v in values)
    span_t, span_v = (t1 - t0) or 1.0, (high - low) or 1.0
    top = height * 0.55
    coords = " ".join(
        f"{(t - t0) / span_t * width:.1f},{top + (1 - (v - low) / span_v) * (height - top - 2):.1f}" for t, v in values
    )
    return (
        f'<svg class="spark" width="{width:.0f}" height="{height:.0f}"><polygon points="0,{height:.0f} {coords} '
        f'{width:.0f},{height:.0f}" fill="{stroke}" fill-opacity="0.15"/><polyline points="{coords}" fill="none" '
        f'stroke="{stroke}" stroke-opacity="0.6"/></svg>'
    )


def render_gauge(panel: Mapping[str, Any], data: PanelData, box: Box) -> str:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    items = [(n, last_not_null(pts)) for n, _, pts in data.series]
    items = [(n, v) for n, v in items if v is not None]
    if not items:
        return _no_data(box)
    value = items[0][1]
    assert value is not None
    low = float(defaults.get("min", 0.0) if defaults.get("min") is not None else 0.0)
    high = float(defaults.get("max", 100.0) if defaults.get("max") is not None else 100.0)
    thresholds = defaults.get("thresholds")
    radius = min(box.width / 2 - 10, box.height * 0.55)
    cx, cy = box.width / 2, box.height * 0.62
    sweep = 240.0

    def point(fraction: float, r: float) -> tuple[float, float]:
        angle = math.radians(210 - sweep * fraction)
        return cx + r * math.cos(angle), cy - r * math.sin(angle)

    def arc(f0: float, f1: float, r: float, width: float, stroke: str) -> str:
        (x0, y0), (x1, y1) = point(f0, r), point(f1, r)
        large = 1 if (f1 - f0) * sweep > 180 else 0
        return (
            f'<path d="M{x0:.1f},{y0:.1f} A{r:.1f},{r:.1f} 0 {large} 1 {x1:.1f},{y1:.1f}" fill="none" '
            f'stroke="{stroke}" stroke-width="{width:.1f}"/>'
        )

    fraction = min(1.0, max(0.0, (value - low) / (high - low)))
    tint = threshold_color(value, thresholds)
    parts = [f'<svg width="{box.width:.0f}" height="{box.height:.0f}">']
    parts.append(arc(0, 1, radius * 0.8, radius * 0.18, THEME["border"]))
    if fraction > 0.001:
        parts.append(arc(0, fraction, radius * 0.8, radius * 0.18, tint))
    steps = (thresholds or {}).get("steps") or []
    if panel.get("options", {}).get("showThresholdMarkers", True) and steps:
        bounds = [low] + [min(high, max(low, float(s["value"]))) for s in steps[1:] if s.get("value") is not None]
        bounds.append(high)
        for i, step in enumerate(steps[: len(bounds) - 1]):
            f0, f1 = (bounds[i] - low) / (high - low), (bounds[i + 1] - low) / (high - low)
            if f1 > f0:
                parts.append(arc(f0, f1, radius * 0.98, radius * 0.06, color(step.get("color"))))
    text = format_value(value, defaults.get("unit"), defaults.get("decimals"))
    parts.append(
        f'<text x="{cx:.1f}" y="{cy + radius * 0.12:.1f}" text-anchor="middle" fill="{tint}" '
        f'font-size="{radius * 0.32:.0f}" font-weight="500">{esc(text)}</text></svg>'
    )
    return "".join(parts)


def render_piechart(panel: Mapping[str, Any], data: PanelData, box: Box) -> str:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    items = [(n, last_not_null(pts) or 0.0) for n, _, pts in data.series]
    total = sum(max(0.0, v) for _, v in items)
    if not items or total <= 0:
        return _no_data(box)
    colors = _series_colors(panel, len(items))
    radius = min(box.height / 2 - 6, box.width * 0.25)
    cx, cy = radius + 8, box.height / 2
    parts = [f'<svg style="flex:none" width="{2 * radius + 16:.0f}" height="{box.height:.0f}">']
    angle = -math.pi / 2
    for index, (_, value) in enumerate(items):
        share = max(0.0, value) / total
        if share >= 0.9999:
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}" fill="{colors[index]}"/>')
            break
        end = angle + share * 2 * math.pi
        x0, y0 = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        x1, y1 = cx + radius * math.cos(end), cy + radius * math.sin(end)
        large = 1 if share > 0.5 else 0
        parts.append(
            f'<path d="M{cx:.1f},{cy:.1f} L{x0:.1f},{y0:.1f} A{radius:.1f},{radius:.1f} 0 {large} 1 {x1:.1f},'
            f'{y1:.1f} Z" fill="{colors[index]}" stroke="{THEME["panel"]}"/>'
        )
        angle = end
    parts.append("</svg>")
    rows = "".join(
        f'<tr><td><i style="background:{colors[i]}"></i>{esc(n)}</td>'
        f"<td>{esc(format_value(v, defaults.get('unit'), defaults.get('decimals')))}</td>"
        f"<td>{100 * max(0.0, v) / total:.0f}%</td></tr>"
        for i, (n, v) in enumerate(items)
    )
    table = f'<table class="pielegend"><tr><th>Name</th><th>Value</th><th>Percent</th></tr>{rows}</table>'
    return f'<div style="display:flex;align-items:center;gap:16px">{"".join(parts)}{table}</div>'


def render_state_timeline(panel: Mapping[str, Any], data: PanelData, box: Box, window: TimeRange) -> str:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    mappings = defaults.get("mappings") or []
    series = [(n, pts) for n, _, pts in data.series if pts]
    if not series:
        return _no_data(box)
    legend = [(text, c) for m in mappings for _, r in (m.get("options") or {}).items() for text, c in [
        (str(r.get("text", "")), color(r.get("color")))] if text]  # fmt: skip
    legend_h = _legend_height(legend, box.width)
    names_w = min(box.width * 0.35, 16 + 6.6 * max(len(n) for n, _ in series))
    axis_h = 18.0
    rows_h = max(20.0, box.height - legend_h - axis_h - 4)
    lane = rows_h / len(series)
    plot_w = box.width - names_w
    step = window.step(plot_w)
    parts = [f'<svg width="{box.width:.0f}" height="{rows_h + axis_h:.0f}">']
    for t in _time_ticks(window, plot_w):
        tx = names_w + (t - window.start) / window.seconds * plot_w
        if tx + 30 > box.width:
            continue
        parts.append(
            f'<text x="{tx:.1f}" y="{rows_h + axis_h - 4:.1f}" text-anchor="middle" class="axis">'
            f"{_clock(t, window)}</text>"
        )
    for index, (name, pts) in enumerate(series):
        y0 = index * lane + lane * 0.05
        height = lane * 0.9
        parts.append(
            f'<text x="{names_w - 8:.1f}" y="{y0 + height / 2 + 4:.1f}" text-anchor="end" class="axis">'
            f"{esc(name)}</text>"
        )
        runs: list[tuple[float, float, float]] = []  # start, end, value
        for t, v in pts:
            if math.isnan(v):
                continue
            if runs and runs[-1][2] == v and t - runs[-1][1] <= 1.5 * step:
                runs[-1] = (runs[-1][0], t, v)
            else:
                runs.append((t, t, v))
        for start, end, value in runs:
            x0 = names_w + (start - window.start) / window.seconds * plot_w
            x1 = names_w + (end + step - window.start) / window.seconds * plot_w
            x1 = min(x1, box.width)
            hit = mapped(value, mappings)
            fill = hit[1] if hit else threshold_color(value, defaults.get("thresholds"))
            text = hit[0] if hit else format_value(value, defaults.get("unit"), defaults.get("decimals"))
            parts.append(
                f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(1.0, x1 - x0):.1f}" height="{height:.1f}" '
                f'fill="{fill}" fill-opacity="0.8"/>'
            )
            if x1 - x0 > 8 * len(text) + 8 and height >= 14:
                parts.append(f'<text x="{x0 + 6:.1f}" y="{y0 + height / 2 + 4:.1f}" class="lane">{esc(text)}</text>')
    parts.append("</svg>")
    return "".join(parts) + (_legend_html(legend) if legend else "")


Cell = str | float


def merged_rows(panel: Mapping[str, Any], data: PanelData) -> tuple[list[str], list[dict[str, Cell]]] | None:
    """Grafana's ``merge`` → ``organize`` → ``sortBy`` on instant table queries: one row per label set, a
    ``Value #<refId>`` column per query, only the included fields, renamed and ordered; None without ``merge``."""
    steps = {t.get("id"): t.get("options", {}) for t in panel.get("transformations", [])}
    if "merge" not in steps:
        return None
    rows: dict[tuple[tuple[str, str], ...], dict[str, Cell]] = {}
    for (_, labels, points), ref_id in zip(data.series, data.ref_ids, strict=True):
        if not points:
            continue
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
        rows.setdefault(key, dict(key))[f"Value #{ref_id}"] = points[-1][1]
    organize = steps.get("organize", {})
    order = organize.get("indexByName") or {}
    fields = sorted(order, key=lambda name: order[name]) or sorted({k for r in rows.values() for k in r})
    rename = organize.get("renameByName") or {}
    table = [{rename.get(f, f): r.get(f, "") for f in fields} for r in rows.values()]
    for rule in reversed(steps.get("sortBy", {}).get("sort", [])):
        column = str(rule.get("field"))
        table.sort(key=lambda r: _sort_key(r.get(column, "")), reverse=bool(rule.get("desc")))
    return [rename.get(f, f) for f in fields], table


def _sort_key(cell: Cell) -> tuple[int, float, str]:
    """Numbers in numeric order before text (and empty cells), as Grafana sorts a number column."""
    return (0, cell, "") if isinstance(cell, float) else (1, 0.0, cell)


def _cell_text(panel: Mapping[str, Any], column: str, cell: Cell) -> str:
    """A value formatted with its column's unit and decimals (the field override by display name)."""
    if not isinstance(cell, float):
        return cell
    config = dict(panel.get("fieldConfig", {}).get("defaults", {}))
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        if override.get("matcher", {}).get("options") == column:
            config |= {p["id"]: p.get("value") for p in override.get("properties", [])}
    return format_value(cell, config.get("unit"), config.get("decimals"))


def render_table(panel: Mapping[str, Any], data: PanelData, box: Box) -> str:
    merged = merged_rows(panel, data)
    if merged is not None:
        columns, table = merged
    else:
        hidden: set[str] = set()
        for transformation in panel.get("transformations", []):
            if transformation.get("id") == "organize":
                hidden |= {k for k, v in (transformation.get("options", {}).get("excludeByName") or {}).items() if v}
        table = [dict(labels) for _, labels, pts in data.series if pts]
        columns = sorted({k for labels in table for k in labels} - hidden - {"__name__"})
    if not table:
        return _no_data(box)
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell_text(panel, c, r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in table
    )
    return f'<table class="grid"><tr>{head}</tr>{body}</table>'


def render_panel(panel: Mapping[str, Any], data: PanelData, box: Box, window: TimeRange) -> str:
    kind = panel.get("type")
    if kind == "timeseries":
        return render_timeseries(panel, data, box, window)
    if kind == "stat":
        return render_stat(panel, data, box)
    if kind == "gauge":
        return render_gauge(panel, data, box)
    if kind == "piechart":
        return render_piechart(panel, data, box)
    if kind == "state-timeline":
        return render_state_timeline(panel, data, box, window)
    if kind == "table":
        return render_table(panel, data, box)
    return _no_data(box, f"panel type {kind} is not drawn by the snapshot")
