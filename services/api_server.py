"""uvicorn's fast HTTP protocol (httptools) with the limits it lacks, so slow or huge clients cannot starve the API.

Unguarded, uvicorn waits forever for a request head that trickles in (slowloris), buffers a head of any size
(a 200 MB header was accepted) and keeps every connection it accepts until the process runs out of file
descriptors, after which even `/health` is refused. `GuardedHttpToolsProtocol` adds, per worker:
- a deadline for the request head (from connect, or from the first byte of a keep-alive request): 408, close;
- a bound on the head's size (request line + headers): 431, close, without buffering beyond the bound;
- a deadline for each pause while a body arrives: 408, close; the app's pending read then ends, and the
  metrics middleware counts the request as `408 body_timeout`;
- a cap on open connections, below the open-file limit: a new connection beyond it evicts the longest-idle
  connection that has no request in progress (a slowloris one or an idle keep-alive); if every connection is
  busy, the new one's request is answered 503 by the metrics middleware, counted under its route, so the
  errors SLO sees every user the server turned away. uvicorn's own `limit_concurrency` is not used: it counts
  slowloris connections too, so under attack it would answer 503 to every request, and its 503 never reaches
  the app's metrics.
Timeouts are enforced by one sweep per worker (a timer, not one per request: the hot path only stores a
timestamp). Refusals before a request exists are counted as `volatility_api_errors_total{endpoint="unmatched",
error_type=...}`, never as requests, and logged at DEBUG (an attack must not flood the log).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from services.api_middleware import BODY_TIMEOUT_KEY, OVERLOADED_KEY, UNMATCHED
from services.config import Settings
from services.metrics import ApiMetrics

log = logging.getLogger("services.api")

FD_RESERVE = 64  # file descriptors kept free for the process itself (logs, model files, metrics, accept bursts)
HEADER_TIMEOUT = "header_timeout"
HEADER_TOO_LARGE = "header_too_large"
EVICTED = "connection_evicted"


@dataclass(frozen=True)
class ServerLimits:
    """The guard's limits, from Settings (API_MAX_CONNECTIONS, API_*_TIMEOUT_SECONDS, API_MAX_HEADER_BYTES)."""

    max_connections: int
    header_timeout: float
    body_timeout: float
    max_header_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        """The configured limits, with max_connections lowered below this process's open-file limit."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        allowed = settings.api_max_connections
        if soft != resource.RLIM_INFINITY and soft - FD_RESERVE < allowed:
            allowed = max(2, soft - FD_RESERVE)
            log.warning(
                "API_MAX_CONNECTIONS=%d lowered to %d: the open-file limit is %d (ulimit -n)",
                settings.api_max_connections,
                allowed,
                soft,
            )
        return cls(
            max_connections=allowed,
            header_timeout=settings.api_header_timeout_seconds,
            body_timeout=settings.api_body_timeout_seconds,
            max_header_bytes=settings.api_max_header_bytes,
        )


def _find_metrics(app: Any) -> ApiMetrics | None:
    """The API's metrics, found through uvicorn's wrappers (each keeps the app it wraps as `.app`)."""
    for _ in range(8):
        metrics = getattr(getattr(app, "state", None), "metrics", None)
        if isinstance(metrics, ApiMetrics):
            return metrics
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class _Guard:
    """Per server (worker): the limits, the metrics, and the sweep that enforces the deadlines."""

    def __init__(self, limits: ServerLimits, state: ServerState, loop: asyncio.AbstractEventLoop, app: Any) -> None:
        self.limits = limits
        self.state = state
        self.loop = loop
        self.metrics = _find_metrics(app)
        self.interval = min(1.0, max(0.05, min(limits.header_timeout, limits.body_timeout) / 4))
        self.loop.call_later(self.interval, self.sweep)

    def count(self, error_type: str) -> None:
        if self.metrics is not None:
            self.metrics.errors.labels(endpoint=UNMATCHED, error_type=error_type).inc()

    def sweep(self) -> None:
        now = self.loop.time()
        for connection in list(self.state.connections):
            if isinstance(connection, GuardedHttpToolsProtocol):
                connection.check_deadlines(now)
        self.loop.call_later(self.interval, self.sweep)

    def make_room(self, newcomer: GuardedHttpToolsProtocol) -> bool:
        """Over the cap: close the longest-idle connection without a request in progress; False if none."""
        oldest: GuardedHttpToolsProtocol | None = None
        for connection in self.state.connections:
            if (
                connection is not newcomer
                and isinstance(connection, GuardedHttpToolsProtocol)
                and connection.idle
                and (oldest is None or connection.idle_since < oldest.idle_since)
            ):
                oldest = connection
        if oldest is None:
            return False
        oldest.close_quietly()
        self.count(EVICTED)
        return True


_guards: weakref.WeakKeyDictionary[ServerState, _Guard] = weakref.WeakKeyDictionary()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus head/body deadlines, a head size bound and a connection cap."""

    limits: ClassVar[ServerLimits | None] = None  # from the environment on first use (each worker process)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        guard = _guards.get(self.server_state)
        if guard is None:
            limits = type(self).limits
            if limits is None:
                limits = type(self).limits = ServerLimits.from_settings(Settings.from_env())
            guard = _guards[self.server_state] = _Guard(limits, self.server_state, self.loop, self.app)
        self.guard = guard
        self.idle_since = self.loop.time()
        self.head_since: float | None = self.idle_since  # waiting for a request head since (None: not waiting)
        self.head_bytes = 0  # bytes of a head still incomplete after a read
        self.received = 0  # bytes read on this connection, to see a stalled body make progress
        self.chunk = 0  # size of the read being parsed
        self.progress = (0, self.idle_since)  # (received, when) at the sweep that last saw it change
        self.refused = False
        self.overloaded = False
        if len(self.connections) > guard.limits.max_connections and not guard.make_room(self):
            self.overloaded = True  # every connection is busy: this one's request gets a counted 503

    @property
    def idle(self) -> bool:
        """No request in progress: idle keep-alive, or a head not complete yet (what slowloris holds)."""
        return (self.cycle is None or self.cycle.response_complete) and not self.pipeline

    def data_received(self, data: bytes) -> None:
        waiting_for_head = self.head_since is not None
        self.chunk = len(data)
        self.received += len(data)
        super().data_received(data)
        if waiting_for_head and self.head_since is not None and not self.refused:
            self.head_bytes += len(data)
            if self.head_bytes > self.guard.limits.max_header_bytes:
                self.refuse(431, HEADER_TOO_LARGE, f"request head over {self.guard.limits.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.head_since is None:  # a keep-alive request: its head deadline starts at its first byte
            self.head_since = self.loop.time()

    def on_headers_complete(self) -> None:
        limit = self.guard.limits.max_header_bytes
        if self.head_bytes + self.chunk > limit:  # the chunk may hold the head's end and more: measure exactly
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > limit:
                self.refuse(431, HEADER_TOO_LARGE, f"request head over {limit} bytes")
                return
        self.head_since = None
        self.head_bytes = 0
        if self.overloaded:
            self.scope[OVERLOADED_KEY] = True  # type: ignore[literal-required]
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        self.idle_since = self.loop.time()
        super().on_response_complete()

    def check_deadlines(self, now: float) -> None:
        """Called by the sweep: enforce the head deadline and the body's pause deadline."""
        if self.refused or self.transport.is_closing():
            return
        limits = self.guard.limits
        if self.head_since is not None and self.idle:
            if now - self.head_since > limits.header_timeout:
                self.refuse(408, HEADER_TIMEOUT, f"request head not complete within {limits.header_timeout:g} s")
            return
        cycle = self.cycle
        if (
            cycle is None
            or cycle.response_started  # the app answers without the rest of the body (a 413, say)
            or not cycle.more_body
            or self.flow.read_paused  # waiting for the app to read what it has, not for the client
        ):
            self.progress = (self.received, now)
            return
        if self.received != self.progress[0]:
            self.progress = (self.received, now)
        elif now - self.progress[1] > limits.body_timeout:
            cycle.scope[BODY_TIMEOUT_KEY] = True  # type: ignore[literal-required]
            self.refuse(408, None, f"request body stalled for over {limits.body_timeout:g} s")
            cycle.disconnected = True  # the app's pending read returns http.disconnect; its answer goes nowhere
            cycle.message_event.set()

    def refuse(self, status: int, error_type: str | None, reason: str) -> None:
        """Answer `status` with `reason` and close; counted here unless a request exists (the app counts it)."""
        self.refused = True
        if error_type is not None:
            self.guard.count(error_type)
        log.debug("%s from %s: %s", status, self.client, reason)
        if self.head_bytes or self.received or status != 408:
            body = reason.encode()
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s"
                % (status, b"Request Timeout" if status == 408 else b"Request Header Fields Too Large", len(body), body)
            )
        self.transport.close()

    def close_quietly(self) -> None:
        """Evicted to make room: nothing is in progress, so close without an answer (as a keep-alive timeout)."""
        self.refused = True
        log.debug("connection from %s evicted: at the connection limit", self.client)
        self.transport.close()
