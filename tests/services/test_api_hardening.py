"""Attacks on the API, the way they failed: bad input that broke the error answer, clients that leave mid-body,
slow or huge clients on a real uvicorn process (real sockets, its own open-file limit).

What must hold: bad input is 4xx and the answer always encodes; a client that leaves is not a server error;
slowloris, stalled bodies and huge heads are cut off by deadlines and bounds, `/health` keeps answering, and a
request the server has no room for gets a 503 that the errors SLO counts.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.api import create_app
from services.config import Settings
from stack.processes import ManagedProcess
from tests.support import free_port, http_get, wait_http_ok

HOST = "127.0.0.1"

# ---------------------------------------------------------------------------------------------------------
# Bad input: 4xx, and the answer always encodes (a lone surrogate is legal JSON text but not UTF-8)


@pytest.mark.parametrize(
    ("path", "raw", "echoed"),
    [
        ("/predict", rb'{"\ud800": 1}', "\\ud800"),  # unknown top-level key, echoed in the message
        ("/predict", rb'{"rows": [{"\udfff": 1}]}', "\\udfff"),  # unknown feature name
        ("/predict", rb'{"rows": [{"rv_60s": 1}], "x\udc80y": 2}', "x\\udc80y"),
        ("/admin/faults", rb'{"error_rate": "\ud800"}', "\\ud800"),  # FastAPI's own 422 echoes the input
    ],
)
def test_lone_surrogates_get_4xx_with_an_encodable_answer(
    registry: CollectorRegistry, path: str, raw: bytes, echoed: str
) -> None:
    app = create_app(Settings(model_variant="baseline", fault_injection_enabled=True), registry=registry)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    body = json.loads(response.content.decode("utf-8"))  # strict UTF-8: the answer itself is well-formed
    shown = body["message"] if path == "/predict" else body["detail"][0]["input"]
    assert echoed in shown  # the client sees what it sent, as escape text
    if path == "/predict":
        sample = registry.get_sample_value
        labels = {"method": "POST", "endpoint": "/predict"}
        assert sample("volatility_api_requests_total", {**labels, "status": "422"}) == 1
        assert sample("volatility_api_requests_total", {**labels, "status": "500"}) is None


# ---------------------------------------------------------------------------------------------------------
# A real server: `python -m services.api` under its own open-file limit, with small limits so attacks are quick

OPEN_FILES = 160  # the server's `ulimit -n`: a few hundred attacking connections would exhaust it
MAX_CONNECTIONS = 40
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
MAX_HEADER_BYTES = 8192


class Api:
    """A running API process and what the tests read from it."""

    def __init__(self, process: ManagedProcess, port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://{HOST}:{port}"
        self.baseline: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        self.log_offset = 0

    def reset(self) -> None:
        """Counts and log from here on: one server serves the whole module, each test sees only its own."""
        self.baseline = self.metrics(since_reset=False)
        self.log_offset = len(self.process.log_path.read_bytes())

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection((HOST, self.port), timeout=timeout)

    def metrics(self, since_reset: bool = True) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        from prometheus_client.parser import text_string_to_metric_families

        _, text = http_get(f"{self.base}/metrics")
        return {
            key: sample.value - (self.baseline.get(key, 0.0) if since_reset else 0.0)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            for key in [(sample.name, frozenset(sample.labels.items()))]
        }

    def requests(self, status: str, endpoint: str = "/predict", method: str = "POST") -> float:
        key = frozenset({"method": method, "endpoint": endpoint, "status": status}.items())
        return self.metrics().get(("volatility_api_requests_total", key), 0.0)

    def errors(self, error_type: str, endpoint: str = "/predict") -> float:
        key = frozenset({"endpoint": endpoint, "error_type": error_type}.items())
        return self.metrics().get(("volatility_api_errors_total", key), 0.0)

    def wait_for(self, what: str, check: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s\n{self.process.log_tail()}")
            time.sleep(0.05)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def log(self) -> str:
        return self.process.log_path.read_bytes()[self.log_offset :].decode(errors="replace")


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp_path = tmp_path_factory.mktemp("api")
    port = free_port()
    env = {
        "API_HOST": HOST,
        "API_PORT": str(port),
        "MODEL_VARIANT": "baseline",
        "API_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "API_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "API_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "API_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
    }
    argv = ["sh", "-c", f'ulimit -n {OPEN_FILES} && exec "$@"', "sh", sys.executable, "-m", "services.api"]
    process = ManagedProcess(name="api", argv=argv, log_path=tmp_path / "api.log", env=env, cwd=Path.cwd())
    with process:
        server = Api(process, port)
        wait_http_ok(f"{server.base}/health", timeout=30)
        yield server
        process.stop()


@pytest.fixture
def api(api_server: Api) -> Api:
    api_server.reset()
    return api_server


def _read_status(sock: socket.socket, timeout: float) -> int | None:
    """The status of the answer on `sock`, or None if the server closed it without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    return int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None


def _predict_head(content_length: int) -> bytes:
    return (
        f"POST /predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()


# ---------------------------------------------------------------------------------------------------------
# A client that leaves mid-body is not a server error


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_client_leaving_mid_body_is_499_not_a_server_error(api: Api) -> None:
    with api.connect() as sock:
        sock.sendall(_predict_head(1000) + b'{"rows": [' + b" " * 380)  # 390 of the 1000 bytes declared
    api.wait_for("the disconnect is counted", lambda: api.requests("499") == 1)
    assert api.errors("client_disconnect") == 1
    assert api.requests("500") == 0 and api.errors("internal") == 0
    assert "ERROR" not in api.log() and "Traceback" not in api.log(), api.log()


# ---------------------------------------------------------------------------------------------------------
# Slow clients: head and body deadlines


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_trickled_head_gets_408_after_the_header_deadline(api: Api) -> None:
    with api.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        status = None
        for _ in range(int(HEADER_TIMEOUT * 10)):  # one header line every 0.3 s: progress, but never done
            time.sleep(0.3)
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        status = _read_status(sock, timeout=HEADER_TIMEOUT + 5)
        elapsed = time.monotonic() - started
    assert status == 408
    assert HEADER_TIMEOUT <= elapsed < HEADER_TIMEOUT + 3
    assert api.errors("header_timeout", endpoint="unmatched") == 1


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_stalled_body_gets_408_counted_as_the_clients_fault(api: Api) -> None:
    with api.connect() as sock:
        started = time.monotonic()
        sock.sendall(_predict_head(1000) + b'{"rows": [')
        status = _read_status(sock, timeout=BODY_TIMEOUT + 5)
        elapsed = time.monotonic() - started
    assert status == 408
    assert BODY_TIMEOUT <= elapsed < BODY_TIMEOUT + 3
    api.wait_for("the timeout is counted", lambda: api.requests("408") == 1)
    assert api.errors("body_timeout") == 1
    assert api.requests("500") == 0 and "ERROR" not in api.log(), api.log()


class _Slowloris:
    """`count` connections that each send a request head one line at a time, reconnecting when cut off."""

    def __init__(self, api: Api, count: int, head: bytes = b"GET /health HTTP/1.1\r\nHost: x\r\n") -> None:
        self.api = api
        self.count = count
        self.head = head
        self.sockets: list[socket.socket] = []
        self.reconnects = 0

    def _open(self) -> socket.socket | None:
        try:
            sock = self.api.connect(timeout=0.5)
            sock.sendall(self.head)
            return sock
        except OSError:
            return None

    def fill(self) -> None:
        while len(self.sockets) < self.count:
            sock = self._open()
            if sock is None:
                return
            self.sockets.append(sock)

    def trickle(self) -> None:
        """One more header line on every connection; the ones the server closed are replaced."""
        alive = []
        for sock in self.sockets:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                alive.append(sock)
            except OSError:
                sock.close()
                self.reconnects += 1
        self.sockets = alive
        self.fill()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _health_status(api: Api) -> int:
    try:
        return http_get(f"{api.base}/health", timeout=2.0)[0]
    except OSError as exc:
        return -1 if "timed out" in str(exc) else -2


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_health_keeps_answering_during_a_slowloris(api: Api) -> None:
    """300 trickling connections, far over the server's open-file limit: every /health probe still answers."""
    attack = _Slowloris(api, count=300)
    statuses: list[int] = []
    try:
        attack.fill()
        deadline = time.monotonic() + 3 * HEADER_TIMEOUT + 1
        while time.monotonic() < deadline:
            attack.trickle()
            statuses.append(_health_status(api))
        assert len(statuses) >= 5
        assert statuses == [200] * len(statuses), statuses  # -1: timed out, -2: refused or reset
        assert attack.reconnects > 0  # the server did cut the attackers off
    finally:
        attack.close()
    dropped = sum(api.errors(kind, endpoint="unmatched") for kind in ("connection_evicted", "header_timeout"))
    assert dropped >= attack.reconnects
    assert "ERROR" not in api.log(), api.log()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_an_oversized_head_gets_431_without_buffering_it(api: Api) -> None:
    rss_before = api.rss_kib()
    # The whole head in one read: refused, and answered 431.
    with api.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES + 4000) + b"\r\n\r\n")
        assert _read_status(sock, timeout=5) == 431
    # A header that never ends (64 MB offered): the server closes the connection long before the end. What the
    # client managed to send sits in kernel socket buffers (megabytes on loopback), not in the server.
    offered, sent, cut_off = 64 * 1024 * 1024, 0, False
    with api.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            while sent < offered:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):  # not a timeout: the server must close, not just stall
            cut_off = True
        status = _read_status(sock, timeout=5)
    assert cut_off, f"the server read all {sent} bytes of head"
    assert status in (431, None)  # None: the reset raced the answer
    assert api.rss_kib() - rss_before < 20 * 1024
    assert api.errors("header_too_large", endpoint="unmatched") == 2
    assert http_get(f"{api.base}/health")[0] == 200


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_request_the_server_has_no_room_for_gets_a_503_the_slo_counts(api: Api) -> None:
    """Every connection busy with a slowly arriving body (no idle one to evict): /predict answers a counted 503."""
    busy = []
    try:
        for _ in range(MAX_CONNECTIONS):
            sock = api.connect()
            sock.sendall(_predict_head(1000) + b'{"rows": [')
            busy.append(sock)
        api.wait_for("all connections busy", lambda: len(busy) == MAX_CONNECTIONS)
        time.sleep(0.2)  # let the server read the last head
        for sock in busy:
            sock.sendall(b" ")  # progress: not stalled
        with api.connect() as sock:
            sock.sendall(_predict_head(2) + b"{}")
            answer = b""
            sock.settimeout(5)
            while not answer.endswith(b"}"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 503"), answer
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"retry-after: 1" in head.lower()
        assert json.loads(body)["message"].startswith("server overloaded")
    finally:
        for sock in busy:
            sock.close()
    api.wait_for("the 503 is counted", lambda: api.requests("503") == 1)
    assert api.errors("overloaded") == 1
    api.wait_for("the busy clients are gone", lambda: api.requests("499") == MAX_CONNECTIONS)
    assert http_get(f"{api.base}/health")[0] == 200


# ---------------------------------------------------------------------------------------------------------
# The control plane reads bounded bodies too, and only when it is enabled


@pytest.mark.parametrize("enabled", [True, False])
def test_admin_bodies_are_bounded_and_read_only_when_enabled(registry: CollectorRegistry, enabled: bool) -> None:
    app = create_app(Settings(model_variant="baseline", fault_injection_enabled=enabled), registry=registry)
    huge = b'{"error_rate": 0.5, "pad": "' + b"a" * (2 * 1024 * 1024)  # and never closed: not even JSON
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/admin/faults", content=huge, headers={"content-type": "application/json"})
        assert response.status_code == (413 if enabled else 403), response.text
        assert response.json()["message"]
        if enabled:  # a well-formed body still works, a broken one is a 422 naming the problem
            assert client.post("/admin/faults", json={"error_rate": 0.5}).json()["error_rate"] == 0.5
            broken = client.post("/admin/faults", content=b"{", headers={"content-type": "application/json"})
            assert broken.status_code == 422 and broken.json()["detail"][0]["loc"][0] == "body"
            assert client.post("/admin/faults", json={"error_rate": 2}).status_code == 422


# ---------------------------------------------------------------------------------------------------------
# A bare process listens on loopback unless told otherwise


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) of sockets listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_bare_api_process_listens_on_loopback_only(tmp_path: Path) -> None:
    assert Settings.from_env({}).api_host == Settings.from_env({}).metrics_host == "127.0.0.1"
    port = free_port()
    env = {"API_HOST": "", "API_PORT": str(port), "MODEL_VARIANT": "baseline"}  # blank: the default
    process = ManagedProcess.python_module("services.api", env=env)
    with process:
        wait_http_ok(f"http://{HOST}:{port}/health", timeout=30)
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, not 00000000 (every interface)
        process.stop()
