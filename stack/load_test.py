"""Bounded load test of `POST /predict`: latency percentiles, throughput and errors against the SLOs.

`python -m stack.load_test --url http://127.0.0.1:8000 --requests 1000 --concurrency 16`

Sends exactly `--requests` requests (or fewer if `--max-seconds` runs out) from `--concurrency` concurrent
clients, each body holding `--rows` real feature rows (simulated ticks through services.ml.features). Prints
p50/p95/p99 latency, throughput and errors by status; `--json-out` also writes them as JSON. Exits 1 when p95
is above `--max-p95` (0.8 s, the latency SLO) or errors are above `--max-error-rate` (1 %, the error SLO).

Only loopback targets are allowed: this tool must never load someone else's server.

The client is httpx (one keep-alive connection per concurrent worker). On a 2-core machine its own CPU per
request competes with the API under test, so treat throughput figures from here as a floor; `make bench`
(bench/bench_api.py) is where the API's speed is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from stack.http import TargetNotAllowed, ensure_loopback

__all__ = ["LoadReport", "TargetNotAllowed", "ensure_loopback", "percentile", "run_load", "sample_rows"]

MAX_REQUESTS = 1_000_000
MAX_CONCURRENCY = 1024


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]) of already sorted values; NaN when empty."""
    if not sorted_values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    position = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def error_name(exc: BaseException) -> str:
    """The name of the root cause (`ConnectionRefusedError`, not httpx's wrapper), as a status bucket."""
    seen: BaseException | None = exc
    name = type(exc).__name__
    while seen is not None:
        if isinstance(seen, OSError):
            name = type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    return name


@dataclass
class LoadReport:
    url: str
    requests: int
    concurrency: int
    rows_per_request: int
    completed: int = 0
    errors: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    throughput_rps: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    stopped_early: bool = False

    @property
    def error_rate(self) -> float:
        return self.errors / self.completed if self.completed else 0.0

    def verdict(self, max_p95_seconds: float, max_error_rate: float) -> list[str]:
        """The SLO breaches, in words; empty when the run passes."""
        problems = []
        if self.completed == 0:
            problems.append("no request completed")
        if not self.p95_ms <= max_p95_seconds * 1000:
            problems.append(f"p95 {self.p95_ms:.1f} ms > {max_p95_seconds * 1000:.0f} ms")
        if self.error_rate > max_error_rate:
            problems.append(f"errors {self.error_rate:.2%} > {max_error_rate:.2%}")
        return problems

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: undefined percentiles (nothing completed) become null."""
        data = {**asdict(self), "error_rate": self.error_rate}
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in data.items()}

    def summary(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_status.items()))
        return (
            f"{self.completed}/{self.requests} requests to {self.url} ({self.concurrency} concurrent,"
            f" {self.rows_per_request} row(s) each) in {self.elapsed_seconds:.2f}s"
            f"{' (stopped early: time limit)' if self.stopped_early else ''}\n"
            f"throughput {self.throughput_rps:.1f} req/s\n"
            f"latency p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, p99 {self.p99_ms:.2f} ms,"
            f" max {self.max_ms:.2f} ms\n"
            f"errors {self.errors} ({self.error_rate:.2%}); status counts: {statuses}"
        )


def sample_rows(count: int, seed: int = 7) -> list[dict[str, float]]:
    """`count` distinct real feature rows (features only), past the simulator's warm-up."""
    from services.ml.features import FEATURE_COLUMNS, WARMUP_SECONDS
    from services.producer import feature_rows

    rows = list(feature_rows(seed=seed, seconds=WARMUP_SECONDS + count + 1))[WARMUP_SECONDS:]
    if not rows:
        raise RuntimeError("the simulator produced no feature rows")
    return [{c: float(row[c]) for c in FEATURE_COLUMNS} for row in rows[:count]]


async def run_load(
    url: str,
    requests: int,
    concurrency: int,
    *,
    rows_per_request: int = 1,
    max_seconds: float = 120.0,
    timeout_seconds: float = 10.0,
    bodies: Sequence[bytes] | None = None,
) -> LoadReport:
    """Fire `requests` POSTs at `<url>/predict` with `concurrency` workers; never more, never longer."""
    if not 1 <= requests <= MAX_REQUESTS:
        raise ValueError(f"requests must be in [1, {MAX_REQUESTS}]")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be in [1, {MAX_CONCURRENCY}]")
    endpoint = url.rstrip("/") + "/predict"
    parts = urlsplit(endpoint)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only plain http:// URLs are supported, got {url!r}")
    if bodies is None:
        pool = sample_rows(max(rows_per_request, 64))
        bodies = [
            json.dumps({"rows": [pool[(i + j) % len(pool)] for j in range(rows_per_request)]}).encode()
            for i in range(len(pool))
        ]
    report = LoadReport(url=endpoint, requests=requests, concurrency=concurrency, rows_per_request=rows_per_request)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    issued = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    headers = {"Content-Type": "application/json"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < requests:
            if time.perf_counter() >= deadline:
                report.stopped_early = True
                return
            body = bodies[issued % len(bodies)]
            issued += 1
            sent = time.perf_counter()
            try:
                status = str((await client.post(endpoint, content=body, headers=headers)).status_code)
            except httpx.HTTPError as exc:  # refused, reset, timed out, garbled: counted under the error's name
                status = error_name(exc)
            latencies.append(time.perf_counter() - sent)
            statuses[status] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout_seconds, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))

    report.elapsed_seconds = time.perf_counter() - started
    latencies.sort()
    report.completed = len(latencies)
    report.by_status = dict(statuses)
    report.errors = sum(n for s, n in statuses.items() if not (s.isdigit() and int(s) < 400))
    report.throughput_rps = report.completed / report.elapsed_seconds if report.elapsed_seconds else 0.0
    for name, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99), ("max_ms", 100)):
        setattr(report, name, percentile(latencies, q) * 1000)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.load_test", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="API base URL (loopback only)")
    parser.add_argument("--requests", type=int, default=1000, help=f"total requests (1-{MAX_REQUESTS})")
    parser.add_argument("--concurrency", type=int, default=16, help=f"concurrent clients (1-{MAX_CONCURRENCY})")
    parser.add_argument("--rows", type=int, default=1, help="feature rows per request body")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop issuing requests after this")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, seconds")
    parser.add_argument("--max-p95", type=float, default=0.8, help="fail when p95 exceeds this many seconds")
    parser.add_argument("--max-error-rate", type=float, default=0.01, help="fail above this error share")
    parser.add_argument("--json-out", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be in [1, {MAX_REQUESTS}]")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be in [1, {MAX_CONCURRENCY}]")
    if not 0 < args.max_seconds <= 3600 or args.rows < 1:
        parser.error("--max-seconds must be in (0, 3600] and --rows >= 1")
    try:
        ensure_loopback(args.url)
    except TargetNotAllowed as exc:
        print(f"refusing to load {args.url}: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(
        run_load(
            args.url,
            args.requests,
            args.concurrency,
            rows_per_request=args.rows,
            max_seconds=args.max_seconds,
            timeout_seconds=args.timeout,
        )
    )
    print(report.summary())
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    problems = report.verdict(args.max_p95, args.max_error_rate)
    if problems:
        print("FAIL: " + "; ".join(problems), file=sys.stderr)
        return 1
    print("PASS: within the latency and error SLOs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
