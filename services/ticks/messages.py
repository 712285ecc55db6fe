"""The Coinbase Advanced Trade WebSocket message shapes the simulator emits and the live client reads.

Envelope: ``{"channel", "client_id", "timestamp", "sequence_num", "events": [...]}``; ``sequence_num`` counts
every message of one connection across channels, so a jump means messages were lost. Ticker fields are strings
and carry no time of their own: the envelope timestamp is the event time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

TICKER_FIELDS: tuple[str, ...] = (
    "type",
    "product_id",
    "price",
    "volume_24_h",
    "low_24_h",
    "high_24_h",
    "low_52_w",
    "high_52_w",
    "price_percent_chg_24_h",
    "best_bid",
    "best_bid_quantity",
    "best_ask",
    "best_ask_quantity",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_us(epoch_us: int) -> str:
    """ISO-8601 UTC with microseconds and 'Z' (Coinbase sends nanoseconds; microseconds are what we keep)."""
    seconds, micros = divmod(epoch_us, 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


def epoch_us(moment: datetime) -> int:
    """Integer epoch microseconds of an aware (or UTC-naive) datetime."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def ticker_envelope(
    sequence_num: int, timestamp: str, tickers: list[dict[str, str]], event_type: str = "update"
) -> dict[str, Any]:
    """One ``ticker`` channel message."""
    return {
        "channel": "ticker",
        "client_id": "",
        "timestamp": timestamp,
        "sequence_num": sequence_num,
        "events": [{"type": event_type, "tickers": tickers}],
    }


def heartbeat_envelope(sequence_num: int, timestamp: str, counter: int) -> dict[str, Any]:
    """One ``heartbeats`` channel message (sent every second once subscribed)."""
    return {
        "channel": "heartbeats",
        "client_id": "",
        "timestamp": timestamp,
        "sequence_num": sequence_num,
        "events": [{"current_time": timestamp, "heartbeat_counter": counter}],
    }


def subscriptions_envelope(sequence_num: int, timestamp: str, channels: dict[str, list[str]]) -> dict[str, Any]:
    """The server's acknowledgement of the current subscriptions."""
    return {
        "channel": "subscriptions",
        "client_id": "",
        "timestamp": timestamp,
        "sequence_num": sequence_num,
        "events": [{"subscriptions": channels}],
    }


def subscribe_request(channel: str, product_ids: list[str] | None = None) -> dict[str, Any]:
    """Client subscribe message: Advanced Trade takes one channel per message."""
    request: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if product_ids is not None:
        request["product_ids"] = list(product_ids)
    return request
