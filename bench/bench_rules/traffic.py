"""Synthetic request and error counters with day/night skew, the exact truth, and Prometheus' rate() in numpy.

Each SLO sums ``instances`` counter pairs (``bench_requests_total``, ``bench_errors_total``) scraped every 30 s at a
per-instance phase. Traffic follows a 10x day/night cycle (trough 03:00 UTC, peak 15:00 UTC); requests per scrape
are Poisson, errors a binomial share of them, so errors are a subset of requests. Error classes: concentrated at
night, concentrated at peak, flat, and sparse services (0.1 req/s at peak: many idle 5m windows at night).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

SCRAPE = 30  # seconds
GRID = 60  # seconds between rule evaluations
DAY = 86400
END = int(datetime(2026, 11, 1, 14, 7, tzinfo=UTC).timestamp())  # T: every query is evaluated here
SPAN = 31 * DAY + 2 * 3600  # counters cover (END - SPAN, END]
CLASSES = ("night-errors", "peak-errors", "flat", "sparse")

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Service:
    """One SLO's traffic: ``index`` picks its class and error level, ``instances`` the series it sums."""

    index: int
    instances: int
    name: str

    @property
    def traffic_class(self) -> str:
        i = self.index % 20
        return CLASSES[0] if i < 10 else CLASSES[1] if i < 14 else CLASSES[2] if i < 17 else CLASSES[3]

    def rates(self, t: Ints) -> tuple[Floats, Floats]:
        """Requests per second of the whole service, and the error probability, at times ``t``."""
        hour = (t % DAY) / 3600
        shape = 0.1 + 0.9 * (1 - np.cos(2 * np.pi * (hour - 3) / 24)) / 2  # 0.1 at 03:00, 1.0 at 15:00
        night = 1 - (shape - 0.1) / 0.9
        cls = self.traffic_class
        peak = 0.1 if cls == "sparse" else 20.0
        if cls == "night-errors":
            p = 0.0005 + (0.01 + 0.001 * (self.index % 10)) * night
        elif cls == "peak-errors":
            p = 0.001 + 0.01 * (1 - night)
        elif cls == "flat":
            p = np.full_like(shape, 0.005)
        else:
            p = 0.005 + 0.01 * night
        return peak * shape, p


@dataclass(frozen=True)
class Counters:
    """Samples of one service: ``ts[i]`` the timestamps of instance i, ``requests``/``errors`` its counter values."""

    service: Service
    ts: list[Ints]
    requests: list[Ints]
    errors: list[Ints]


def phase(service: Service, instance: int) -> int:
    """Scrape offset in seconds, 1..29: never on the evaluation grid, so range edges are never ambiguous."""
    return 1 + (service.index * 7 + instance * 13) % 29


def simulate(service: Service, start: int = END - SPAN, seed: int = 0) -> Counters:
    rng = np.random.default_rng(seed * 100_003 + service.index * 1009 + service.instances)
    ts_all, req_all, err_all = [], [], []
    for i in range(service.instances):
        ts = np.arange(start + phase(service, i), END + 1, SCRAPE, dtype=np.int64)
        rate, p = service.rates(ts - SCRAPE // 2)
        n = rng.poisson(rate * SCRAPE / service.instances)
        e = rng.binomial(n, p)
        n[0] = e[0] = 0  # counters start at 0
        ts_all.append(ts)
        req_all.append(np.cumsum(n))
        err_all.append(np.cumsum(e))
    return Counters(service, ts_all, req_all, err_all)


def truth(c: Counters, window: int, at: int = END) -> float | None:
    """Errors over requests of the increments whose samples fall in ``(at - window, at]``; None without traffic."""
    req = err = 0
    for ts, r, e in zip(c.ts, c.requests, c.errors, strict=True):
        hi = int(np.searchsorted(ts, at, side="right")) - 1
        lo = max(int(np.searchsorted(ts, at - window, side="right")) - 1, 0)
        req += int(r[hi] - r[lo])
        err += int(e[hi] - e[lo])
    return err / req if req else None


def grid(start: int, end: int = END, step: int = GRID) -> Ints:
    """Evaluation times ``start..end`` every ``step`` seconds, ending exactly at ``end``."""
    return np.arange(end - ((end - start) // step) * step, end + 1, step, dtype=np.int64)


def prom_rate(ts: Ints, values: Ints, at: Ints, window: int) -> Floats:
    """Prometheus 2's ``rate(x[window])`` of one monotonic counter at each of ``at`` (NaN: fewer than 2 samples).

    Closed range ``[t - window, t]``, extrapolated to the range edges unless a gap to an edge exceeds 1.1 average
    intervals (then half an interval), and never below the counter's zero point, as ``extrapolatedRate`` does.
    """
    lo = np.searchsorted(ts, at - window, side="left")
    hi = np.searchsorted(ts, at, side="right") - 1
    ok = hi - lo >= 1
    lo_c, hi_c = np.where(ok, lo, 0), np.where(ok, hi, 0)
    first_t, last_t = ts[lo_c].astype(float), ts[hi_c].astype(float)
    first_v, last_v = values[lo_c].astype(float), values[hi_c].astype(float)
    result = last_v - first_v
    sampled = np.where(ok, last_t - first_t, 1.0)
    to_start = first_t - (at - window)
    to_end = at - last_t
    avg = sampled / np.where(ok, hi - lo, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        to_zero = np.where(result > 0, sampled * (first_v / np.where(result > 0, result, 1)), np.inf)
    to_start = np.where((result > 0) & (first_v >= 0) & (to_zero < to_start), to_zero, to_start)
    threshold = avg * 1.1
    interval = (
        sampled + np.where(to_start < threshold, to_start, avg / 2) + np.where(to_end < threshold, to_end, avg / 2)
    )
    rate = result * (interval / sampled) / window
    return np.where(ok, rate, np.nan)


def summed_rate(c: Counters, which: str, at: Ints, window: int) -> Floats:
    """``sum(rate(<which>[window]))`` over the service's instances: NaN-free, series without samples count 0."""
    total = np.zeros(len(at))
    seen = np.zeros(len(at), dtype=bool)
    for ts, r, e in zip(c.ts, c.requests, c.errors, strict=True):
        rate = prom_rate(ts, r if which == "requests" else e, at, window)
        seen |= ~np.isnan(rate)
        total += np.nan_to_num(rate)
    return np.where(seen, total, np.nan)


def summed_increment(c: Counters, which: str, at: Ints, window: int) -> Floats:
    """``sum(x - x offset window)`` over the service's instances: each counter's last sample at or before ``t``
    minus its last sample at or before ``t - window`` (every series here is older than ``window``, no resets)."""
    total = np.zeros(len(at))
    for ts, r, e in zip(c.ts, c.requests, c.errors, strict=True):
        values = (r if which == "requests" else e).astype(float)
        now = np.searchsorted(ts, at, side="right") - 1
        before = np.searchsorted(ts, at - window, side="right") - 1
        total += values[now] - values[np.maximum(before, 0)]
    return total
