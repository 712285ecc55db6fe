"""The development tools' HTTP, all through httpx: loopback-only targets, status probes, GETs.

The load test, the steady traffic client, the stack's readiness waits and the tests use these; only the benchmark
keeps its own protocol-level client (bench/bench_api.py), because there the load generator shares two cores
with the server it measures and must cost less per request than the server does.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx


class TargetNotAllowed(ValueError):
    """The URL does not point at this machine."""


def ensure_loopback(url: str) -> None:
    """Refuse any URL whose host is not a loopback address (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(url).hostname
    if not host:
        raise TargetNotAllowed(f"{url!r} has no host")
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise TargetNotAllowed(f"cannot resolve {host!r}: {exc}") from exc
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            raise TargetNotAllowed(f"{host} resolves to {address}, which is not a loopback address")


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """Status and body of a GET (4xx/5xx included); httpx.HTTPError when nothing answers."""
    response = httpx.get(url, timeout=timeout)
    return response.status_code, response.text


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """Status of a GET, None when nothing answers."""
    try:
        return httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError:
        return None


def wait_http_ok(url: str, timeout: float, running: Callable[[], bool] = lambda: True) -> str | None:
    """Poll GET `url` until it answers 200 (None); else why not: "exited" as soon as `running()` turns false,
    or the last answer seen when `timeout` seconds have passed. Callers turn the reason into their own error."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not running():
            return "exited"
        try:
            status, body = http_get(url, timeout=1.0)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if status == 200:
                return None
            last = f"{status} {body[:200]}"
        time.sleep(0.1)
    return f"not ready after {timeout:g}s ({last})"
