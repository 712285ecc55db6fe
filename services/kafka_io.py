"""The Kafka edge (kafka-python): client construction, topic creation, JSON encoding and DLQ envelopes.

Nothing else in services/ builds a Kafka client, so timeouts and delivery guarantees are decided here once:
- producers wait for `acks=all`; idempotence is off because a restarted broker with memory storage (Tansu in
  tests) forgets producer ids, and the consumer already tolerates duplicates (at-least-once). One request in
  flight per connection keeps per-partition order across retries.
- `send` never blocks longer than `max_block_ms` for metadata, so a broker outage surfaces as a failed future
  the caller can retry, not as a thread stuck for a minute.
- consumers never auto-commit: the prediction consumer commits after its output is acknowledged.
- a dead letter always fits: `dlq_record` caps the copy of the poison message (prefix, size, SHA-256 and the
  source topic/partition/offset to find the rest), so the DLQ can never be the thing that stalls the consumer.
  Consumers read records larger than their fetch sizes all the same (fetch v3+ returns the first record whole).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
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

# The producers' max_request_size (kafka-python's default, stated once): a bigger record is refused by `send`.
MAX_REQUEST_BYTES = 1_048_576
# A dead letter's key + value stay within this, far below MAX_REQUEST_BYTES (and below a 1-MB fetch of any DLQ
# reader): what does not fit is cut, never sent whole.
DLQ_MAX_RECORD_BYTES = MAX_REQUEST_BYTES // 4
DLQ_ORIGINAL_MAX_BYTES = 64 * 1024  # the copied prefix of a poison value, before base64/JSON escaping
DLQ_KEY_MAX_BYTES = 1024  # the copied prefix of its key
DLQ_ERROR_MAX_CHARS = 1000  # an error text may echo the poison (a 5-MB field): cut too

__all__ = [
    "DLQ_MAX_RECORD_BYTES",
    "MAX_REQUEST_BYTES",
    "ConsumerRecord",
    "KafkaError",
    "dlq_envelope",
    "dlq_record",
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
        "max_request_size": MAX_REQUEST_BYTES,
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


def cap_text(text: str, limit: int = DLQ_ERROR_MAX_CHARS) -> str:
    """`text` cut to `limit` characters (saying how much was cut), as valid Unicode: for errors echoing poison.

    An error may echo a 5-MB field, or a lone surrogate: legal as a JSON escape but refused by strict readers
    (orjson, Go, serde). It is written as the six characters `\ud800` instead, so a dead letter reads everywhere.
    """
    if len(text) > limit:
        text = f"{text[:limit]}... [{len(text) - limit} more characters cut]"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _copy(raw: bytes, limit: int) -> tuple[str, str, bool]:
    """A prefix of `raw` of at most `limit` bytes: (text, encoding, truncated); UTF-8 text if it is, else base64.

    A valid UTF-8 value cut inside a character loses that character's first bytes too, so the copy stays text.
    """
    truncated = len(raw) > limit
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw[:limit]).decode("ascii"), "base64", truncated
    end = limit
    while True:  # at most 3 steps back to a character boundary
        try:
            return raw[:end].decode("utf-8"), "utf-8", truncated
        except UnicodeDecodeError:
            end -= 1


def dlq_envelope(
    record: ConsumerRecord,
    error_type: str,
    error: str,
    *,
    original_max_bytes: int = DLQ_ORIGINAL_MAX_BYTES,
) -> dict[str, Any]:
    """What a poison message becomes on the DLQ: the error, where it came from, and (a prefix of) its bytes.

    The copy is text when the value is UTF-8, else base64 (`original_encoding`; "null" for a record without a
    value). `original_size_bytes` and `original_sha256` describe the whole value; when `original_truncated`, the
    error says so and topic/partition/offset find the whole message in the source topic (while retained there).
    """
    value = record.value
    raw = bytes(value) if isinstance(value, bytes | bytearray) else b""
    key = record.key if isinstance(record.key, bytes | bytearray) else None
    if value is None:
        original: str | None
        original, encoding, truncated = None, "null", False
    else:
        original, encoding, truncated = _copy(raw, original_max_bytes)
    key_text: str | None
    key_text, key_encoding, key_truncated = (None, "null", False)
    if key is not None:
        key_text, key_encoding, key_truncated = _copy(bytes(key), DLQ_KEY_MAX_BYTES)
    error = cap_text(error)
    if truncated:
        error += (
            f" (DLQ copy truncated to the first {original_max_bytes} of {len(raw)} bytes; the whole message is"
            f" at {record.topic}/{record.partition}@{record.offset})"
        )
    return {
        "error_type": error_type,
        "error": error,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp,
        "key": key_text,
        "key_encoding": key_encoding,
        "key_truncated": key_truncated,
        "original": original,
        "original_encoding": encoding,
        "original_truncated": truncated,
        "original_size_bytes": len(raw),
        "original_sha256": hashlib.sha256(raw).hexdigest(),
        "failed_at_ms": int(time.time() * 1000),
    }


def dlq_record(
    record: ConsumerRecord, error_type: str, error: str, *, max_bytes: int = DLQ_MAX_RECORD_BYTES
) -> tuple[bytes | None, bytes]:
    """(key, value) of the dead letter for `record`, together at most `max_bytes` (see `dlq_envelope`).

    The copy shrinks until the record fits (JSON escaping can make a copy six times its size); with no copy at
    all, only the key prefix and the capped error remain, which always fit a DLQ_MAX_RECORD_BYTES record.
    """
    key = record.key[:DLQ_KEY_MAX_BYTES] if isinstance(record.key, bytes | bytearray) else None
    limit = DLQ_ORIGINAL_MAX_BYTES
    while True:
        value = encode_json(dlq_envelope(record, error_type, error, original_max_bytes=limit))
        if len(value) + len(key or b"") <= max_bytes or limit == 0:
            return (bytes(key) if key is not None else None), value
        limit //= 8
