"""Publish feature messages to the input topic, from the seeded tick simulator or a replayed capture.

`python -m services.producer --seconds 600 --rate 50` simulates ten minutes of BTC-USD ticks, turns them
into 1-second feature rows with services.features (the same code training and serving use) and publishes
them keyed by product_id at 50 messages/s. Always bounded: by the simulated span, `--count` and `--duration`.

`--poison-every N` replaces every Nth message by a broken one (demo of the DLQ path).
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Protocol

from services.config import Settings
from services.features import features_from_messages
from services.kafka_io import encode_json, make_producer

log = logging.getLogger("services.producer")

POISON_VALUES: tuple[bytes, ...] = (
    b"{not json",
    b'{"product_id": "BTC-USD"}',
    b'{"product_id": "BTC-USD", "timestamp": "2025-01-01T00:00:00Z", "rv_60s": NaN}',
)


class Sender(Protocol):
    def send(self, topic: str, value: Any = None, key: Any = None) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...


def feature_rows(
    *,
    seed: int = 7,
    seconds: float = 600.0,
    product_ids: Sequence[str] = ("BTC-USD",),
    replay_path: str | None = None,
    live_time: bool = False,
) -> Iterator[dict[str, Any]]:
    """Feature rows from the simulator (or a replay file): the producer's and the load test's data source.

    `live_time` starts the simulated clock now instead of the simulator's fixed instant, for a
    live-looking stream.
    """
    from services.ticks import replay, simulate

    if replay_path is not None:
        messages: Iterable[Mapping[str, Any]] = replay(replay_path)
    else:
        start = datetime.now(UTC).replace(microsecond=0) if live_time else None
        messages = simulate(seed, seconds, tuple(product_ids), start=start)
    return features_from_messages(messages)


@dataclass
class ProduceReport:
    sent: int = 0  # messages handed to the producer (poison included)
    poison: int = 0
    failed: int = 0  # of those, refused or not acknowledged: they are not in the topic
    elapsed_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


def produce(
    sender: Sender,
    topic: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    rate: float = 0.0,
    count: int | None = None,
    duration: float | None = None,
    poison_every: int = 0,
    stop: threading.Event | None = None,
    flush_timeout: float = 30.0,
) -> ProduceReport:
    """Send rows (and injected poison) to `topic` keyed by product_id, paced at `rate` msg/s (0: unpaced).

    Stops at whichever comes first: rows exhausted, `count` messages, `duration` seconds, or `stop`.
    Every message is flushed before returning; one that was refused (too large, not encodable) or not acknowledged
    is counted in `failed` and logged at ERROR, never reported as sent silently.
    """
    report = ProduceReport()
    started = time.monotonic()
    interval = 1.0 / rate if rate > 0 else 0.0
    in_flight: list[Any] = []
    for row in rows:
        if (count is not None and report.sent >= count) or (stop is not None and stop.is_set()):
            break
        now = time.monotonic()
        if duration is not None and now - started >= duration:
            break
        if interval:
            due = started + report.sent * interval
            if due > now:
                time.sleep(due - now)
        # A lone surrogate in a replayed product id cannot be UTF-8: written escaped, the key never fails.
        key = str(row.get("product_id", "")).encode("utf-8", "backslashreplace")
        report.sent += 1
        try:
            if poison_every and report.sent % poison_every == 0:
                value = POISON_VALUES[report.poison % len(POISON_VALUES)]
                report.poison += 1
            else:
                value = encode_json(row)
            in_flight.append(sender.send(topic, value=value, key=key))
        except Exception as exc:  # not JSON-encodable, too large, ...: this message, not the run
            _failed(report, f"message {report.sent} refused: {type(exc).__name__}: {exc}")
        if len(in_flight) >= _CHECK_EVERY:
            in_flight = _settle(in_flight, report, wait=False)
    try:
        sender.flush(timeout=flush_timeout)
    except Exception as exc:  # the broker did not acknowledge everything in time: counted below
        log.error("flush failed: %s", exc)
    _settle(in_flight, report, wait=True)
    report.elapsed_seconds = time.monotonic() - started
    return report


_CHECK_EVERY = 10_000  # settled sends are dropped from memory this often


def _failed(report: ProduceReport, reason: str) -> None:
    report.failed += 1
    if report.failed <= 10:  # a broken run says why without flooding the log
        log.error("%s", reason)


def _settle(futures: list[Any], report: ProduceReport, *, wait: bool) -> list[Any]:
    """Count the failed sends among `futures`; returns those still undecided (all are decided when `wait`)."""
    undecided = []
    for future in futures:
        if not future.is_done:
            if not wait:
                undecided.append(future)
                continue
            _failed(report, "a message was not acknowledged before the flush timeout")
        elif future.failed():
            _failed(report, f"a message was refused: {future.exception}")
    return undecided


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m services.producer", description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default=settings.kafka_bootstrap_servers)
    parser.add_argument("--topic", default=settings.input_topic)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=600.0, help="simulated span (default 600)")
    parser.add_argument("--products", nargs="+", default=["BTC-USD"], help="product ids to simulate")
    parser.add_argument("--replay", help="NDJSON capture of ticker envelopes to replay instead of simulating")
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second (0 = as fast as possible)")
    parser.add_argument("--count", type=int, help="stop after this many messages")
    parser.add_argument("--duration", type=float, help="stop after this many wall-clock seconds")
    parser.add_argument("--live-time", action="store_true", help="stamp simulated ticks from now on")
    parser.add_argument("--poison-every", type=int, default=0, help="make every Nth message a poison one")
    args = parser.parse_args(argv)
    if args.rate < 0 or not math.isfinite(args.rate):
        parser.error("--rate must be a finite number >= 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    rows = feature_rows(
        seed=args.seed,
        seconds=args.seconds,
        product_ids=args.products,
        replay_path=args.replay,
        live_time=args.live_time,
    )
    producer = make_producer(args.bootstrap_servers, client_id="volatility-producer")
    try:
        report = produce(
            producer,
            args.topic,
            rows,
            rate=args.rate,
            count=args.count,
            duration=args.duration,
            poison_every=args.poison_every,
            stop=stop,
        )
    finally:
        producer.close(timeout=10)
    print(
        f"sent {report.sent} messages ({report.poison} poison, {report.failed} failed) to {args.topic}"
        f" in {report.elapsed_seconds:.2f}s ({report.rate:.0f} msg/s)",
        file=sys.stderr,
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
