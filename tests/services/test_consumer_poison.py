"""Poison messages against the real consumer process and the real broker (Tansu): nothing crashes, nothing stalls.

A poison message is anything that cannot be decoded, validated, scored or encoded. Each one must reach the DLQ as
a record that fits the producer's limit (capped copy, size, hash, source coordinates) while every good message
around it is predicted exactly once, the process keeps running (no crash loop) and the committed offsets reach the
end of the input topic.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.config import Settings
from services.kafka_io import DLQ_MAX_RECORD_BYTES, make_producer
from services.local_broker import LocalBroker
from services.producer import feature_rows
from tests.support import ServiceProcess, free_port, http_get, wait_http_ok

BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
MB = 1024 * 1024


def good_rows(count: int) -> list[dict[str, Any]]:
    """`count` valid rows with distinct (product_id, timestamp) and real feature values (past the warm-up)."""
    template = list(feature_rows(seed=11, seconds=360))[300:]
    rows = []
    for i in range(count):
        row = dict(template[i % len(template)])
        row["product_id"] = ("BTC-USD", "ETH-EUR", "SOL-€ß")[i % 3]  # non-ASCII ids are fine, not poison
        row["timestamp"] = (BASE_TIME + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(row)
    return rows


def _json(row: Mapping[str, Any]) -> bytes:
    """JSON text as a client may write it: ensure_ascii escapes lone surrogates as legal `\\udXXX` escapes."""
    return json.dumps(row).encode()


def poison_values(row: dict[str, Any]) -> list[tuple[str, bytes | None, bytes | None]]:
    """(name, key, value) of every poison shape, built around a valid `row`."""
    rng = random.Random(9)
    deep = 100_000
    return [
        ("surrogate product_id", b"BTC-USD", _json({**row, "product_id": "\ud800"})),
        ("surrogate pair reversed", b"BTC-USD", _json({**row, "product_id": "BTC\udc00\ud800"})),
        ("surrogate timestamp", b"BTC-USD", _json({**row, "timestamp": "2025-01-01T00:00:00\udfffZ"})),
        ("surrogate feature value", b"BTC-USD", _json({**row, "rv_60s": "\ud800"})),
        ("surrogate field name", b"BTC-USD", _json({**row, "\ud800": 1.0})),
        ("surrogate raw bytes", b"BTC-USD", _json(row).replace(b'"BTC-USD"', b'"\xed\xa0\x80"', 1)),
        ("5 MB product_id", b"BTC-USD", _json({**row, "product_id": "A" * (5 * MB)})),
        ("5 MB not JSON", b"BTC-USD", b"{" + b"x" * (5 * MB)),
        ("800 KB binary", b"BTC-USD", rng.randbytes(800 * 1024)),
        ("5 MB of spaces in the timestamp", b"BTC-USD", _json({**row, "timestamp": " " * (5 * MB) + row["timestamp"]})),
        ("100k-digit fraction", b"BTC-USD", _json({**row, "timestamp": "2025-01-01T00:00:00." + "1" * 100_000 + "Z"})),
        ("deep array", b"BTC-USD", b"[" * deep + b"]" * deep),
        ("deep field", b"BTC-USD", _json(row).replace(b'"BTC-USD"', b"[" * deep + b"]" * deep, 1)),
        ("NaN", b"BTC-USD", _json(row).replace(b'"rv_60s": ', b'"rv_60s": NaN, "x": ', 1)),
        ("Infinity", b"BTC-USD", _json({**row, "rv_60s": float("inf")})),
        ("1e999", b"BTC-USD", _json(row).replace(b'"rv_60s": ', b'"rv_60s": 1e999, "x": ', 1)),
        ("huge integer", b"BTC-USD", _json({**row, "rv_60s": 10**400})),
        ("product_id number", b"BTC-USD", _json({**row, "product_id": 42})),
        ("timestamp number", b"BTC-USD", _json({**row, "timestamp": 1_700_000_000})),
        ("feature string", b"BTC-USD", _json({**row, "rv_60s": "high"})),
        ("feature bool", b"BTC-USD", _json({**row, "rv_60s": True})),
        ("feature null", b"BTC-USD", _json({**row, "rv_60s": None})),
        ("feature list", b"BTC-USD", _json({**row, "rv_60s": [1.0]})),
        ("top-level array", b"BTC-USD", b"[1, 2]"),
        ("top-level string", b"BTC-USD", b'"BTC-USD"'),
        ("top-level null", b"BTC-USD", b"null"),
        ("null key, broken value", None, b"{broken"),
        ("non-UTF-8 bytes", b"BTC-USD", _json(row).replace(b'"BTC-USD"', b'"\xff\xfe"', 1)),
        ("non-UTF-8 key", b"\xff\xfe", b"{broken"),
        ("2 MB key", b"K" * (2 * MB), b"{broken"),
        ("empty value", b"BTC-USD", b""),
        ("null value (tombstone)", b"BTC-USD", None),
    ]


@dataclass(frozen=True)
class Raw:
    offset: int
    key: bytes | None
    value: bytes | None


def read_topic(bootstrap: str, topic: str, timeout: float = 20.0) -> list[Raw]:
    """Every record of partition 0 of `topic`, raw bytes, up to its current end."""
    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_bytes=64 * MB)
    try:
        partition = TopicPartition(topic, 0)
        reader.assign([partition])
        reader.seek_to_beginning(partition)
        end = reader.end_offsets([partition])[partition]
        out: list[Raw] = []
        deadline = time.monotonic() + timeout
        while reader.position(partition) < end:
            assert time.monotonic() < deadline, f"{topic}: read {len(out)} of {end} records"
            for records in reader.poll(timeout_ms=200).values():
                out.extend(Raw(r.offset, r.key, r.value) for r in records)
        return out
    finally:
        reader.close()


def committed_offset(bootstrap: str, group: str, topic: str) -> int | None:
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return reader.committed(TopicPartition(topic, 0))
    finally:
        reader.close()


def metric(text: str, name: str, labels: str = "") -> float:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix!r} not in /metrics")


def consumer_env(bootstrap: str, metrics_port: int) -> dict[str, str]:
    """Short Kafka timeouts (Tansu's group join takes one max poll interval) and small batches."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_MAX_POLL_INTERVAL_MS": "3000",
        "KAFKA_SESSION_TIMEOUT_MS": "3000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "KAFKA_REQUEST_TIMEOUT_MS": "5000",
        "KAFKA_RECONNECT_BACKOFF_MAX_MS": "500",
        "KAFKA_PUBLISH_TIMEOUT_SECONDS": "2",
        "CONSUMER_POLL_TIMEOUT_MS": "200",
        "CONSUMER_BATCH_SIZE": "40",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        "MODEL_VARIANT": "baseline",
    }


@pytest.mark.timeout(120)
def test_every_poison_shape_goes_to_the_dlq_and_the_stream_flows(tansu: LocalBroker) -> None:
    """The failure as it happened: poison between good messages, the deployed process, the real broker."""
    settings = Settings(kafka_bootstrap_servers=tansu.bootstrap_servers)
    good = good_rows(150)
    poison = poison_values(dict(good[0]))
    stream: list[tuple[bytes | None, bytes | None, str | None]] = []  # key, value, poison name (None: good)
    good_iter = iter(good)
    for name, key, value in poison:
        for _ in range(4):
            row = next(good_iter)
            stream.append((row["product_id"].encode(), _json(row), None))
        stream.append((key, value, name))
    for row in good_iter:
        stream.append((None, _json(row), None))  # a null key on a good message is fine
    upstream = make_producer(tansu.bootstrap_servers, max_request_size=16 * MB, max_block_ms=20_000)
    try:
        futures = [upstream.send(settings.input_topic, key=k, value=v) for k, v, _ in stream]
        upstream.flush(timeout=30)
        offsets = [f.get(timeout=30).offset for f in futures]
    finally:
        upstream.close(timeout=5)
    assert offsets == list(range(len(stream)))
    poison_at = {offset: item for offset, item in zip(offsets, stream, strict=True) if item[2] is not None}

    metrics_port = free_port()
    service = ServiceProcess("services.consumer", env=consumer_env(tansu.bootstrap_servers, metrics_port))
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with service:
        wait_http_ok(metrics_url, timeout=20, process=service)
        deadline = time.monotonic() + 60
        committed = None
        while committed != len(stream):
            assert service.running, f"the consumer exited (crash loop):\n{service.log_tail(60)}"
            assert time.monotonic() < deadline, f"stalled: committed {committed} of {len(stream)}\n{service.log_tail()}"
            time.sleep(0.2)
            committed = committed_offset(tansu.bootstrap_servers, settings.consumer_group, settings.input_topic)
        while True:  # caught up: the lag gauge falls to 0 at the next empty poll
            _, text = http_get(metrics_url)
            if metric(text, "volatility_consumer_lag_seconds") == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert metric(text, "volatility_consumer_lag_seconds") == 0
        assert metric(text, "volatility_consumer_messages_processed_total") == len(stream)
        assert metric(text, "volatility_consumer_predictions_made_total") == len(good)
        poison_counted = sum(
            metric(text, "volatility_consumer_errors_total", f'error_type="{t}"')
            for t in ("bad_json", "invalid_message", "model_error")
        )
        assert poison_counted == len(poison)
        assert metric(text, "volatility_consumer_errors_total", 'error_type="publish_failed"') == 0
        service.signal(signal.SIGTERM)
        assert service.wait(15) == 0, service.log_tail()
    log = service.log_tail(10_000)
    assert "Traceback" not in log, log

    predictions = read_topic(tansu.bootstrap_servers, settings.output_topic)
    decoded = [json.loads(p.value or b"") for p in predictions]
    assert sorted((d["product_id"], d["timestamp"]) for d in decoded) == sorted(
        (r["product_id"], r["timestamp"]) for r in good
    )
    assert all(p.key == d["product_id"].encode() for p, d in zip(predictions, decoded, strict=True))

    letters = read_topic(tansu.bootstrap_servers, settings.dlq_topic)
    assert len(letters) == len(poison)
    found: dict[int, dict[str, Any]] = {}
    for letter in letters:
        assert letter.value is not None
        assert len(letter.value) + len(letter.key or b"") <= DLQ_MAX_RECORD_BYTES
        envelope = json.loads(letter.value)
        assert (envelope["topic"], envelope["partition"]) == (settings.input_topic, 0)
        found[envelope["offset"]] = envelope
    assert sorted(found) == sorted(poison_at)
    for offset, (key, value, name) in poison_at.items():
        envelope = found[offset]
        assert envelope["error"] and envelope["error_type"] in {"bad_json", "invalid_message"}, (name, envelope)
        assert envelope["original_size_bytes"] == len(value or b""), name
        assert envelope["original_sha256"] == hashlib.sha256(value or b"").hexdigest(), name
        copy = envelope["original"]
        if value is None:
            assert copy is None and envelope["original_encoding"] == "null", name
            continue
        raw = copy.encode("utf-8") if envelope["original_encoding"] == "utf-8" else _b64(copy)
        if envelope["original_truncated"]:
            assert value.startswith(raw) and len(raw) < len(value), name
            assert "truncated" in envelope["error"], name
        else:
            assert raw == value, name
        if key is not None and envelope["key"] is not None and not envelope["key_truncated"]:
            assert _decode(envelope["key"], envelope["key_encoding"]) == key, name


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text, validate=True)


def _decode(text: str, encoding: str) -> bytes:
    return text.encode("utf-8") if encoding == "utf-8" else _b64(text)
