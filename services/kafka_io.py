"""The Kafka edge (kafka-python): client construction, topic creation, JSON encoding and DLQ envelopes.

Nothing else in services/ builds a Kafka client, so timeouts and delivery guarantees are decided here once:
- producers wait for `acks=all`; idempotence is off because a restarted broker with memory storage (Tansu in
  tests) forgets producer ids, and the consumer already tolerates duplicates (at-least-once). One request in
  flight per connection keeps per-partition order across retries.
- `send` never blocks longer than `max_block_ms` for metadata, so a broker outage surfaces as a failed future
  the caller can retry, not as a thread stuck for a minute.
- consumers never auto-commit: the prediction consumer commits after its output is acknowledged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.serializer import Serializer

from services.config import Settings

log = logging.getLogger("services.kafka_io")

# A client built while the broker is down fails after this long (the services retry), instead of kafka-python's
# 30 s: a SIGTERM during a startup outage is then honoured within seconds.
BOOTSTRAP_TIMEOUT_MS = 5_000

__all__ = [
    "ConsumerRecord",
    "KafkaError",
    "dlq_envelope",
    "encode_json",
    "ensure_topics",
    "make_consumer",
    "make_producer",
]


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; non-finite floats are refused (they are not JSON and would poison readers)."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Utf8KeySerializer(Serializer):  # type: ignore[misc]  # kafka-python ships no type hints
    """Message keys (product ids) as UTF-8; bytes and None pass through."""

    def serialize(self, topic: str, headers: Any, data: Any) -> bytes | None:
        return data.encode("utf-8") if isinstance(data, str) else data


def make_producer(
    bootstrap_servers: str,
    *,
    client_id: str = "volatility-slo",
    request_timeout_ms: int = 30_000,
    max_block_ms: int = 10_000,
    delivery_timeout_ms: int | None = None,
    reconnect_backoff_max_ms: int = 5_000,
    linger_ms: int = 5,
    **overrides: Any,
) -> KafkaProducer:
    """A producer for JSON values and UTF-8 keys (see the module notes for the delivery choices)."""
    delivery = (
        delivery_timeout_ms
        if delivery_timeout_ms is not None
        else max(request_timeout_ms + linger_ms, 2 * max_block_ms)
    )
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers.split(","),
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": False,
        "max_in_flight_requests_per_connection": 1,
        "linger_ms": linger_ms,
        "batch_size": 256 * 1024,
        "request_timeout_ms": request_timeout_ms,
        "delivery_timeout_ms": delivery,
        "max_block_ms": max_block_ms,
        "reconnect_backoff_max_ms": reconnect_backoff_max_ms,
        "retry_backoff_ms": 200,
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
        "key_serializer": Utf8KeySerializer(),
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(settings: Settings, *topics: str, client_id: str = "volatility-predictor") -> KafkaConsumer:
    """A group consumer for `topics` (default: the input topic) with manual commits and raw byte values."""
    return KafkaConsumer(
        *(topics or (settings.input_topic,)),
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        client_id=client_id,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.consumer_batch_size,
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=min(settings.kafka_heartbeat_interval_ms, settings.kafka_session_timeout_ms // 3),
        request_timeout_ms=settings.kafka_request_timeout_ms,
        reconnect_backoff_max_ms=settings.kafka_reconnect_backoff_max_ms,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
    )


def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int = 1,
    timeout_seconds: float = 15.0,
) -> list[str]:
    """Create the missing `topics` (one replica each) and return them; retries until the broker answers."""
    wanted = list(dict.fromkeys(topics))
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap_servers.split(","),
                client_id="volatility-slo-admin",
                request_timeout_ms=max(1000, int(timeout_seconds * 1000)),
                bootstrap_timeout_ms=max(1000, int((deadline - time.monotonic()) * 1000)),
            )
            try:
                existing = set(admin.list_topics())
                missing = [t for t in wanted if t not in existing]
                if missing:
                    # created concurrently by another client: the goal is met all the same
                    with contextlib.suppress(TopicAlreadyExistsError):
                        admin.create_topics([NewTopic(t, partitions, 1) for t in missing])
                return missing
            finally:
                admin.close()
        except (KafkaError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"cannot create topics {wanted} on {bootstrap_servers}: {exc}") from exc
            log.info("broker not ready for topic creation (%s); retrying", exc)
            time.sleep(0.5)


def dlq_envelope(record: ConsumerRecord, error_type: str, error: str) -> dict[str, Any]:
    """What a poison message becomes on the DLQ: the error, where it came from, and the original bytes.

    The original value is kept as text when it is UTF-8, else base64 (`original_encoding` says which), so
    a fixed consumer can replay it verbatim.
    """
    raw = record.value if isinstance(record.value, bytes | bytearray) else b""
    try:
        original, encoding = bytes(raw).decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        original, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes | bytearray) else record.key
    return {
        "error_type": error_type,
        "error": error,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp,
        "key": key,
        "original": original,
        "original_encoding": encoding,
        "failed_at_ms": int(time.time() * 1000),
    }
