"""Lowering: every SLI type to PromQL, in one place.

Each function ``match``es over the SLI union and ends in ``assert_never``, so adding an SLI type to ``model.SLI``
is a type error (mypy) here until it is lowered, and no renderer can forget it: renderers and plugins only ever
call these functions.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import assert_never

from codegen.conventions import SLI_INSTANT, id_selector, render_window
from codegen.counter_delta import TILE, delta_query
from codegen.model import SLI, SLO, EventsSLI, LatencySLI, NativeLatencySLI, RawSLI, SliceRatioSLI, TimesliceSLI

PRESENCE_WINDOW = "5m"  # the window an events/raw template is rendered with to ask "does it exist at all?"


def parenthesize(expr: str) -> str:
    """A user expression as one operand: ``a or b < bool 1`` compares only ``b``; ``(a or b) < bool 1`` does not."""
    return f"({expr.strip()})"


def number(value: float) -> str:
    """Shortest float text, integers without a trailing ``.0`` (PromQL accepts both)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---------------------------------------------------------------------------------------------------------------
# Latency (classic histogram) and timeslice (gauge condition) building blocks


def le_matcher(sli: LatencySLI) -> str:
    """Match the bucket whichever client formatted it (Go writes ``1``, Python and Prometheus 3 ``1.0``)."""
    if math.isinf(sli.threshold):
        return 'le="+Inf"'  # every observation: Prometheus' own spelling of the last bucket
    if float(sli.threshold).is_integer():
        whole = int(sli.threshold)
        return f'le=~"{whole}|{whole}\\\\.0"'
    return f'le="{sli.threshold!r}"'


def by(grouping: tuple[str, ...]) -> str:
    """The aggregation clause that keeps a grouped SLO's labels: `` by (endpoint)``; empty for no grouping."""
    return f" by ({', '.join(grouping)})" if grouping else ""


def _histogram_selector(sli: LatencySLI, suffix: str, extra: str = "") -> str:
    parts = [m for m in (sli.matchers, extra) if m]
    return f"{sli.histogram}_{suffix}{{{','.join(parts)}}}"


def native_selector(sli: NativeLatencySLI) -> str:
    return f"{sli.histogram}{{{sli.matchers}}}"


def latency_total_query(sli: LatencySLI, grouping: tuple[str, ...] = ()) -> str:
    return f"sum{by(grouping)}(rate({_histogram_selector(sli, 'count')}[{{{{.window}}}}]))"


def latency_good_query(sli: LatencySLI, grouping: tuple[str, ...] = ()) -> str:
    return f"sum{by(grouping)}(rate({_histogram_selector(sli, 'bucket', le_matcher(sli))}[{{{{.window}}}}]))"


def native_error_ratio_query(sli: NativeLatencySLI, grouping: tuple[str, ...] = ()) -> str:
    """Pyrra's ``latencyNative`` ratio: the share of the window's observations above the threshold."""
    rate = f"sum{by(grouping)}(rate({native_selector(sli)}[{{{{.window}}}}]))"
    return f"1 - histogram_fraction(0, {number(sli.threshold)}, {rate})"


def condition(sli: TimesliceSLI) -> str:
    """The bad-slice condition as written after the gauge: ``> 30``."""
    return f"{sli.operator} {number(sli.threshold)}"


def instant_indicator(sli: TimesliceSLI | SliceRatioSLI, grouping: tuple[str, ...] = ()) -> str:
    """The value recorded per evaluation. Timeslice: 1 when the slice is bad, 0 when good; with
    ``missing_is_bad`` a failed scrape is a bad slice (per group when grouped: ``up`` then has to carry the group
    labels). Slice ratio: the slice's error ratio, NaN dropped (an idle slice has no ratio, so it is no sample
    rather than a poisoned average; its query keeps whatever labels it aggregates by)."""
    match sli:
        case TimesliceSLI():
            expr = f"max{by(grouping)}({parenthesize(sli.query)} {sli.operator} bool {number(sli.threshold)})"
            if sli.missing_is_bad and sli.up_query:
                on = f"on({', '.join(grouping)})" if grouping else "on()"
                expr = f"({expr} or {on} (max{by(grouping)}({parenthesize(sli.up_query)}) * 0 + 1))"
            return expr
        case SliceRatioSLI():
            return f"({render_window(sli.error_ratio_query, sli.slice_window).strip()}) >= 0"
        case _:
            assert_never(sli)


def instant_selector(slo: SLO) -> str:
    return f"{SLI_INSTANT}{id_selector(slo.service, slo.name)}"


# ---------------------------------------------------------------------------------------------------------------
# Per SLI type


@lru_cache(maxsize=16384)  # the same objects every time, so later caches keyed on the text hit
def event_templates(sli: SLI, grouping: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """``(error, total)`` ``{{.window}}`` templates of a ratio-of-counts SLI; None for the other types.

    ``grouping`` reaches only the queries we write; events queries are the user's, and must keep the group labels
    themselves (the parser checks they name them).
    """
    match sli:
        case EventsSLI():
            return sli.error_query, sli.total_query
        case LatencySLI():
            total = latency_total_query(sli, grouping)
            return f"{total} - {latency_good_query(sli, grouping)}", total
        case RawSLI() | NativeLatencySLI() | TimesliceSLI() | SliceRatioSLI():
            return None
        case _:
            assert_never(sli)


def ratio_template(sli: SLI, grouping: tuple[str, ...] = ()) -> str | None:
    """The ``{{.window}}`` error-ratio template of an SLI that is one query (raw, native latency); else None."""
    match sli:
        case RawSLI():
            return sli.error_ratio_query
        case NativeLatencySLI():
            return native_error_ratio_query(sli, grouping)
        case EventsSLI() | LatencySLI() | TimesliceSLI() | SliceRatioSLI():
            return None
        case _:
            assert_never(sli)


RatioSLI = EventsSLI | LatencySLI | RawSLI | NativeLatencySLI  # SLI types whose ratio is a query over the window


@lru_cache(maxsize=65536)  # several plugins ask for the same (SLI, window); the SLI is frozen, so this is safe
def _query_ratio(sli: RatioSLI, window: str, nan_safe: bool, grouping: tuple[str, ...] = ()) -> str:
    match sli:
        case EventsSLI() | LatencySLI():
            error_t, total_t = event_templates(sli, grouping) or ("", "")
            error, total = render_window(error_t, window), render_window(total_t, window)
            if nan_safe:
                return f"(\n  ({error})\n  or\n  (0 * ({total}))\n)\n/\n(({total}) > 0)\n"
            return f"({error})\n/\n({total})\n"
        case RawSLI() | NativeLatencySLI():
            raw = render_window(ratio_template(sli, grouping) or "", window)
            return f"(\n({raw})\n) >= 0\n" if nan_safe else f"({raw})"
        case _:
            assert_never(sli)


def error_ratio(slo: SLO, window: str) -> str:
    """The error ratio over ``window`` exactly as Sloth writes it (the timeslice SLI: the indicator's mean)."""
    sli = slo.sli
    match sli:
        case EventsSLI() | LatencySLI() | RawSLI() | NativeLatencySLI():
            return _query_ratio(sli, window, False, slo.grouping)
        case TimesliceSLI() | SliceRatioSLI():
            return f"avg_over_time({instant_selector(slo)}[{window}])"
        case _:
            assert_never(sli)


def nan_safe_error_ratio(slo: SLO, window: str) -> str | None:
    """The error ratio without Sloth's NaN on idle windows; None when the SLI type never produces NaN.

    Sloth divides 0/0 into NaN, which then poisons the period average for a whole period. Here an idle window
    has no sample, and "no error series yet" counts as zero errors; a raw ratio drops NaN (a comparison with NaN
    is false).
    """
    sli = slo.sli
    match sli:
        case EventsSLI() | LatencySLI() | RawSLI() | NativeLatencySLI():
            return _query_ratio(sli, window, True, slo.grouping)
        case TimesliceSLI() | SliceRatioSLI():
            return None
        case _:
            assert_never(sli)


@lru_cache(maxsize=16384)  # asked per window and per plugin; a pure function of the frozen SLI
def counted_tiles(sli: SLI) -> tuple[str, str] | None:
    """``(errors, total)`` of an events or latency SLI over one 5m tile as exact counter increments
    (``codegen.counter_delta``: tiles of them add up to a window's exact count); None when either query is not
    linear in its rates, or for the other SLI types."""
    templates = event_templates(sli)
    if templates is None:
        return None
    error = delta_query(render_window(templates[0], TILE).strip())
    total = delta_query(render_window(templates[1], TILE).strip())
    return None if error is None or total is None else (error, total)


def tile_queries(slo: SLO, window: str, indicator_range: str) -> tuple[str, str]:
    """``(errors, total)`` over one tile of ``window`` (``exact_rules``); both always return a sample.

    Events and latency: their error and total increments (``counted_tiles`` over a 5m tile where the queries allow
    it, else their rates); no error series counts as zero errors. Timeslice: bad slices and slices of the recorded
    indicator over ``indicator_range`` (the tile's evaluations). Raw: a ready ratio has no traffic to weigh by, so
    each valid ratio is one unit of total (tiles of it average the ratio over time).
    """
    sli = slo.sli
    match sli:
        case EventsSLI() | LatencySLI():
            error_t, total_t = event_templates(sli) or ("", "")
            counted = counted_tiles(sli) if window == TILE else None
            error, total = counted or (render_window(error_t, window).strip(), render_window(total_t, window).strip())
            return (
                f"(\n  ({error})\n  or\n  (0 * ({total}))\n)\nor on() vector(0)\n",
                f"({total})\nor on() vector(0)\n",
            )
        case TimesliceSLI():
            instant = instant_selector(slo)
            return (
                f"sum_over_time({instant}[{indicator_range}]) or on() vector(0)",
                f"count_over_time({instant}[{indicator_range}]) or on() vector(0)",
            )
        case RawSLI():
            ratio = render_window(sli.error_ratio_query, window).strip()
            return (
                f"(({ratio}) >= 0) or on() vector(0)",
                f"((({ratio}) >= 0) * 0 + 1) or on() vector(0)",
            )
        case NativeLatencySLI() | SliceRatioSLI():
            raise ValueError(f"{type(sli).__name__} has no tile form (slo_plugins.slogen.exact_sli.tileable)")
        case _:
            assert_never(sli)


def presence_query(sli: SLI) -> str:
    """What must exist for the SLI to be measurable; ``absent()`` of it drives the no-data alert."""
    match sli:
        case LatencySLI():
            return _histogram_selector(sli, "count")
        case NativeLatencySLI():
            return native_selector(sli)
        case EventsSLI():
            return render_window(sli.total_query, PRESENCE_WINDOW).strip()
        case RawSLI():
            return render_window(sli.error_ratio_query, PRESENCE_WINDOW).strip()
        case TimesliceSLI():
            return sli.query.strip()
        case SliceRatioSLI():
            return render_window(sli.error_ratio_query, sli.slice_window).strip()
        case _:
            assert_never(sli)


GROUP_LOOKBACK = "1h"  # a group seen within this long and absent now is a group that went silent


def no_data_expr(slo: SLO) -> str:
    """The no-data condition: the SLI's metrics are absent altogether, or (grouped) one group's have vanished.

    ``absent()`` alone cannot see one endpoint of ten going silent; a grouped SLO also fires, with the group's
    labels, for every group present within ``GROUP_LOOKBACK`` (a subquery, so it works on any presence query)
    and absent now.
    """
    presence = presence_query(slo.sli)
    expr = f"absent({presence})"
    if not slo.grouping:
        return expr
    labels = ", ".join(slo.grouping)
    return (
        f"{expr}\nor\n(\n  group by ({labels}) (max_over_time(({presence})[{GROUP_LOOKBACK}:1m]))\n"
        f"  unless\n  group by ({labels}) ({presence})\n)\n"
    )
