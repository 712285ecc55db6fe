"""Exact and cheap SLI recordings: every window is a sum of tiles of one recorded 5m base.

Sloth re-reads the raw series for every window (a 3d window reads 3 days of every instance series each
evaluation) and takes the period SLI as the time average of 5m ratios, which under day/night traffic is not the
error ratio of the period. Here the SLI's error and total quantities are recorded once over 5m
(``slo:sli_errors:tile5m``, ``slo:sli_total:tile5m``: the only rules that read raw data) and every window is the
ratio of sums of larger recorded tiles read at whole offsets: traffic-weighted like
``sum(increase(errors[W])) / sum(increase(total[W]))``, a few dozen recorded samples per rule whatever the window
and however many series the SLI sums. Two tile families, chosen by measurement (``make bench-rules``):

- *Exact-edged* tiles for the alert windows shorter than a day: ``tile1h`` = the twelve disjoint 5m tiles at
  offsets 0, 5m, ..., 55m; a window is the disjoint tiles that partition ``(t - W, t]`` exactly (30m = 6 x 5m,
  6h = 6 x 1h), so a burst enters and leaves the window at the same evaluation as with a raw ``rate(x[W])`` and
  the alerts fire at the same moment.
- *Smooth* tiles for windows of a day or more: ``smooth1h`` = ``sum_over_time(tile5m[59m59s])``, the 5m tiles of
  every evaluation of the hour, then ``smooth6h``, ``smooth1d``, ``smooth1w`` as sums of the level below at whole
  offsets (30d = 4 weeks + 2 days). Overlapping 5m rates weigh every scrape interval almost equally, while
  disjoint 5m tiles drop the interval that straddles each tile edge into ``rate()``'s extrapolation: over a day
  that is 288 estimated intervals, 3-4x the error (0.1-0.2% instead of 0.3-0.4% on busy services, 2% instead of
  4% on sparse ones). The price: 5m soft edges, i.e. these windows lag a raw window by ~2.5 minutes, which only
  the ticket tiers' 1d and 3d windows and the period see.

Why offsets and not ``sum_over_time`` over the whole window: 30d of a 1-minute series is 43,200 samples per rule;
subqueries at a coarse step are aligned to the epoch, not to ``t``, so their head lags by up to one step. Offsets
land exactly on earlier evaluations when the evaluation interval divides 5m (15s, 30s, 1m all do); the ranges
``[4m59s]`` and ``[59m59s]`` select exactly 5m and 1h worth of evaluations in Prometheus 2's closed and 3's
left-open ranges alike.

Guarantees kept from the NaN-safe default: base tiles always exist (``or on() vector(0)``), a missing error series
counts as zero errors, a tile that did not exist yet (the chain is younger than the window) counts as zero traffic
(``x offset k or 0 * x``), and a window without traffic has no sample instead of NaN (``total > 0``). Names and
labels of ``slo:sli_error:ratio_rate<W>`` are Sloth's, so metadata rules, alerts and dashboards built on them work
unchanged; tiles are our own ``slo:`` series without ``sloth_window`` (so tiles of different sizes add up).

SLI kinds: events and latency tile their error and total rates. Timeslice tiles the recorded 0/1 indicator (bad
slices and slices over ``[4m59s]``). A raw SLI is a ready ratio that cannot be split into errors and total: its
alert windows keep the raw query (exact, at the raw query's cost) and its period SLI is the time average of its
5m ratios (the only meaning a ratio without traffic has; cheap). A window that is not a whole number of 5m tiles
falls back to the default expression. ``--sloth-compat`` gets Sloth's group unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen import conventions as c
from codegen.compiler import compile_slo
from codegen.conventions import render_window
from codegen.durations import format_duration
from codegen.lowering import error_ratio, event_templates, instant_indicator, instant_selector, nan_safe_error_ratio
from codegen.model import SLO, CompileOptions, EventsSLI, LatencySLI, RawSLI, TimesliceSLI
from codegen.plan import Labels, RecordingRule, Rule, RuleGroup, SLOPlan
from codegen.slo_plugins.chain import Chain
from codegen.slo_plugins.labels import merge
from codegen.slo_plugins.registry import builtin_registry

BASE_TILE = 300  # seconds: the 5m tile every window is built from
HOUR, DAY = 3600, 86400
EXACT_LADDER: tuple[int, ...] = (BASE_TILE, HOUR)
SMOOTH_LADDER: tuple[int, ...] = (HOUR, 6 * HOUR, DAY, 7 * DAY)  # each a multiple of the one before
SMOOTH_FROM = DAY  # windows at least this long use the smooth family
ERRORS_TILE = c.TILE_ERRORS  # + duration, e.g. slo:sli_errors:tile1h
TOTAL_TILE = c.TILE_TOTAL
ERRORS_SMOOTH = c.SMOOTH_ERRORS
TOTAL_SMOOTH = c.SMOOTH_TOTAL
BASE_RANGE = "4m59s"  # 5m of evaluations at any interval dividing 5m, closed or left-open ranges alike
SMOOTH_RANGE = "59m59s"  # 1h of evaluations, likewise


@dataclass(frozen=True)
class Tile:
    """One term of a window: the tile of ``size`` seconds ending ``offset`` seconds before now."""

    size: int
    offset: int


@dataclass(frozen=True)
class Family:
    """A tile family: the record name prefixes of its error and total tiles, and its ladder of sizes."""

    errors: str
    total: str
    ladder: tuple[int, ...]


EXACT = Family(ERRORS_TILE, TOTAL_TILE, EXACT_LADDER)
SMOOTH = Family(ERRORS_SMOOTH, TOTAL_SMOOTH, SMOOTH_LADDER)


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


def plan_window(window: int) -> tuple[Family, list[Tile]] | None:
    """The family and tiles of one window; None when it is not a whole number of 5m tiles."""
    if window >= SMOOTH_FROM:
        tiles = tiles_for(window, SMOOTH_LADDER)
        if tiles is not None:
            return SMOOTH, tiles
    tiles = tiles_for(window, EXACT_LADDER)
    return (EXACT, tiles) if tiles is not None else None


def _term(selector: str, tile: Tile) -> str:
    """One tile; a tile older than the chain counts as zero (``0 * x`` keeps the labels, reads one sample)."""
    if tile.offset == 0:
        return selector
    return f"({selector} offset {format_duration(tile.offset)} or 0 * {selector})"


def tile_selector(slo: SLO) -> str:
    """Tiles are ours: ``sloth_id`` alone identifies the SLO (IDs are unique in a run) and keeps the text short."""
    return f'{{{c.LABEL_ID}="{slo.id}"}}'


def tiles_sum(prefix: str, slo: SLO, tiles: list[Tile]) -> str:
    ids = tile_selector(slo)
    return "\n  + ".join(_term(f"{tile_record(prefix, t.size)}{ids}", t) for t in tiles)


def ratio_expr(slo: SLO, family: Family, tiles: list[Tile]) -> str:
    """Errors over total of the same tiles; no sample (not NaN) when the window saw no traffic."""
    errors = tiles_sum(family.errors, slo, tiles)
    total = tiles_sum(family.total, slo, tiles)
    return f"(\n  {errors}\n)\n/\n(\n  (\n  {total}\n  ) > 0\n)\n"


def base_tiles(slo: SLO) -> tuple[str, str]:
    """Expressions of the 5m error and total tiles, the only ones that read raw data; both always return a sample."""
    sli = slo.sli
    five = format_duration(BASE_TILE)
    templates = event_templates(sli) if isinstance(sli, EventsSLI | LatencySLI) else None
    if templates is not None:
        error = render_window(templates[0], five).strip()
        total = render_window(templates[1], five).strip()
        return (
            f"(\n  ({error})\n  or\n  (0 * ({total}))\n)\nor on() vector(0)\n",
            f"({total})\nor on() vector(0)\n",
        )
    if isinstance(sli, TimesliceSLI):
        instant = instant_selector(slo)
        return (
            f"sum_over_time({instant}[{BASE_RANGE}]) or on() vector(0)",
            f"count_over_time({instant}[{BASE_RANGE}]) or on() vector(0)",
        )
    assert isinstance(sli, RawSLI)
    ratio = render_window(sli.error_ratio_query, five).strip()
    # A raw ratio has no traffic to weigh by: each valid 5m ratio is one unit of "total".
    return (
        f"(({ratio}) >= 0) or on() vector(0)",
        f"((({ratio}) >= 0) * 0 + 1) or on() vector(0)",
    )


def window_expr(slo: SLO, window: int, is_period: bool) -> str:
    """The SLI over ``window`` from tiles, or the default expression when the window cannot be tiled.

    A raw SLI keeps its own query on alert windows (tiles of it would be a time average, not its ratio).
    """
    planned = plan_window(window)
    if planned is None or (isinstance(slo.sli, RawSLI) and not is_period):
        return nan_safe_error_ratio(slo, format_duration(window)) or error_ratio(slo, format_duration(window))
    return ratio_expr(slo, *planned)


def needed_levels(slo: SLO) -> dict[Family, tuple[int, ...]]:
    """Per family, the ladder up to the largest tile some window reads (each rung is built from the one below)."""
    windows = [w for w in slo.windows.windows() if not isinstance(slo.sli, RawSLI)] + [slo.period]
    largest: dict[Family, int] = {}
    for window in windows:
        planned = plan_window(window)
        if planned is not None:
            family, tiles = planned
            largest[family] = max(largest.get(family, 0), *(t.size for t in tiles))
    return {family: tuple(s for s in family.ladder if s <= top) for family, top in largest.items()}


def ladder_rules(slo: SLO, levels: dict[Family, tuple[int, ...]], labels: Labels) -> list[Rule]:
    """The tiles above the 5m base, each built from the rung below (the smooth 1h from every 5m evaluation)."""
    ids = tile_selector(slo)
    rules: list[Rule] = []
    for family in (EXACT, SMOOTH):
        rungs = levels.get(family, ())
        for index, size in enumerate(rungs):
            for prefix, base_prefix in ((family.total, TOTAL_TILE), (family.errors, ERRORS_TILE)):
                if family is EXACT and size == BASE_TILE:
                    continue  # the base tiles themselves
                if index == 0 and family is SMOOTH:
                    expr = f"sum_over_time({tile_record(base_prefix, BASE_TILE)}{ids}[{SMOOTH_RANGE}])\n"
                else:
                    lower = rungs[index - 1]
                    parts = [Tile(lower, k * lower) for k in range(size // lower)]
                    expr = tiles_sum(prefix, slo, parts) + "\n"
                rules.append(RecordingRule(tile_record(prefix, size), expr, labels))
    return rules


def exact_sli_groups(slo: SLO, options: CompileOptions, interval: str | None = None) -> list[RuleGroup]:
    """The SLI recording group of ``slo``: base tiles, the tile ladders, then every alert window and the period.

    One group, so each rule reads the tiles recorded earlier in the same evaluation. ``interval`` sets the group's
    evaluation interval; it (or the global one) must divide 5m for the tiles to line up. Best is the scrape interval
    of the SLI's metrics (or a divisor of it): then every scrape interval weighs the same in the smooth tiles, which
    makes the day and 3-day windows of sparse services 3-10x more exact for twice the (small) cost.
    """
    if options.sloth_compat:
        return [sloth_plan(slo, options).sli_recordings]
    labels: Labels = merge(slo.labels, options.extra_labels, c.id_labels(slo.service, slo.name))
    rules: list[Rule] = []
    if isinstance(slo.sli, TimesliceSLI):
        rules.append(RecordingRule(c.SLI_INSTANT, instant_indicator(slo.sli), labels, role="sli_instant"))
    errors, total = base_tiles(slo)
    rules.append(RecordingRule(tile_record(TOTAL_TILE, BASE_TILE), total, labels))
    rules.append(RecordingRule(tile_record(ERRORS_TILE, BASE_TILE), errors, labels))
    rules += ladder_rules(slo, needed_levels(slo), labels)
    for seconds in slo.windows.windows():
        window = format_duration(seconds)
        rules.append(
            RecordingRule(
                c.sli_error_record(window),
                window_expr(slo, seconds, is_period=False),
                merge(labels, ((c.LABEL_WINDOW, window),)),
                role="sli",
                window=window,
            )
        )
    period = format_duration(slo.period)
    rules.append(
        RecordingRule(
            c.sli_error_record(period),
            window_expr(slo, slo.period, is_period=True),
            merge(labels, ((c.LABEL_WINDOW, period),)),
            role="sli_period",
            window=period,
        )
    )
    return [RuleGroup(c.sli_group(slo.id), tuple(rules), interval)]


def sloth_plan(slo: SLO, options: CompileOptions) -> SLOPlan:
    """``slo`` through the default plugin chain: the groups the tiled SLI group replaces or sits beside."""
    return compile_slo(slo, slo.spec_kind, Chain(builtin_registry(), options))
