"""A steady client for the local stack: `POST /predict` at a fixed rate, so the API's SLOs have traffic to measure.

`stack.load_test` answers "how fast can it go" with a bounded burst; this answers "what does on-call see" with
a paced trickle of real feature rows on one keep-alive connection, for as long as the stack runs (bounded by
`--duration`). The end-to-end test uses the same class in-process and reads its log of (time, status) to
recompute the SLO numbers Prometheus reports. Loopback targets only.

    python -m stack.traffic --url http://127.0.0.1:8000 --rate 5 --duration 3600
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from types import FrameType

import httpx

from stack.http import TargetNotAllowed, ensure_loopback


def feature_bodies(count: int = 64) -> list[bytes]:
    """`count` one-row /predict bodies of real feature rows (simulated ticks through services.ml.features)."""
    from stack.load_test import sample_rows

    return [json.dumps({"rows": [row]}).encode() for row in sample_rows(count)]


class PacedClient(threading.Thread):
    """POST /predict every 1/rate s on one keep-alive connection; never bursts to catch up after a stall.

    `log` holds (unix time the answer arrived, status) per request when `keep_log`; `counts` always holds the
    statuses ("200", "500", or "error:<Exception>" when no answer came).
    """

    def __init__(self, url: str, bodies: Sequence[bytes], rate: float, *, keep_log: bool = True) -> None:
        if not rate > 0:
            raise ValueError("rate must be > 0")
        super().__init__(daemon=True, name="paced-client")
        self.url, self.bodies, self.interval = url.rstrip("/") + "/predict", list(bodies), 1.0 / rate
        self.keep_log = keep_log
        self.log: list[tuple[float, str]] = []
        self.counts: Counter[str] = Counter()
        self._stop_event = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._busy = threading.Lock()
        self._client = httpx.Client(timeout=5, headers={"Content-Type": "application/json"})

    def run(self) -> None:
        next_at = time.monotonic()
        sent = 0
        while not self._stop_event.is_set():
            if not self._running.wait(0.1):
                next_at = time.monotonic()
                continue
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop_event.wait(delay):
                break
            with self._busy:
                if self._running.is_set():
                    status = self._post(self.bodies[sent % len(self.bodies)])
                    self.counts[status] += 1
                    if self.keep_log:
                        self.log.append((time.time(), status))
                    sent += 1
            next_at = max(next_at + self.interval, time.monotonic() - self.interval)

    def _post(self, body: bytes) -> str:
        try:
            return str(self._client.post(self.url, content=body).status_code)
        except httpx.HTTPError as exc:
            return f"error:{type(exc).__name__}"

    def pause(self) -> None:
        """Stop sending; returns once no request is in flight (so counters can be compared exactly)."""
        self._running.clear()
        with self._busy:
            pass

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop_event.set()
        self._running.set()
        self.join(10)
        self._client.close()

    def statuses(self, since: float = 0.0, until: float = math.inf) -> Counter[str]:
        """Statuses of the requests answered in [since, until] (needs `keep_log`)."""
        return Counter(status for t, status in list(self.log) if since <= t <= until)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.traffic", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="API base URL (loopback only)")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=3600.0, help="stop after this many seconds")
    args = parser.parse_args(argv)
    if not 0 < args.rate <= 1000 or not 0 < args.duration <= 7 * 86400:
        parser.error("--rate must be in (0, 1000] and --duration in (0, 604800]")
    try:
        ensure_loopback(args.url)
    except TargetNotAllowed as exc:
        print(f"refusing to send traffic to {args.url}: {exc}", file=sys.stderr)
        return 2
    client = PacedClient(args.url, feature_bodies(), args.rate, keep_log=False)
    done = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    client.start()
    done.wait(args.duration)
    client.stop()
    print(f"sent {sum(client.counts.values())} requests: {dict(client.counts)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
