"""Request metrics for the API as a pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path).

Who is to blame decides the status the metrics record, because `status=~"5.."` is what burns the errors SLO:
- a client that goes away before its request is read (`ClientDisconnect`) is `499 client_disconnect`, logged at
  DEBUG: nobody is waiting for an answer, and the server did nothing wrong;
- a client too slow with its body (the server guard in services.api_server cut it off) is `408 body_timeout`;
- a request the server had no room for (services.api_server marks it overloaded) is answered here, `503
  overloaded` with Retry-After, and counted under its route: the SLO sees every user it turned away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.metrics import ApiMetrics

log = logging.getLogger("services.api")

ERROR_TYPE_KEY = "volatility.error_type"  # scope key a handler uses to name its error for the metrics
OVERLOADED_KEY = "volatility.overloaded"  # set by the server guard: no room for this request, answer 503
BODY_TIMEOUT_KEY = "volatility.body_timeout"  # set by the server guard: it cut off a stalled body (408 sent)
CLIENT_CLOSED_STATUS = 499  # no HTTP status exists for "the client left"; 499 is the convention (nginx)
CLIENT_DISCONNECT = "client_disconnect"
BODY_TIMEOUT = "body_timeout"
OVERLOADED = "overloaded"
OVERLOAD_RETRY_AFTER_SECONDS = 1
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

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # the app's routes, to name the endpoint of a request refused before routing
        self._request_counters: dict[tuple[str, str, str], Any] = {}  # label lookups cost a lock each

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == _UNCOUNTED_PATH or path.startswith(_UNCOUNTED_PREFIX):
            try:
                await self.app(scope, receive, send)
            except ClientDisconnect:
                log.debug("%s %s: client disconnect", scope.get("method"), path)
            return
        started = time.perf_counter()
        if OVERLOADED_KEY in scope:
            await self._refuse_overloaded(scope, send)
            self._record(scope, 503, time.perf_counter() - started)
            return
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
        except ClientDisconnect:
            if not recorded:
                recorded = True
                timed_out = BODY_TIMEOUT_KEY in scope
                scope[ERROR_TYPE_KEY] = BODY_TIMEOUT if timed_out else CLIENT_DISCONNECT
                self._record(scope, 408 if timed_out else CLIENT_CLOSED_STATUS, time.perf_counter() - started)
                log.debug("%s %s: %s", scope.get("method"), path, scope[ERROR_TYPE_KEY].replace("_", " "))
            return  # nobody to answer: the connection is gone
        except BaseException:
            if not recorded:
                recorded = True
                scope.setdefault(ERROR_TYPE_KEY, "internal")
                self._record(scope, 500, time.perf_counter() - started)
            raise
        if not recorded:  # the app ended without completing a response (client went away)
            self._record(scope, status, time.perf_counter() - started)

    async def _refuse_overloaded(self, scope: Scope, send: Send) -> None:
        """503 for a request the server had no room for, counted under the route it was meant for."""
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = child_scope.get("route", route)
                break
        scope[ERROR_TYPE_KEY] = OVERLOADED
        body = orjson.dumps(
            {
                "detail": [{"loc": [], "msg": "server at its connection limit", "type": OVERLOADED}],
                "message": f"server overloaded: at its connection limit; retry in {OVERLOAD_RETRY_AFTER_SECONDS} s",
            }
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(OVERLOAD_RETRY_AFTER_SECONDS).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

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
