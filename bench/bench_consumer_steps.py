"""The consumer's own cost per message, step by step (``python -m bench bench_consumer_steps``).

`bench_consumer` measures the whole loop through a broker; this one explains it. Each hot step of
`services.consumer` runs over the same real feature messages as its fast path and as the straightforward
implementation it replaced (stdlib JSON with hooks, field-by-field validation, normalise-then-parse timestamps,
stdlib `json.dumps`), in the same process; the ratio is the speed-up. The last line is the whole `process()` of
500-message batches with a producer and consumer that do nothing, so only the consumer's own code is timed.
"""

from __future__ import annotations

import json
import threading
import timeit
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson
from prometheus_client import CollectorRegistry

from bench.bench_consumer import feature_messages
from services.consumer import PredictionConsumer
from services.kafka_io import encode_json
from services.metrics import consumer_metrics
from services.ml.features import _parse_iso_text, parse_timestamp_us, validate_feature_row
from services.ml.model import BaselineModel
from services.settings import Settings
from services.strict_json import loads_precise

MESSAGES = 2_000
BATCH = 500
REPEATS = 7


class _Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes
    value: bytes


class _AckedFuture:
    is_done = True

    def failed(self) -> bool:
        return False


class _NullProducer:
    def send(self, *_args: Any, **_kwargs: Any) -> _AckedFuture:
        return _AckedFuture()

    def flush(self, timeout: float | None = None) -> None:
        return None


class _NullConsumer:
    """Only `commit` is reached by `process()`; the rest satisfies the consumer protocol."""

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]:
        return {}

    def commit(self, offsets: Any = None, timeout_ms: int | None = None) -> None:
        return None

    def assignment(self) -> set[Any]:
        return set()

    def highwater(self, partition: Any) -> int | None:
        return None

    def position(self, partition: Any, timeout_ms: int | None = None) -> int | None:
        return None


def per_message_us(work: Callable[[], object], count: int) -> float:
    """Best of REPEATS, in µs per message: noise only ever slows a run down."""
    return min(timeit.repeat(work, number=1, repeat=REPEATS)) / count * 1e6


def each(step: Callable[[Any], object], items: list[Any]) -> Callable[[], None]:
    """`step` over every item, results dropped: timing the step, not the growth of a result list (whose fresh
    memory made small steps look up to 10x slower in a process that had not allocated much yet)."""

    def work() -> None:
        for item in items:
            step(item)

    return work


def run() -> list[str]:
    messages = feature_messages(MESSAGES)
    rows = [json.loads(m) for m in messages]
    stamps = [row["timestamp"] for row in rows]
    prediction = {
        "product_id": "BTC-USD",
        "timestamp": stamps[0],
        "score": 0.12345678901234567,
        "prediction": 0,
        "model_variant": "baseline",
        "model_version": "baseline-zscore-v1",
    }
    predictions = [prediction] * MESSAGES
    steps: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "JSON decode (json.loads with hooks vs orjson.loads)",
            each(loads_precise, messages),
            each(orjson.loads, messages),
        ),
        (
            "feature validation (field by field vs plain-dict check)",
            each(lambda r: validate_feature_row(MappingProxyType(r)), rows),  # a non-dict mapping: field by field
            each(validate_feature_row, rows),
        ),
        (
            "ISO timestamp (normalise + parse vs fromisoformat first)",
            each(_parse_iso_text, stamps),
            each(parse_timestamp_us, stamps),
        ),
        (
            "prediction JSON (json.dumps vs orjson.dumps)",
            each(encode_json, predictions),
            each(orjson.dumps, predictions),
        ),
    ]
    lines = [
        "| step | plain µs/msg | fast path µs/msg | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for label, plain, fast in steps:
        before, after = per_message_us(plain, MESSAGES), per_message_us(fast, MESSAGES)
        lines.append(f"| {label} | {before:.2f} | {after:.2f} | {before / after:.1f}x |")

    records = [_Record("bench", 0, i, 1_700_000_000_000 + i, b"BTC-USD", m) for i, m in enumerate(messages)]
    loop = PredictionConsumer(
        Settings(), BaselineModel(), consumer_metrics(CollectorRegistry()), _NullConsumer(), _NullProducer()
    )
    never = threading.Event()

    def drain() -> None:
        for start in range(0, len(records), BATCH):
            loop.process(records[start : start + BATCH], never)

    drain()  # warm-up
    whole = per_message_us(drain, MESSAGES)
    lines.append(f"| whole `process()`, {BATCH}-message batches, no Kafka | | {whole:.2f} | |")
    lines.append("")
    lines.append(f"- {MESSAGES:,} real feature messages, best of {REPEATS}, one process")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
