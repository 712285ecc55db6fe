"""Request metrics for the API as a pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

from __future__ import annotations

import time
from typing import Any

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.metrics import ApiMetrics

ERROR_TYPE_KEY = "volatility.error_type"  # scope key a handler uses to name its error for the metrics
UNMATCHED = "unmatched"
_UNCOUNTED_PATH = "/metrics"
_UNCOUNTED_PREFIX = "/admin/"
_DERIVED_ERROR_TYPES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "validation",
}


class RequestMetricsMiddleware:
    """Counts every request by route template and status, and times POST /predict, whatever the outcome."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._request_counters: dict[tuple[str, str, str], Any] = {}  # label lookups cost a lock each

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == _UNCOUNTED_PATH or path.startswith(_UNCOUNTED_PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # until the app says otherwise: an exception before the response is a server error
        recorded = False

        async def send_recording(message: Message) -> None:
            # Recorded just before the last byte goes out, so a client that reads /metrics right after its
            # response (possibly from another worker) always sees its own request counted.
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body") and not recorded:
                recorded = True
                self._record(scope, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        except BaseException:
            if not recorded:
                recorded = True
                scope.setdefault(ERROR_TYPE_KEY, "internal")
                self._record(scope, 500, time.perf_counter() - started)
            raise
        if not recorded:  # the app ended without completing a response (client went away)
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        route = scope.get("route")
        endpoint = getattr(route, "path", None) or UNMATCHED
        method = scope.get("method", "GET")
        key = (method, endpoint, str(status))
        counter = self._request_counters.get(key)
        if counter is None:
            counter = self.metrics.requests.labels(method=method, endpoint=endpoint, status=key[2])
            if len(self._request_counters) < 1000:  # bounded: methods and statuses are open-ended
                self._request_counters[key] = counter
        counter.inc()
        if status >= 400:
            error_type = (
                scope.get(ERROR_TYPE_KEY)
                or _DERIVED_ERROR_TYPES.get(status)
                or ("internal" if status >= 500 else "client")
            )
            self.metrics.errors.labels(endpoint=endpoint, error_type=error_type).inc()
        if endpoint == "/predict" and method == "POST":
            self.metrics.latency.observe(elapsed)


class TemplateRoute(Route):
    """A Starlette route that, like FastAPI's, records itself in scope["route"] for the metrics' endpoint."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope
