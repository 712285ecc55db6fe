"""The one feature implementation shared by the producer, training, replay, the API and the consumer.

Ticks are folded onto a 1-second grid per product: each second closes with the last quote seen (forward-filled
when a second has no tick) and the number of ticker updates in it. A closed second yields one feature row over
trailing windows of 30, 60 and 300 seconds. Because every consumer of features goes through `FeatureEngine`,
train and serve cannot disagree about what a feature means.

Row timestamp = the *end* of the closed second, i.e. the instant at which every input of the row was known.
Windows are partial while a product warms up (fewer than 300 s of history); `WARMUP_SECONDS` tells training
how many leading rows per product to drop.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from numbers import Real
from typing import Any

WINDOWS: tuple[int, ...] = (30, 60, 300)
WARMUP_SECONDS = max(WINDOWS)
# A product silent for longer than this starts over: forward-filling a long outage would invent a flat market.
MAX_GAP_SECONDS = 300
METADATA_FIELDS: tuple[str, ...] = ("product_id", "timestamp")

FEATURE_COLUMNS: tuple[str, ...] = (
    "log_return_1s",
    *(f"log_return_{w}s" for w in WINDOWS),
    *(f"rv_{w}s" for w in WINDOWS),
    *(f"spread_bps_mean_{w}s" for w in WINDOWS),
    *(f"ob_imbalance_{w}s" for w in WINDOWS),
    *(f"tick_intensity_{w}s" for w in WINDOWS),
)

_HISTORY_KEEP = max(WINDOWS) + 1  # mids: one more than the longest window, for the w-second log return
_TRIM_AT = 4 * _HISTORY_KEEP  # trim lists in amortised batches instead of on every second


class FeatureError(ValueError):
    """Input that cannot become (or is not) a valid feature row; the message names the offending field."""


# ---------------------------------------------------------------------------------------------------------
# Validation (API and consumer)


def validate_feature_row(row: Mapping[str, Any]) -> dict[str, float]:
    """Return the features of `row` as floats in FEATURE_COLUMNS order, or raise FeatureError naming a field.

    `product_id` and `timestamp` may ride along (metadata, not returned); any other unknown key is an error:
    a client sending stale feature names learns so instead of being scored on defaults.
    """
    if type(row) is dict and _ALLOWED_KEYS.issuperset(row):  # fast path for the common, valid row
        try:
            values = [row[name] for name in FEATURE_COLUMNS]
        except KeyError:
            pass  # the checks below name the missing feature
        else:
            # A sum of floats is finite only if every term is (NaN and ±inf propagate); overflow falls through.
            if set(map(type, values)) == _FLOAT_ONLY and math.isfinite(sum(values)):
                return dict(zip(FEATURE_COLUMNS, values, strict=True))
    if not isinstance(row, Mapping):
        raise FeatureError(f"row: expected an object of features, got {type(row).__name__}")
    unknown = sorted(str(k) for k in row if k not in _FEATURE_SET and k not in METADATA_FIELDS)
    if unknown:
        raise FeatureError(f"{unknown[0]}: unknown feature (expected {', '.join(FEATURE_COLUMNS)})")
    out: dict[str, float] = {}
    for name in FEATURE_COLUMNS:
        if name not in row:
            raise FeatureError(f"{name}: missing feature")
        value = row[name]
        kind = type(value)
        if kind is not float and (kind is bool or not isinstance(value, Real)):  # exact-type fast path first
            raise FeatureError(f"{name}: not a number ({value!r:.40})")
        try:
            number = value if kind is float else float(value)
        except OverflowError:  # a 400-digit JSON integer
            raise FeatureError(f"{name}: number out of range") from None
        if not math.isfinite(number):
            raise FeatureError(f"{name}: not finite ({number})")
        out[name] = number
    return out


_FEATURE_SET = frozenset(FEATURE_COLUMNS)
_ALLOWED_KEYS = _FEATURE_SET | frozenset(METADATA_FIELDS)
_FLOAT_ONLY = {float}


# ---------------------------------------------------------------------------------------------------------
# Parsing ticker events

_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp_us(value: Any) -> int:
    """Epoch microseconds from ISO-8601 text (Coinbase sends nanoseconds and 'Z'), a datetime or seconds.

    Integer microseconds keep second bucketing exact; floats would put 12:00:00.999999 on either side by luck.
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)  # fast path: the common '...Z' form parses as is
        except ValueError:
            moment = _parse_iso_text(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    elif isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value)):
        return round(float(value) * 1_000_000)
    else:
        raise FeatureError(f"timestamp: missing or not a time ({value!r})")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_iso_text(value: str) -> datetime:
    """What `datetime.fromisoformat` refuses but a feed may send: surrounding spaces, a lowercase 'z'."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Truncate nanoseconds to microseconds (floor, as bucketing needs) rather than rely on the parser's handling.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise FeatureError(f"timestamp: not ISO-8601 ({value!r})") from exc


def format_timestamp(epoch_seconds: int) -> str:
    """ISO-8601 UTC with a 'Z', the form every row carries."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _positive(ticker: Mapping[str, Any], name: str, allow_zero: bool = False) -> float:
    raw = ticker.get(name)
    if raw is None or isinstance(raw, bool):
        raise FeatureError(f"{name}: missing")
    try:
        number = float(raw)
    except (TypeError, ValueError) as exc:
        raise FeatureError(f"{name}: not a number ({raw!r})") from exc
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise FeatureError(f"{name}: must be a finite {'non-negative' if allow_zero else 'positive'} number")
    return number


@dataclass(frozen=True, slots=True)
class Quote:
    """The parts of one ticker event the features use."""

    product_id: str
    time_us: int
    best_bid: float
    best_ask: float
    bid_qty: float
    ask_qty: float

    @property
    def mid(self) -> float:
        return (self.best_bid + self.best_ask) / 2.0

    @property
    def spread_bps(self) -> float:
        return (self.best_ask - self.best_bid) / self.mid * 10_000.0

    @property
    def imbalance(self) -> float:
        """L1 imbalance in [-1, 1]: +1 all resting size on the bid."""
        total = self.bid_qty + self.ask_qty
        return 0.0 if total == 0 else (self.bid_qty - self.ask_qty) / total


def parse_ticker(ticker: Mapping[str, Any]) -> Quote:
    """Validate one Advanced Trade ticker (string fields) plus its `timestamp`, or raise FeatureError."""
    if not isinstance(ticker, Mapping):
        raise FeatureError(f"ticker: expected an object, got {type(ticker).__name__}")
    product_id = ticker.get("product_id")
    if not isinstance(product_id, str) or not product_id:
        raise FeatureError("product_id: missing")
    stamp = ticker.get("timestamp", ticker.get("time"))
    quote = Quote(
        product_id=product_id,
        time_us=parse_timestamp_us(stamp),
        best_bid=_positive(ticker, "best_bid"),
        best_ask=_positive(ticker, "best_ask"),
        bid_qty=_positive(ticker, "best_bid_quantity", allow_zero=True),
        ask_qty=_positive(ticker, "best_ask_quantity", allow_zero=True),
    )
    if quote.best_ask < quote.best_bid:
        raise FeatureError(f"best_ask: below best_bid ({quote.best_ask} < {quote.best_bid})")
    return quote


# ---------------------------------------------------------------------------------------------------------
# Window statistics (pure functions, also used for the label)


def mean(values: list[float]) -> float:
    """Correctly rounded mean: order-independent, so streamed and replayed sums agree to the bit."""
    return math.fsum(values) / len(values) if values else 0.0


def population_std(values: list[float]) -> float:
    """Population standard deviation (two-pass, fsum); 0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    centre = math.fsum(values) / n
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / n)


# ---------------------------------------------------------------------------------------------------------
# Streaming engine


@dataclass(slots=True)
class _ProductState:
    """One product's open second and the closed-second history the windows need."""

    open_second: int
    last: Quote
    ticks_in_open: int = 0
    mids: list[float] = field(default_factory=list)  # mid at the close of each second
    returns: list[float] = field(default_factory=list)  # log mid return of each second (0 for the first)
    spreads_bps: list[float] = field(default_factory=list)
    imbalances: list[float] = field(default_factory=list)
    tick_counts: list[float] = field(default_factory=list)

    def close_second(self, product_id: str) -> dict[str, Any]:
        """Close `open_second` with the current quote, append to history and build its row."""
        mid = self.last.mid
        self.returns.append(math.log(mid / self.mids[-1]) if self.mids else 0.0)
        self.mids.append(mid)
        self.spreads_bps.append(self.last.spread_bps)
        self.imbalances.append(self.last.imbalance)
        self.tick_counts.append(float(self.ticks_in_open))
        row: dict[str, Any] = {
            "product_id": product_id,
            "timestamp": format_timestamp(self.open_second + 1),
            "log_return_1s": self.returns[-1],
        }
        for w in WINDOWS:
            anchor = self.mids[-w - 1] if len(self.mids) > w else self.mids[0]
            row[f"log_return_{w}s"] = math.log(mid / anchor)
        for w in WINDOWS:
            row[f"rv_{w}s"] = population_std(self.returns[-w:])
        for w in WINDOWS:
            row[f"spread_bps_mean_{w}s"] = mean(self.spreads_bps[-w:])
        for w in WINDOWS:
            row[f"ob_imbalance_{w}s"] = mean(self.imbalances[-w:])
        for w in WINDOWS:
            row[f"tick_intensity_{w}s"] = mean(self.tick_counts[-w:])
        if len(self.mids) > _TRIM_AT:
            for series in (self.mids, self.returns, self.spreads_bps, self.imbalances, self.tick_counts):
                del series[:-_HISTORY_KEEP]
        self.open_second += 1
        self.ticks_in_open = 0
        return row


class FeatureEngine:
    """Streaming featurizer: feed ticker events in arrival order, collect completed 1-second rows.

    A tick in a later second closes the open second (and forward-fills any silent seconds in between). A tick
    stamped before the open second (late delivery) counts toward the open second instead of rewriting history,
    so output depends only on the input order, never on wall time.
    """

    def __init__(self) -> None:
        self._products: dict[str, _ProductState] = {}
        self.late_ticks = 0
        self.resets = 0

    def update(self, ticker: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Fold one ticker event (needs `timestamp`) in; return the rows of seconds it completed."""
        quote = parse_ticker(ticker)
        second = quote.time_us // 1_000_000
        state = self._products.get(quote.product_id)
        rows: list[dict[str, Any]] = []
        if state is not None and second - state.open_second > MAX_GAP_SECONDS:
            rows.append(state.close_second(quote.product_id))
            state = None
            self.resets += 1
        if state is None:
            state = _ProductState(open_second=second, last=quote)
            self._products[quote.product_id] = state
        elif second < state.open_second:
            self.late_ticks += 1
        else:
            while state.open_second < second:
                rows.append(state.close_second(quote.product_id))
        state.last = quote
        state.ticks_in_open += 1
        return rows

    def flush(self) -> list[dict[str, Any]]:
        """Close every product's open second (end of a finite stream)."""
        rows = [state.close_second(pid) for pid, state in sorted(self._products.items())]
        self._products.clear()
        return rows


def tickers_of(message: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The ticker events of one Advanced Trade envelope, each stamped with the envelope timestamp.

    Other channels (heartbeats, subscriptions) yield nothing: the ticker has no time of its own.
    """
    if not isinstance(message, Mapping):
        raise FeatureError(f"message: expected an object, got {type(message).__name__}")
    if message.get("channel") != "ticker":
        return
    stamp = message.get("timestamp")
    events = message.get("events") or ()
    if not isinstance(events, list):
        raise FeatureError("events: expected a list")
    for event in events:
        tickers = event.get("tickers") if isinstance(event, Mapping) else None
        if not isinstance(tickers, list):
            raise FeatureError("events[].tickers: expected a list")
        for ticker in tickers:
            if not isinstance(ticker, Mapping):
                raise FeatureError(f"ticker: expected an object, got {type(ticker).__name__}")
            yield {**ticker, "timestamp": ticker.get("timestamp", stamp)}


def features_from_messages(
    messages: Iterable[Mapping[str, Any]],
    *,
    flush: bool = True,
    on_error: Callable[[Mapping[str, Any], FeatureError], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Feature rows from ticker envelopes in arrival order (producer, training, replay all use this).

    Bad tickers (or malformed envelopes) raise FeatureError unless `on_error` is given: it then receives the
    offending ticker or message with the error, and the stream goes on.
    `flush` closes the last open seconds when the input ends (a finite file); a live stream never ends.
    """
    engine = FeatureEngine()
    for message in messages:
        try:
            tickers = list(tickers_of(message))
        except FeatureError as exc:
            if on_error is None:
                raise
            on_error(message, exc)
            continue
        for ticker in tickers:
            try:
                rows = engine.update(ticker)
            except FeatureError as exc:
                if on_error is None:
                    raise
                on_error(ticker, exc)
                continue
            yield from rows
    if flush:
        yield from engine.flush()
