"""`POST /predict` requests/s and latency vs a bare FastAPI endpoint, same run (``python -m bench bench_api``).

The issue's goals: the API serves ≥ 0.7× the requests/s of a bare FastAPI endpoint that returns a constant, and
its p99 stays ≤ 20 ms at half of its own maximum throughput.

How:
- every server is a subprocess on a free 127.0.0.1 port with the same uvicorn settings (1 worker, access log
  off, uvicorn's default loop/HTTP parser): the real API through its own entry point (`python -m services.api`),
  the bare app (`bare_app` below, a constant answer of the same shape) through `uvicorn.run` with the same
  arguments;
- max throughput: closed loop, CONCURRENCY keep-alive connections each sending the next one-row request as soon
  as the previous answer is in, for CLOSED_SECONDS after a short warm-up;
- latency at half load: open loop, requests scheduled at a fixed rate of 50 % of that server's measured maximum
  over OPEN_CONNECTIONS connections (a request waits for a free connection if none is idle); latency is taken
  from the *scheduled* send time, so a stalled server cannot hide its queue (no coordinated omission);
- REPEATS repetitions, servers alternating within each, so noise hits every server alike; max throughput is the
  best repetition (noise on a shared machine only slows down), latencies and CPU costs are medians.

The load generator is a callback-based HTTP/1.1 client on asyncio protocols (uvloop when installed), much cheaper
per request than the httpx client of stack.load_test: on a 2-core machine the generator shares the CPU with the
server, and a slow generator would cap the bare endpoint first and flatter the ratio. The table therefore also
shows the server's CPU time per request (from /proc) — the generator-independent figure — and the generator's
own CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from fastapi import FastAPI

from bench.support import REPO_ROOT, BenchError, Process, machine_note, wait_http_ok

HOST = "127.0.0.1"
CONCURRENCY = 16
OPEN_CONNECTIONS = 64
PACING_SECONDS = 0.001  # the open loop wakes at most once per ms (a timer tick) and sends what is due
WARMUP_SECONDS = 0.5
CLOSED_SECONDS = 3.0
OPEN_SECONDS = 3.0
REPEATS = 3
HALF_LOAD = 0.5
GOAL_RATIO = 0.7
GOAL_P99_MS = 20.0
MIN_REQUESTS = 200  # fewer in a phase means the server or the generator is broken, not slow
ML_MODEL = REPO_ROOT / ".work" / "models" / "ml"
UVICORN_SETTINGS: dict[str, Any] = {"workers": 1, "access_log": False, "log_level": "warning"}

# ---------------------------------------------------------------------------------------------------------
# The reference server: FastAPI with one endpoint answering a constant (run with `--serve-bare --port N`)

bare_app = FastAPI(title="bench: bare endpoint")
_CONSTANT = {"scores": [0.1], "predictions": [0], "model_variant": "bare", "version": "0", "ts": "1970-01-01T00:00:00Z"}


@bare_app.post("/predict")
async def bare_predict() -> dict[str, Any]:
    """Returns a constant of the API's answer shape; reads nothing, validates nothing, scores nothing."""
    return _CONSTANT


@bare_app.get("/health")
async def bare_health() -> dict[str, str]:
    return {"status": "ok"}


def serve_bare(port: int) -> None:
    """The same uvicorn.run settings `python -m services.api` uses (services/api/__main__.py), for the bare app."""
    import uvicorn

    uvicorn.run("bench.bench_api:bare_app", host=HOST, port=port, **UVICORN_SETTINGS)


# ---------------------------------------------------------------------------------------------------------
# Load generator


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; calls `on_response(self, status)` when an answer is complete."""

    def __init__(self, on_response: Callable[[_Connection, int], None], on_lost: Callable[[Exception], None]):
        self._on_response = on_response
        self._on_lost = on_lost
        self._buffer = bytearray()
        self._expected = -1
        self.transport: asyncio.Transport | None = None
        self.started_at = 0.0  # when the request was sent, or scheduled (open loop)
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def send(self, request: bytes, started_at: float) -> None:
        assert self.transport is not None
        self.started_at = started_at
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if self._expected < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self._on_lost(BenchError(f"response without Content-Length: {head[:200]!r}"))
                return
            stop = head.find(b"\r\n", at + 2)
            self._expected = end + 4 + int(head[at + 17 : stop if stop >= 0 else end])
        if len(buffer) >= self._expected:
            status = int(buffer[9:12])
            buffer.clear()
            self._expected = -1
            self._on_response(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self._on_lost(exc or ConnectionResetError("server closed the connection"))

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


@dataclass
class Phase:
    """What one load phase measured."""

    completed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rps(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu / self.completed * 1e6 if self.completed else float("nan")


class LoadGenerator:
    """Closed- and open-loop phases against one port; each phase opens and closes its own connections."""

    def __init__(self, port: int, bodies: Sequence[bytes]) -> None:
        self.port = port
        self.requests = [
            (
                f"POST /predict HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode("ascii")
            + body
            for body in bodies
        ]
        self._next = 0

    def _request(self) -> bytes:
        self._next = (self._next + 1) % len(self.requests)
        return self.requests[self._next]

    async def _connect(
        self, count: int, on_response: Callable[[_Connection, int], None], on_lost: Callable[[Exception], None]
    ) -> list[_Connection]:
        loop = asyncio.get_running_loop()
        connections = []
        for _ in range(count):
            _, protocol = await loop.create_connection(lambda: _Connection(on_response, on_lost), HOST, self.port)
            connections.append(protocol)
        return connections

    async def closed_loop(self, concurrency: int, seconds: float) -> Phase:
        """Each connection sends its next request as soon as the previous answer arrived, for `seconds`."""
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()
        phase = Phase()
        active = concurrency
        end = 0.0

        def on_response(connection: _Connection, status: int) -> None:
            nonlocal active
            now = time.perf_counter()
            phase.latencies.append(now - connection.started_at)
            phase.statuses[status] += 1
            if now < end:
                connection.send(self._request(), time.perf_counter())
                return
            active -= 1
            if active == 0 and not finished.done():
                finished.set_result(None)

        def on_lost(exc: Exception) -> None:
            if not finished.done():
                finished.set_exception(BenchError(f"connection to port {self.port} lost: {exc!r}"))

        connections = await self._connect(concurrency, on_response, on_lost)
        try:
            started = time.perf_counter()
            end = started + seconds
            for connection in connections:
                connection.send(self._request(), time.perf_counter())
            await asyncio.wait_for(finished, seconds + 30)
            phase.seconds = time.perf_counter() - started
        finally:
            for connection in connections:
                connection.close()
        phase.completed = len(phase.latencies)
        return phase

    async def open_loop(self, rate: float, seconds: float, connections_count: int) -> Phase:
        """`rate` requests/s on a fixed schedule; latency counts from the scheduled time, queueing included."""
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()
        phase = Phase()
        total = max(1, int(rate * seconds))
        idle: deque[_Connection] = deque()
        backlog: deque[float] = deque()
        last_done = 0.0

        def on_response(connection: _Connection, status: int) -> None:
            nonlocal last_done
            now = time.perf_counter()
            phase.latencies.append(now - connection.started_at)
            phase.statuses[status] += 1
            last_done = now
            if backlog:
                connection.send(self._request(), backlog.popleft())
            else:
                idle.append(connection)
            if len(phase.latencies) == total and not finished.done():
                finished.set_result(None)

        def on_lost(exc: Exception) -> None:
            if not finished.done():
                finished.set_exception(BenchError(f"connection to port {self.port} lost: {exc!r}"))

        connections = await self._connect(connections_count, on_response, on_lost)
        idle.extend(connections)
        try:
            start = time.perf_counter() + 0.01
            issued = 0
            while issued < total and not finished.done():
                now = time.perf_counter()
                while issued < total and start + issued / rate <= now:
                    scheduled = start + issued / rate
                    if idle:
                        idle.popleft().send(self._request(), scheduled)
                    else:
                        backlog.append(scheduled)
                    issued += 1
                if issued < total:
                    await asyncio.sleep(max(PACING_SECONDS, start + issued / rate - time.perf_counter()))
            await asyncio.wait_for(finished, seconds + 30)
            phase.seconds = last_done - start
        finally:
            for connection in connections:
                connection.close()
        phase.completed = len(phase.latencies)
        return phase


def run_async(coroutine_factory: Callable[[], Any]) -> Any:
    """Run on uvloop when installed (cheaper per request, like the servers), else the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine_factory())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine_factory())


# ---------------------------------------------------------------------------------------------------------
# Servers and the measurement plan


@dataclass
class Target:
    """A server under load and what was measured on it."""

    label: str
    process: Process
    port: int
    closed: list[Phase] = field(default_factory=list)
    opened: list[Phase] = field(default_factory=list)

    @property
    def max_rps(self) -> float:
        """Best of the closed-loop repetitions: on a shared machine noise only ever slows a server down."""
        return max(p.rps for p in self.closed)

    @property
    def cpu_us(self) -> float:
        return statistics.median(p.cpu_us_per_request for p in self.closed)


def _free_port() -> int:
    from stack.ports import free_port

    return free_port(HOST)


def _targets() -> list[Target]:
    targets = []
    port = _free_port()
    bare = Process("bare-api", "bench.bench_api", "--serve-bare", "--port", str(port))
    targets.append(Target("bare FastAPI (constant)", bare, port))
    variants = ["baseline"] + (["ml"] if (ML_MODEL / "model.joblib").exists() else [])
    for variant in variants:
        port = _free_port()
        env = {"MODEL_VARIANT": variant, "MODEL_PATH": str(ML_MODEL), "MLFLOW_TRACKING_URI": "", "API_WORKERS": "1"}
        process = Process(
            f"api-{variant}", "services.api", "--host", HOST, "--port", str(port), "--log-level", "warning", env=env
        )
        targets.append(Target(f"/predict, {variant}", process, port))
    return targets


def _bodies() -> list[bytes]:
    from stack.load_test import sample_rows

    return [json.dumps({"rows": [row]}).encode() for row in sample_rows(64)]


def _check_answer(target: Target, body: bytes) -> None:
    """One real request first: a server that answers 4xx/5xx would otherwise be "fast"."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://{HOST}:{target.port}/predict", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise target.process.fail(f"/predict answered {exc.code}: {exc.read()[:300]!r}") from exc
    if response.status != 200 or len(answer.get("scores", ())) != 1:
        raise target.process.fail(f"/predict answered {response.status} {answer!r}")


def _measured(target: Target, phase_coroutine: Callable[[], Any]) -> Phase:
    cpu_before, client_before = target.process.cpu_seconds(), time.process_time()
    phase: Phase = run_async(phase_coroutine)
    phase.server_cpu = target.process.cpu_seconds() - cpu_before
    phase.client_cpu = time.process_time() - client_before
    bad = {s: n for s, n in phase.statuses.items() if s != 200}
    if bad or phase.completed < MIN_REQUESTS:
        raise target.process.fail(f"{phase.completed} requests completed, non-200 answers {bad}")
    if not target.process.running:
        raise target.process.fail("died under load")
    return phase


def measure(targets: list[Target], bodies: list[bytes]) -> None:
    generators = {t.label: LoadGenerator(t.port, bodies) for t in targets}
    for _ in range(REPEATS):
        for target in targets:
            generator = generators[target.label]
            run_async(functools.partial(generator.closed_loop, CONCURRENCY, WARMUP_SECONDS))
            closed = functools.partial(generator.closed_loop, CONCURRENCY, CLOSED_SECONDS)
            target.closed.append(_measured(target, closed))
    for _ in range(REPEATS):
        for target in targets:
            generator, rate = generators[target.label], target.max_rps * HALF_LOAD
            phase = _measured(target, functools.partial(generator.open_loop, rate, OPEN_SECONDS, OPEN_CONNECTIONS))
            if phase.rps < 0.5 * rate:  # a server that falls behind shows in p99; one this far behind is broken
                raise target.process.fail(f"open loop reached {phase.rps:.0f} req/s of the {rate:.0f} scheduled")
            target.opened.append(phase)


def _median(phases: list[Phase], value: Callable[[Phase], float]) -> float:
    return statistics.median(value(p) for p in phases)


def report(targets: list[Target]) -> list[str]:
    bare = targets[0]
    lines = [
        f"| server | max req/s (best, C={CONCURRENCY}) | median | vs bare | server CPU µs/req | vs bare (CPU) "
        "| p50 / p99 ms at max | half-load req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in targets:
        lines.append(
            f"| {t.label} | {t.max_rps:,.0f} | {_median(t.closed, lambda p: p.rps):,.0f} "
            f"| {t.max_rps / bare.max_rps:.2f}x | {t.cpu_us:.0f} | {bare.cpu_us / t.cpu_us:.2f}x "
            f"| {_median(t.closed, lambda p: p.percentile_ms(50)):.1f} / "
            f"{_median(t.closed, lambda p: p.percentile_ms(99)):.1f} "
            f"| {_median(t.opened, lambda p: p.rps):,.0f} "
            f"| {_median(t.opened, lambda p: p.percentile_ms(50)):.2f} "
            f"| {_median(t.opened, lambda p: p.percentile_ms(95)):.2f} "
            f"| {_median(t.opened, lambda p: p.percentile_ms(99)):.2f} |"
        )
    lines.append("")
    for t in targets[1:]:
        ratio = t.max_rps / bare.max_rps
        p99 = _median(t.opened, lambda p: p.percentile_ms(99))
        worst = max(p.percentile_ms(99) for p in t.opened)
        lines.append(
            f"- {t.label}: throughput {ratio:.2f}x bare "
            f"(goal ≥ {GOAL_RATIO}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'}); "
            f"p99 at half load {p99:.2f} ms, worst repetition {worst:.2f} ms "
            f"(goal ≤ {GOAL_P99_MS:.0f} ms: {'met' if p99 <= GOAL_P99_MS else 'NOT met'})"
        )
    generator = max(p.client_cpu / p.seconds for t in targets for p in t.closed) * 100
    lines.append(
        f"- {REPEATS} alternating repetitions (latencies: medians); closed loop {CLOSED_SECONDS:.0f} s, open loop "
        f"{OPEN_SECONDS:.0f} s over {OPEN_CONNECTIONS} connections; the generator used at most {generator:.0f} % of "
        f"a core; {machine_note()}"
    )
    return lines


def run() -> list[str]:
    bodies = _bodies()
    targets = _targets()
    try:
        for target in targets:
            target.process.start()
        for target in targets:
            wait_http_ok(f"http://{HOST}:{target.port}/health", target.process, timeout=60)
            _check_answer(target, bodies[0])
        measure(targets, bodies)
    finally:
        for target in targets:
            target.process.stop()
            target.process.log_path.unlink(missing_ok=True)
    return report(targets)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_api", description=__doc__.splitlines()[0])
    parser.add_argument("--serve-bare", action="store_true", help="serve the bare reference app (used by run())")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.serve_bare:
        if not args.port:
            parser.error("--serve-bare needs --port")
        serve_bare(args.port)
        return 0
    print("\n".join(run()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
