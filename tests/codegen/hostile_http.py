"""A raw-socket HTTP server that misbehaves on purpose, to attack ``slogen import-dashboards``' transport.

A well-behaved server library cannot send a garbage status line, a truncated body or a response trickled one byte
at a time, so this one writes bytes to the socket itself. A test gives it a *script*: a function from the parsed
request to the chunks to send, each after a delay; the connection is closed after the last chunk. Every request
is recorded (method, path, headers) so a test can check what a client sent, e.g. whether ``Authorization`` arrived
at an address it was redirected to.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_HEAD = 64 * 1024  # what the server reads of a request head; the importer's requests are far smaller


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


Chunk = tuple[float, bytes]  # seconds to wait, then bytes to send
Script = Callable[[Request], Iterable[Chunk]]


def response(status: int, body: bytes | str | Any, *, content_type: str = "application/json", **headers: str) -> bytes:
    """One complete HTTP/1.1 response; ``body`` that is not bytes or str is sent as JSON."""
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(data)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def trickle(data: bytes, interval: float) -> Iterable[Chunk]:
    """``data`` one byte at a time, ``interval`` seconds apart: each read succeeds, the whole never ends."""
    return ((interval, data[i : i + 1]) for i in range(len(data)))


@dataclass
class HostileServer:
    """Listens on 127.0.0.1 (free port) in a thread; ``origin`` to talk to it, ``requests`` to see what came."""

    script: Script
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.origin = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> HostileServer:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):  # wakes the accept loop now, not at its next 0.05-s timeout
            self._sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._sock.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="hostile-http")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        """One request per connection (the responses say ``Connection: close``; scripts may say less)."""
        with conn:
            conn.settimeout(5)
            try:
                request = _read_request(conn)
            except (OSError, ValueError):
                return
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            try:
                for delay, data in self.script(request):
                    if delay and self._stop.wait(delay):
                        return
                    conn.sendall(data)
            except OSError:  # the client gave up: that is what several tests want
                return


def _read_request(conn: socket.socket) -> Request | None:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        head += chunk
        if len(head) > MAX_HEAD:
            raise ValueError("request head too large")
    head, _, body = head.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` until true or ``timeout``; for checks on what another thread recorded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
