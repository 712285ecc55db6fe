"""Live client for the public Coinbase Advanced Trade WebSocket (ticker + heartbeats, no credentials).

It keeps a feed alive the way the exchange expects: one subscribe message per channel, a ``heartbeats``
subscription so quiet products do not get the connection closed, reconnect + resubscribe with exponential
backoff when the socket drops or goes silent, and ``sequence_num`` checking so lost messages are counted, not
guessed at. The URL comes from ``COINBASE_WS_URL`` (tests point it at a loopback server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from services.settings import DEFAULTS, Settings
from services.ticks.messages import subscribe_request

COINBASE_WS_URL = DEFAULTS.coinbase_ws_url
log = logging.getLogger(__name__)


@dataclass
class FeedStats:
    """Counters an operator (or a test) reads to see how healthy the feed has been."""

    connects: int = 0
    reconnects: int = 0
    messages: int = 0
    heartbeats: int = 0
    gaps: int = 0
    missed_messages: int = 0
    duplicates: int = 0
    bad_messages: int = 0
    idle_timeouts: int = 0
    last_sequence: int | None = None


@dataclass(frozen=True)
class Backoff:
    """Exponential reconnect delays: initial * factor**attempt, capped, with +/- `jitter` fraction."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.1

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.maximum, self.initial * self.factor**attempt)
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rng.random() - 1.0)))


class CoinbaseTickerClient:
    """Async iterator of raw Advanced Trade messages that survives disconnects.

    ``async for message in client.messages(): ...`` yields every JSON object the server sends (ticker,
    heartbeats, subscriptions) in arrival order. Duplicates (sequence_num not above the last) are dropped; a
    jump in sequence_num is a gap, counted and passed to `on_gap(expected, received)`. Sequence numbers
    restart with each connection.
    """

    def __init__(
        self,
        product_ids: Sequence[str] = ("BTC-USD",),
        url: str | None = None,
        *,
        channels: Sequence[str] = ("ticker", "heartbeats"),
        backoff: Backoff | None = None,
        idle_timeout: float = 30.0,
        max_reconnects: int | None = None,
        on_gap: Callable[[int, int], None] | None = None,
        seed: int | None = None,
    ) -> None:
        if not product_ids:
            raise ValueError("product_ids: at least one product is needed")
        self.product_ids = list(product_ids)
        self.url = url or Settings.from_env().coinbase_ws_url
        self.channels = list(channels)
        self.backoff = backoff or Backoff()
        self.idle_timeout = idle_timeout
        self.max_reconnects = max_reconnects
        self.on_gap = on_gap
        self.stats = FeedStats()
        self._rng = random.Random(seed)
        self._stopped = asyncio.Event()

    def stop(self) -> None:
        """Ask `messages()` to finish after the message in hand."""
        self._stopped.set()

    def _subscriptions(self) -> list[dict[str, Any]]:
        # heartbeats are per connection, not per product; everything else is per product
        return [
            subscribe_request(channel, None if channel == "heartbeats" else self.product_ids)
            for channel in self.channels
        ]

    def _check_sequence(self, message: dict[str, Any]) -> bool:
        """True if the message should be delivered (not a duplicate); records gaps."""
        sequence = message.get("sequence_num")
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            return True
        last = self.stats.last_sequence
        if last is not None:
            if sequence <= last:
                self.stats.duplicates += 1
                return False
            if sequence > last + 1:
                self.stats.gaps += 1
                self.stats.missed_messages += sequence - last - 1
                log.warning("sequence gap: expected %d, got %d", last + 1, sequence)
                if self.on_gap is not None:
                    self.on_gap(last + 1, sequence)
        self.stats.last_sequence = sequence
        return True

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        attempt = 0
        loopback = self.url.startswith(("ws://127.0.0.1", "ws://localhost", "ws://[::1]"))
        proxy: Literal[True] | None = None if loopback else True  # env proxies, but never for loopback
        while not self._stopped.is_set():
            try:
                async with connect(self.url, proxy=proxy, open_timeout=10, max_size=2**22) as socket:
                    self.stats.connects += 1
                    self.stats.last_sequence = None  # numbering restarts per connection
                    for request in self._subscriptions():
                        await socket.send(json.dumps(request))
                    while not self._stopped.is_set():
                        try:
                            raw = await asyncio.wait_for(socket.recv(), timeout=self.idle_timeout)
                        except TimeoutError:
                            self.stats.idle_timeouts += 1
                            log.warning("no message for %.1fs; reconnecting", self.idle_timeout)
                            break
                        try:
                            message = json.loads(raw)
                        except ValueError:
                            self.stats.bad_messages += 1
                            continue
                        if not isinstance(message, dict):
                            self.stats.bad_messages += 1
                            continue
                        if message.get("type") == "error":
                            log.error("server error: %s", message.get("message"))
                        if not self._check_sequence(message):
                            continue
                        attempt = 0  # a delivered message proves the connection healthy
                        self.stats.messages += 1
                        if message.get("channel") == "heartbeats":
                            self.stats.heartbeats += 1
                        yield message
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                log.warning("websocket %s: %s", self.url, exc)
            except InvalidURI as exc:
                raise ValueError(f"COINBASE_WS_URL: {exc}") from exc
            if self._stopped.is_set():
                return
            if self.max_reconnects is not None and self.stats.reconnects >= self.max_reconnects:
                raise ConnectionError(f"gave up after {self.stats.reconnects} reconnects to {self.url}")
            delay = self.backoff.delay(attempt, self._rng)
            attempt += 1
            self.stats.reconnects += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=delay)
