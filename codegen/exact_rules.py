"""Exact and cheap SLI recordings: every window is a sum of disjoint tiles of one recorded 5m base.

Sloth re-reads the raw series for every window (a 3d window reads 3 days of every instance series each minute) and
takes the period SLI as the time average of 5m ratios, which under day/night traffic is not the error ratio of the
period. Here the SLI's error and total quantities are recorded once over 5m (``slo:sli_errors:tile5m``,
``slo:sli_total:tile5m``: the only rules that read raw data) and rolled up into larger tiles, each a sum of the
tile below at whole offsets: ``tile1h`` = twelve 5m tiles at offsets 0, 5m, ..., 55m; ``tile6h`` = 6 hour tiles;
``tile1d`` = 4 of those, ``tile1w`` = 7 day tiles. A window is the sum of the tiles that partition it exactly (30d = 4 weeks + 2 days at
offsets 0, 1w, 2w, 3w, 4w, 4w1d), so its edges are exactly ``(t - W, t]`` and its error ratio is the ratio of
sums, traffic-weighted like ``sum(increase(errors[W])) / sum(increase(total[W]))``. A rule reads a few dozen
recorded samples whatever the window and however many series the SLI sums.

Why offsets and not ``sum_over_time``: a 1-minute tile series summed over 30d reads 43,200 samples; subqueries at
a coarse step are aligned to the epoch, not to ``t``, so their head lags by up to one step. Offsets of a tile
series land exactly on earlier evaluations when the evaluation interval divides 5m (15s, 30s, 1m all do).

Guarantees kept from the NaN-safe default: base tiles always exist (``or on() vector(0)``), a missing error series
counts as zero errors, a tile that did not exist yet (the chain is younger than the window) counts as zero
traffic (``x offset k or 0 * x``), and a window without traffic has no sample instead of NaN (``total > 0``).
Names and labels of ``slo:sli_error:ratio_rate<W>`` are Sloth's, so metadata rules, alerts and dashboards built on
them work unchanged; the tiles are our own ``slo:`` series (no ``sloth_window`` label, so tiles of different sizes
add up).

SLI kinds: events and latency tile their error and total rates. Timeslice tiles the recorded 0/1 indicator (bad
slices and slices over ``[4m59s]``: exactly 5m worth of evaluations, in Prometheus 2's closed and 3's left-open
ranges alike). A raw SLI is a ready ratio that cannot be split into errors and total: its alert windows keep the
raw query (exact, at the raw query's cost) and its period SLI is the time average of 5m ratios over disjoint 5m
tiles (the only meaning a ratio without traffic has; cheap). A window that is not a multiple of 5m falls back to
the default expression. ``--sloth-compat`` gets Sloth's group unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen.durations import format_duration
from codegen.model import SLO, CompileOptions, EventsSLI, LatencySLI, RawSLI, TimesliceSLI, render_window
from codegen.plan import Labels, RecordingRule, Rule, RuleGroup
from codegen.rules import INSTANT_RECORD, id_labels, id_selector, merge, sli_ratio_expr, sli_recordings, slo_labels

BASE_TILE = 300  # seconds: the 5m tile every window is built from
TILE_LADDER: tuple[int, ...] = (BASE_TILE, 3600, 6 * 3600, 86400, 7 * 86400)  # 5m 1h 6h 1d 1w, each a multiple
ERRORS_TILE = "slo:sli_errors:tile"  # + duration, e.g. slo:sli_errors:tile1h
TOTAL_TILE = "slo:sli_total:tile"
TIMESLICE_RANGE = "4m59s"  # 5m of evaluations at any interval dividing 5m, closed or left-open ranges alike


@dataclass(frozen=True)
class Tile:
    """One term of a window: the tile of ``size`` seconds ending ``offset`` seconds before now."""

    size: int
    offset: int


def tile_record(prefix: str, size: int) -> str:
    return f"{prefix}{format_duration(size)}"


def tiles_for(window: int, levels: tuple[int, ...]) -> list[Tile] | None:
    """Partition ``(t - window, t]`` into the fewest tiles of ``levels`` (largest first); None if impossible."""
    tiles: list[Tile] = []
    offset = 0
    remaining = window
    for size in sorted(levels, reverse=True):
        while remaining >= size:
            tiles.append(Tile(size, offset))
            offset += size
            remaining -= size
    return tiles if remaining == 0 else None


def tile_levels(windows: list[int]) -> tuple[int, ...]:
    """The ladder rungs worth recording: 5m always, a larger tile when some window is at least that long."""
    longest = max(windows)
    return tuple(size for size in TILE_LADDER if size == BASE_TILE or size <= longest)


def _term(selector: str, tile: Tile) -> str:
    """One tile; a tile older than the chain counts as zero (``0 * x`` keeps the labels, reads one sample)."""
    if tile.offset == 0:
        return selector
    return f"({selector} offset {format_duration(tile.offset)} or 0 * {selector})"


def tiles_sum(prefix: str, slo: SLO, tiles: list[Tile]) -> str:
    ids = id_selector(slo)
    return "\n  + ".join(_term(f"{tile_record(prefix, t.size)}{ids}", t) for t in tiles)


def ratio_expr(slo: SLO, tiles: list[Tile]) -> str:
    """Errors over total of the same tiles; no sample (not NaN) when the window saw no traffic."""
    return f"(\n  {tiles_sum(ERRORS_TILE, slo, tiles)}\n)\n/\n(\n  (\n  {tiles_sum(TOTAL_TILE, slo, tiles)}\n  ) > 0\n)\n"


def base_tiles(slo: SLO) -> tuple[str, str]:
    """Expressions of the 5m error and total tiles, the only ones that read raw data; both always return a sample."""
    sli = slo.sli
    five = format_duration(BASE_TILE)
    if isinstance(sli, EventsSLI | LatencySLI):
        error = render_window(sli.error_query, five).strip()
        total = render_window(sli.total_query, five).strip()
        return (
            f"(\n  ({error})\n  or\n  (0 * ({total}))\n)\nor on() vector(0)\n",
            f"({total})\nor on() vector(0)\n",
        )
    if isinstance(sli, TimesliceSLI):
        instant = f"{INSTANT_RECORD}{id_selector(slo)}"
        return (
            f"sum_over_time({instant}[{TIMESLICE_RANGE}]) or on() vector(0)",
            f"count_over_time({instant}[{TIMESLICE_RANGE}]) or on() vector(0)",
        )
    assert isinstance(sli, RawSLI)
    ratio = render_window(sli.error_ratio_query, five).strip()
    # A raw ratio has no traffic to weigh by: each valid 5m ratio is one unit of "total".
    return (
        f"(({ratio}) >= 0) or on() vector(0)",
        f"((({ratio}) >= 0) * 0 + 1) or on() vector(0)",
    )


def window_expr(slo: SLO, window: int, levels: tuple[int, ...], is_period: bool) -> str:
    """The SLI over ``window``: tiles when the window is a whole number of 5m tiles, else the default expression.

    A raw SLI keeps its own query on alert windows (tiles of it would be a time average, not its ratio).
    """
    tiles = tiles_for(window, levels)
    if tiles is None or (isinstance(slo.sli, RawSLI) and not is_period):
        return sli_ratio_expr(slo, format_duration(window), compat=False)
    return ratio_expr(slo, tiles)


def exact_sli_groups(slo: SLO, options: CompileOptions, interval: str | None = None) -> list[RuleGroup]:
    """The SLI recording group of ``slo``: base tiles, the tile ladder, then every alert window and the period.

    One group, so each rule reads the tiles recorded earlier in the same evaluation. ``interval`` sets the group's
    evaluation interval; it (or the global one) must divide 5m for the tiles to line up.
    """
    if options.sloth_compat:
        return [sli_recordings(slo, options)]
    labels: Labels = merge(slo_labels(slo, options), id_labels(slo))
    windows = slo.windows.windows()
    levels = tile_levels([*windows, slo.period])
    rules: list[Rule] = []
    if isinstance(slo.sli, TimesliceSLI):
        rules.append(RecordingRule(INSTANT_RECORD, slo.sli.bad_indicator(), labels, role="sli_instant"))
    errors, total = base_tiles(slo)
    rules.append(RecordingRule(tile_record(TOTAL_TILE, BASE_TILE), total, labels))
    rules.append(RecordingRule(tile_record(ERRORS_TILE, BASE_TILE), errors, labels))
    for lower, size in zip(levels, levels[1:], strict=False):
        parts = [Tile(lower, k * lower) for k in range(size // lower)]
        for prefix in (TOTAL_TILE, ERRORS_TILE):
            rules.append(RecordingRule(tile_record(prefix, size), tiles_sum(prefix, slo, parts) + "\n", labels))
    for seconds in windows:
        window = format_duration(seconds)
        rules.append(
            RecordingRule(
                f"slo:sli_error:ratio_rate{window}",
                window_expr(slo, seconds, levels, is_period=False),
                merge(labels, (("sloth_window", window),)),
                role="sli",
                window=window,
            )
        )
    period = format_duration(slo.period)
    rules.append(
        RecordingRule(
            f"slo:sli_error:ratio_rate{period}",
            window_expr(slo, slo.period, levels, is_period=True),
            merge(labels, (("sloth_window", period),)),
            role="sli_period",
            window=period,
        )
    )
    return [RuleGroup(f"sloth-slo-sli-recordings-{slo.id}", tuple(rules), interval)]
