"""Seeded tick simulator in the Coinbase Advanced Trade ``ticker`` shape (no network here, so ticks are made).

Per product and second: a two-state Markov regime (calm / turbulent) sets the target variance of a GARCH(1,1)
recursion; the 1-s log return is sigma_t times a unit-variance Student-t shock (fat tails). Ticker updates
arrive as a Poisson count whose rate rises with sigma_t; spreads are one tick most of the time and otherwise
lognormal in dollars, wider when volatile; L1 quantities are lognormal with an imbalance that weakly leans
toward the next second's move. Defaults are calibrated to BTC-USD captures: ~6 ticks/s, calm 1-s log-return
std ~1e-4, median spread $0.01. ``drift=True`` makes the market busier with wider spreads (the Evidently
demo).

Everything is drawn from one ``numpy.random.Generator`` per product, spawned from the seed, in fixed-size
chunks, so a seed gives the same stream whatever the consumer's pace or the requested duration.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from services.ticks.messages import epoch_us, heartbeat_envelope, iso_us, ticker_envelope

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
CHUNK_SECONDS = 600


@dataclass(frozen=True)
class MarketParams:
    """Dynamics of one simulated market; defaults are BTC-USD-like."""

    start_price: float = 65_000.0
    tick_size: float = 0.01
    qty_median: float = 0.05
    calm_sigma: float = 9.0e-5  # per-second log-return std in the calm regime
    turbulent_sigma: float = 3.0e-4
    p_stay_calm: float = 0.995  # mean calm spell 200 s
    p_stay_turbulent: float = 0.98  # mean turbulent spell 50 s
    garch_alpha: float = 0.06
    garch_beta: float = 0.90
    student_nu: float = 4.0
    base_rate: float = 5.0  # ticker updates per second at calm sigma
    rate_elasticity: float = 0.6  # rate ~ (sigma / calm_sigma) ** elasticity
    max_rate: float = 40.0
    one_tick_spread_prob: float = 0.72  # at calm sigma; falls as sigma rises
    wide_spread_median: float = 0.30  # dollars, for the non-one-tick spreads at calm sigma
    wide_spread_log_sd: float = 1.3
    imbalance_log_sd: float = 2.4  # sd of log(bid_qty / ask_qty)
    imbalance_signal: float = 0.6  # how much log(bid/ask) leans toward the next second's shock
    qty_log_sd: float = 0.7

    def drifted(self) -> MarketParams:
        """Busier and wider: what a different venue mix or a news day does to the order book."""
        return replace(
            self,
            base_rate=self.base_rate * 2.2,
            max_rate=self.max_rate * 2,
            one_tick_spread_prob=0.25,
            wide_spread_median=self.wide_spread_median * 3,
        )


PRODUCTS: dict[str, MarketParams] = {
    "BTC-USD": MarketParams(),
    "ETH-USD": MarketParams(start_price=3_300.0, qty_median=0.8, calm_sigma=1.1e-4, turbulent_sigma=3.5e-4),
    "SOL-USD": MarketParams(start_price=180.0, qty_median=12.0, calm_sigma=1.5e-4, turbulent_sigma=4.5e-4),
}


def params_for(product_id: str, drift: bool = False) -> MarketParams:
    """Known products get their calibration; others a BTC-like market at price 100."""
    params = PRODUCTS.get(product_id) or MarketParams(start_price=100.0, qty_median=10.0)
    return params.drifted() if drift else params


@dataclass(frozen=True, slots=True)
class SimTick:
    """One simulated ticker update, before it is dressed as an envelope."""

    time_us: int
    product_id: str
    ticker: dict[str, str]


@dataclass(frozen=True, slots=True)
class SimSecond:
    """Ground truth for one simulated second (the sidecar the calibration tests read)."""

    second: int  # seconds since the start
    turbulent: bool
    sigma: float
    log_return: float  # latent 1-s log return
    ticks: int


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


class MarketSimulator:
    """One product's endless, chunk-generated tick stream."""

    def __init__(self, product_id: str, rng: np.random.Generator, start_us: int, params: MarketParams) -> None:
        self.product_id = product_id
        self.rng = rng
        self.start_us = start_us
        self.p = params
        self._second = 0
        self._turbulent = False
        self._var = params.calm_sigma**2
        self._prev_return = 0.0
        self._log_price = math.log(params.start_price)
        self._pending_shock = float(self._shocks(1)[0])
        self._volume_24h = float(rng.uniform(8_000, 12_000)) * params.qty_median * 20
        self._low = params.start_price * 0.985
        self._high = params.start_price * 1.015
        self._price_decimals = _decimals(params.tick_size)
        self.truth: list[SimSecond] = []
        self.keep_truth = False

    def _shocks(self, n: int) -> np.ndarray:
        nu = self.p.student_nu
        return self.rng.standard_t(nu, n) / math.sqrt(nu / (nu - 2.0))

    def chunk(self, seconds: int) -> list[SimTick]:
        """The next `seconds` seconds of ticks, in time order."""
        p, rng = self.p, self.rng
        regime_draws = rng.random(seconds)
        shocks = np.concatenate(([self._pending_shock], self._shocks(seconds)))
        self._pending_shock = float(shocks[-1])
        sigma = np.empty(seconds)
        returns = np.empty(seconds)
        turbulent = np.empty(seconds, dtype=bool)
        persistence = 1.0 - p.garch_alpha - p.garch_beta
        for i in range(seconds):
            stay = p.p_stay_turbulent if self._turbulent else p.p_stay_calm
            if regime_draws[i] >= stay:
                self._turbulent = not self._turbulent
            target = p.turbulent_sigma if self._turbulent else p.calm_sigma
            self._var = persistence * target**2 + p.garch_alpha * self._prev_return**2 + p.garch_beta * self._var
            sigma[i] = math.sqrt(self._var)
            returns[i] = sigma[i] * shocks[i]
            self._prev_return = float(returns[i])
            turbulent[i] = self._turbulent
        heat = sigma / p.calm_sigma
        rates = np.minimum(p.max_rate, p.base_rate * heat**p.rate_elasticity)
        counts = rng.poisson(rates)
        total = int(counts.sum())
        owner = np.repeat(np.arange(seconds), counts)
        offsets = rng.integers(0, 1_000_000, total)
        order = np.lexsort((offsets, owner))
        offsets = offsets[order]
        one_tick = rng.random(total) < p.one_tick_spread_prob / np.sqrt(heat[owner])
        wide = p.wide_spread_median * np.sqrt(heat[owner]) * np.exp(p.wide_spread_log_sd * rng.standard_normal(total))
        spread_ticks = np.where(one_tick, 1, np.maximum(1, np.rint(wide / p.tick_size))).astype(np.int64)
        next_shock = np.clip(shocks[1:], -3.0, 3.0)[owner]
        lean = p.imbalance_signal * next_shock + p.imbalance_log_sd * rng.standard_normal(total)
        size = np.log(p.qty_median) + p.qty_log_sd * rng.standard_normal(total)
        bid_qty = np.maximum(1e-8, np.exp(size + lean / 2))
        ask_qty = np.maximum(1e-8, np.exp(size - lean / 2))
        buyer = rng.random(total) < 0.5
        trade_qty = p.qty_median * rng.exponential(0.3, total)
        # latent log price moves linearly through the second: tick at fraction u sees start + u * return
        cum = self._log_price + np.concatenate(([0.0], np.cumsum(returns)))
        log_mid = cum[owner] + returns[owner] * (offsets / 1_000_000)
        self._log_price = float(cum[-1])

        ticks: list[SimTick] = []
        step, dec = p.tick_size, self._price_decimals
        base_us = self.start_us + self._second * 1_000_000
        for k in range(total):
            mid = math.exp(float(log_mid[k]))
            spread = int(spread_ticks[k])
            bid_steps = math.floor(mid / step - spread / 2.0)
            bid, ask = bid_steps * step, (bid_steps + spread) * step
            price = ask if buyer[k] else bid
            self._volume_24h += float(trade_qty[k])
            self._low, self._high = min(self._low, price), max(self._high, price)
            ticker = {
                "type": "ticker",
                "product_id": self.product_id,
                "price": f"{price:.{dec}f}",
                "volume_24_h": f"{self._volume_24h:.8f}",
                "low_24_h": f"{self._low:.{dec}f}",
                "high_24_h": f"{self._high:.{dec}f}",
                "low_52_w": f"{p.start_price * 0.55:.{dec}f}",
                "high_52_w": f"{p.start_price * 1.35:.{dec}f}",
                "price_percent_chg_24_h": f"{(price / p.start_price - 1) * 100:.8f}",
                "best_bid": f"{bid:.{dec}f}",
                "best_bid_quantity": f"{float(bid_qty[k]):.8f}",
                "best_ask": f"{ask:.{dec}f}",
                "best_ask_quantity": f"{float(ask_qty[k]):.8f}",
            }
            ticks.append(SimTick(base_us + int(owner[k]) * 1_000_000 + int(offsets[k]), self.product_id, ticker))
        if self.keep_truth:
            self.truth.extend(
                SimSecond(self._second + i, bool(turbulent[i]), float(sigma[i]), float(returns[i]), int(counts[i]))
                for i in range(seconds)
            )
        self._second += seconds
        return ticks

    def ticks(self, seconds: float) -> Iterator[SimTick]:
        """Ticks for `seconds` seconds (math.inf: forever)."""
        done = 0
        while done < seconds:
            # chunks always have full size so the draws (hence the stream) do not depend on `seconds`
            for tick in self.chunk(CHUNK_SECONDS):
                if tick.time_us >= self.start_us + seconds * 1_000_000:
                    return
                yield tick
            done += CHUNK_SECONDS


def _markets(seed: int, product_ids: Sequence[str], drift: bool, start: datetime | None) -> list[MarketSimulator]:
    if not product_ids:
        raise ValueError("product_ids: at least one product is needed")
    if len(set(product_ids)) != len(product_ids):
        raise ValueError(f"product_ids: duplicates in {list(product_ids)}")
    start_us = epoch_us(start or DEFAULT_START)
    children = np.random.SeedSequence(seed).spawn(len(product_ids))
    return [
        MarketSimulator(pid, np.random.default_rng(child), start_us, params_for(pid, drift))
        for pid, child in zip(product_ids, children, strict=True)
    ]


def simulate(
    seed: int,
    seconds: float,
    product_ids: Sequence[str] = ("BTC-USD",),
    drift: bool = False,
    start: datetime | None = None,
    *,
    heartbeats: bool = False,
) -> Iterator[dict[str, Any]]:
    """Ticker envelopes for `seconds` seconds (math.inf for an endless stream), in time order.

    Deterministic for a seed. `start` defaults to a fixed instant (2025-01-01T00:00Z) so output is
    reproducible; pass the current time for a live-looking stream. The first message per product is a
    ``snapshot`` event, then ``update``s. With `heartbeats`, a ``heartbeats`` message is interleaved at every
    whole second.
    """
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"seconds: must be >= 0, got {seconds}")
    markets = _markets(seed, product_ids, drift, start)
    merged = heapq.merge(*(m.ticks(seconds) for m in markets), key=lambda t: t.time_us)
    sequence = 0
    seen: set[str] = set()
    start_us = markets[0].start_us
    next_heartbeat_us = start_us
    for tick in merged:
        while heartbeats and next_heartbeat_us <= tick.time_us:
            counter = (next_heartbeat_us - start_us) // 1_000_000
            yield heartbeat_envelope(sequence, iso_us(next_heartbeat_us), counter)
            sequence += 1
            next_heartbeat_us += 1_000_000
        event_type = "update" if tick.product_id in seen else "snapshot"
        seen.add(tick.product_id)
        yield ticker_envelope(sequence, iso_us(tick.time_us), [tick.ticker], event_type)
        sequence += 1


def simulate_with_truth(
    seed: int, seconds: int, product_id: str = "BTC-USD", drift: bool = False, start: datetime | None = None
) -> tuple[list[dict[str, Any]], list[SimSecond]]:
    """``simulate(seed, seconds, (product_id,), drift, start)`` plus the per-second ground truth."""
    (market,) = _markets(seed, (product_id,), drift, start)
    market.keep_truth = True
    messages = [
        ticker_envelope(i, iso_us(t.time_us), [t.ticker], "update" if i else "snapshot")
        for i, t in enumerate(market.ticks(seconds))
    ]
    return messages, market.truth[:seconds]
