"""Exact and cheap SLI recordings: every window is a sum of tiles of one recorded 5m base.

Sloth re-reads the raw series for every window (a 3d window reads 3 days of every instance series each
evaluation) and takes the period SLI as the time average of 5m ratios, which under day/night traffic is not the
error ratio of the period. Here the SLI's error and total quantities are recorded once per 5m tile
(``slo:sli_errors:tile5m``, ``slo:sli_total:tile5m``: the only rules that read raw data) and every window is the
ratio of sums of larger recorded tiles read at whole offsets: traffic-weighted like
``sum(increase(errors[W])) / sum(increase(total[W]))``, a few dozen recorded samples per rule whatever the window
and however many series the SLI sums. The ladder ``tile1h``, ``tile6h``, ``tile1d``, ``tile1w`` sums disjoint
tiles of the rung below; a window is the disjoint tiles that partition ``(t - W, t]`` (30m = 6 x 5m, 3d = 3 x 1d,
30d = 4 weeks + 2 days), so a burst enters and leaves the window at the same evaluation as with a raw
``rate(x[W])`` and the alerts fire at the same moments.

The 5m base is exact, so tiles add up to the window's exact count (``make bench-rules`` measures it):

- Events and latency: the counters' increments ``x - x offset 5m`` (``codegen.counter_delta``); consecutive tiles
  telescope to ``x(t) - x(t - W)``, the increments scraped in the window, with no extrapolation at the 288 tile
  edges of a day (``rate()`` per tile was 2-4% off on a service with ~50 errors a day).
- Timeslice: bad slices and slices of the recorded indicator over ``[4m59s]``, each evaluation in one tile.
- Raw: a ready ratio cannot be split into errors and total: its alert windows keep the raw query (exact, at the
  raw query's cost) and its period is the time average of its 5m ratios sampled once per tile.

Events queries that ``counter_delta`` cannot rewrite (not linear in their rates) keep ``rate()`` tiles. Disjoint
rate tiles drop the interval that straddles each edge into the extrapolation, so for them windows of a day or more
use *smooth* tiles instead: ``smooth1h`` = ``sum_over_time(tile5m[59m59s])``, the 5m tiles of every evaluation of
the hour, then ``smooth6h``, ``smooth1d``, ``smooth1w``. Overlapping rates weigh every scrape interval almost
equally (3-4x less error), at the price of 5m soft edges (~2.5 minutes of lag on 1d, 3d and the period).

Why offsets and not ``sum_over_time`` over the whole window: 30d of a 1-minute series is 43,200 samples per rule;
subqueries at a coarse step are aligned to the epoch, not to ``t``, so their head lags by up to one step. Offsets
land exactly on earlier evaluations when the evaluation interval divides 5m (15s, 30s, 1m all do); the ranges
``[4m59s]`` and ``[59m59s]`` select exactly 5m and 1h worth of evaluations in Prometheus 2's closed and 3's
left-open ranges alike.

Guarantees kept from the NaN-safe default: base tiles always exist (``or on() vector(0)``), a missing error series
counts as zero errors, a tile that did not exist yet (the chain is younger than the window) counts as zero traffic
(``x offset k or 0 * x``), and a window without traffic has no sample instead of NaN (``total > 0``). Names and
labels of ``slo:sli_error:ratio_rate<W>`` are Sloth's, so metadata rules, alerts and dashboards built on them work
unchanged; tiles are our own ``slo:`` series without ``sloth_window`` (so tiles of different sizes add up). A
window that is not a whole number of 5m tiles keeps the expression it had. The chain step that applies this is
``slogen.dev/exact_sli/v1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from codegen import conventions as c
from codegen.counter_delta import TILE_SECONDS
from codegen.durations import format_duration
from codegen.lowering import counted_tiles, tile_queries
from codegen.model import SLO, RawSLI, TimesliceSLI
from codegen.plan import Labels, RecordingRule

BASE_TILE = TILE_SECONDS
HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
EXACT_LADDER: tuple[int, ...] = (BASE_TILE, HOUR, 6 * HOUR, DAY, WEEK)  # each a multiple of the one before
SMOOTH_LADDER: tuple[int, ...] = (HOUR, 6 * HOUR, DAY, WEEK)
SMOOTH_FROM = DAY  # rate tiles: windows at least this long use the smooth family
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


EXACT = Family(c.ERRORS_TILE_PREFIX, c.TOTAL_TILE_PREFIX, EXACT_LADDER)
SMOOTH = Family(c.ERRORS_SMOOTH_PREFIX, c.TOTAL_SMOOTH_PREFIX, SMOOTH_LADDER)


def tile_record(prefix: str, size: int) -> str:
    """``slo:sli_errors:tile5m`` from a family prefix and a size in seconds."""
    return f"{prefix}{format_duration(size)}"


def tiles_for(window: int, levels: tuple[int, ...]) -> tuple[Tile, ...] | None:
    """Partition ``(t - window, t]`` into the fewest tiles of ``levels`` (largest first); None if impossible."""
    tiles: list[Tile] = []
    offset = 0
    remaining = window
    for size in sorted(levels, reverse=True):
        while remaining >= size:
            tiles.append(Tile(size, offset))
            offset += size
            remaining -= size
    return tuple(tiles) if remaining == 0 else None


def telescopes(slo: SLO) -> bool:
    """Whether the SLO's disjoint tiles add up to a window's exact count: counter increments, slices and sampled
    ratios do; ``rate()`` tiles (queries ``counter_delta`` cannot rewrite) lose each edge to extrapolation."""
    return isinstance(slo.sli, TimesliceSLI | RawSLI) or counted_tiles(slo.sli) is not None


@lru_cache(maxsize=256)
def plan_window(window: int, smooth_long: bool = False) -> tuple[Family, tuple[Tile, ...]] | None:
    """The family and tiles of one window; None when it is not a whole number of 5m tiles. ``smooth_long``: the
    base tiles are rates, so windows of a day or more take the smooth family."""
    if smooth_long and window >= SMOOTH_FROM:
        tiles = tiles_for(window, SMOOTH_LADDER)
        if tiles is not None:
            return SMOOTH, tiles
    tiles = tiles_for(window, EXACT_LADDER)
    return (EXACT, tiles) if tiles is not None else None


# Expressions depend on the SLO only through its tile selector: they are built once per window (or ladder) with
# this placeholder and the selector is substituted per SLO (thousands of SLOs share a handful of windows).
_IDS = "\x00"


def _term(selector: str, tile: Tile) -> str:
    """One tile; a tile older than the chain counts as zero (``0 * x`` keeps the labels, reads one sample)."""
    if tile.offset == 0:
        return selector
    return f"({selector} offset {format_duration(tile.offset)} or 0 * {selector})"


def tiles_sum(prefix: str, ids: str, tiles: tuple[Tile, ...]) -> str:
    return "\n  + ".join(_term(f"{tile_record(prefix, t.size)}{ids}", t) for t in tiles)


def ratio_expr(ids: str, family: Family, tiles: tuple[Tile, ...]) -> str:
    """Errors over total of the same tiles; no sample (not NaN) when the window saw no traffic."""
    errors = tiles_sum(family.errors, ids, tiles)
    total = tiles_sum(family.total, ids, tiles)
    return f"(\n  {errors}\n)\n/\n(\n  (\n  {total}\n  ) > 0\n)\n"


@lru_cache(maxsize=256)
def _window_template(window: int, smooth_long: bool) -> str | None:
    planned = plan_window(window, smooth_long)
    return None if planned is None else ratio_expr(_IDS, *planned)


def base_tiles(slo: SLO) -> tuple[str, str]:
    """Expressions of the 5m error and total tiles, the only ones that read raw data; both always return a sample."""
    return tile_queries(slo, format_duration(BASE_TILE), BASE_RANGE)


@dataclass(frozen=True, slots=True)
class SLOTiles:
    """What the tiled windows of one SLO depend on, worked out once per SLO rather than once per window."""

    smooth_long: bool  # the base tiles are rates (``not telescopes``): long windows take the smooth family
    raw: bool  # a raw SLI: only its period is tiled
    selector: str  # ``c.tile_selector`` of the SLO

    def window_expr(self, window: int, is_period: bool) -> str | None:
        """See ``window_expr``."""
        template = _window_template(window, self.smooth_long)
        if template is None or (self.raw and not is_period):
            return None
        return template.replace(_IDS, self.selector)


def slo_tiles(slo: SLO) -> SLOTiles:
    return SLOTiles(not telescopes(slo), isinstance(slo.sli, RawSLI), c.tile_selector(slo.id))


def window_expr(slo: SLO, window: int, is_period: bool) -> str | None:
    """The SLI over ``window`` from tiles; None when the window cannot be tiled (not whole 5m tiles) or when tiles
    would change its meaning: a raw SLI's alert windows (tiles of a ratio are a time average, not its ratio)."""
    return slo_tiles(slo).window_expr(window, is_period)


def needed_levels(windows: list[int], smooth_long: bool = False) -> dict[Family, tuple[int, ...]]:
    """Per family, the ladder up to the largest tile the tiled ``windows`` read (each rung built from the one
    below)."""
    largest: dict[Family, int] = {}
    for window in windows:
        planned = plan_window(window, smooth_long)
        if planned is not None:
            family, tiles = planned
            largest[family] = max(largest.get(family, 0), *(t.size for t in tiles))
    return {family: tuple(s for s in family.ladder if s <= top) for family, top in largest.items()}


@lru_cache(maxsize=256)
def _ladder_templates(exact: tuple[int, ...], smooth: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    """``(record, expr)`` of the tiles above the 5m base, each built from the rung below (the smooth 1h from every
    5m evaluation), with the selector placeholder."""
    out: list[tuple[str, str]] = []
    for family, rungs in ((EXACT, exact), (SMOOTH, smooth)):
        for index, size in enumerate(rungs):
            for prefix, base_prefix in ((family.total, c.TOTAL_TILE_PREFIX), (family.errors, c.ERRORS_TILE_PREFIX)):
                if family is EXACT and size == BASE_TILE:
                    continue  # the base tiles themselves
                if index == 0 and family is SMOOTH:
                    expr = f"sum_over_time({tile_record(base_prefix, BASE_TILE)}{_IDS}[{SMOOTH_RANGE}])\n"
                else:
                    lower = rungs[index - 1]
                    parts = tuple(Tile(lower, k * lower) for k in range(size // lower))
                    expr = tiles_sum(prefix, _IDS, parts) + "\n"
                out.append((tile_record(prefix, size), expr))
    return tuple(out)


def _ladder(levels: dict[Family, tuple[int, ...]]) -> tuple[tuple[str, str], ...]:
    return _ladder_templates(levels.get(EXACT, ()), levels.get(SMOOTH, ()))


@lru_cache(maxsize=256)  # SLOs share a handful of window sets
def _windows_ladder(windows: tuple[int, ...], smooth_long: bool) -> tuple[tuple[str, str], ...]:
    return _ladder(needed_levels(list(windows), smooth_long))


def _instantiate(templates: tuple[tuple[str, str], ...], selector: str, labels: Labels) -> list[RecordingRule]:
    return [RecordingRule(record, expr.replace(_IDS, selector), labels) for record, expr in templates]


def ladder_rules(slo: SLO, levels: dict[Family, tuple[int, ...]], labels: Labels) -> list[RecordingRule]:
    """The tiles above the 5m base of ``slo``."""
    return _instantiate(_ladder(levels), c.tile_selector(slo.id), labels)


_BASE_TOTAL = tile_record(c.TOTAL_TILE_PREFIX, BASE_TILE)
_BASE_ERRORS = tile_record(c.ERRORS_TILE_PREFIX, BASE_TILE)


def tile_rules(slo: SLO, windows: list[int], labels: Labels, tiles: SLOTiles | None = None) -> list[RecordingRule]:
    """The base tiles and the ladders the tiled ``windows`` read, in evaluation order (each after what it reads).

    ``labels`` are the SLI recordings' labels without ``sloth_window``, so tiles of different sizes add up;
    ``tiles``: ``slo_tiles(slo)`` when the caller has it.
    """
    tiles = tiles or slo_tiles(slo)
    errors, total = base_tiles(slo)
    return [
        RecordingRule(_BASE_TOTAL, total, labels),
        RecordingRule(_BASE_ERRORS, errors, labels),
        *_instantiate(_windows_ladder(tuple(windows), tiles.smooth_long), tiles.selector, labels),
    ]
