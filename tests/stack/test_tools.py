"""The development tools' shared pieces: free ports and the httpx helpers (readiness waits, loopback check)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stack.http import TargetNotAllowed, ensure_loopback, http_status, wait_http_ok
from stack.ports import LOOPBACK, free_port, port_is_free, wait_for_port


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(int(self.path.strip("/") or 200))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer((LOOPBACK, 0), _Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_free_port_is_free_until_someone_binds_it() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as sock:
        sock.bind((LOOPBACK, port))
        sock.listen()
        assert not port_is_free(port)
        assert wait_for_port(LOOPBACK, port, timeout=5)
    assert not wait_for_port(LOOPBACK, free_port(), timeout=0.3)


def test_status_and_readiness_follow_the_answers(server: str) -> None:
    assert http_status(f"{server}/200") == 200
    assert http_status(f"{server}/503") == 503
    assert http_status(f"http://{LOOPBACK}:{free_port()}/") is None  # nothing listens
    assert wait_http_ok(f"{server}/200", timeout=5) is None
    problem = wait_http_ok(f"{server}/503", timeout=0.5)
    assert problem is not None and "not ready after 0.5s" in problem and "503" in problem
    assert wait_http_ok(f"{server}/503", timeout=5, running=lambda: False) == "exited"


def test_only_loopback_targets_are_allowed() -> None:
    ensure_loopback("http://localhost:8000")
    with pytest.raises(TargetNotAllowed):
        ensure_loopback("http://192.0.2.1:8000")
