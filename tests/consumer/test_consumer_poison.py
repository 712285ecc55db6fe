"""Poison messages against the real consumer process and the real broker (Tansu): nothing crashes, nothing stalls.

A poison message is anything that cannot be decoded, validated, scored or encoded. Each one must reach the DLQ as
a record that fits the producer's limit (capped copy, size, hash, source coordinates) while every good message
around it is predicted exactly once, the process keeps running (no crash loop) and the committed offsets reach the
end of the input topic.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import TopicAuthorizationFailedError
from prometheus_client import CollectorRegistry

from services.consumer import (
    MAX_PRODUCT_ID_CHARS,
    BatchOutcome,
    PredictionConsumer,
    dead_letter,
    decode_feature_message,
    encode_prediction,
)
from services.kafka_io import DLQ_MAX_RECORD_BYTES, make_consumer, make_producer
from services.metrics import consumer_metrics
from services.ml.model import BaselineModel
from services.producer import feature_rows
from services.settings import Settings
from stack.broker import LocalBroker
from tests.consumer.process_env import consumer_env
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
        offset: int | None = reader.committed(TopicPartition(topic, 0))
        return offset
    finally:
        reader.close()


def metric(text: str, name: str, labels: str = "") -> float:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix!r} not in /metrics")


@pytest.mark.slow  # ~7 s: every poison shape through a real broker
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
    service = ServiceProcess(
        "services.consumer", env=consumer_env(tansu.bootstrap_servers, metrics_port, CONSUMER_BATCH_SIZE="40")
    )
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
    for offset, (key, value, poison_name) in poison_at.items():
        name = str(poison_name)
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


# ---------------------------------------------------------------------------------------------------------
# One batch at a time, through the real clients: what each fix changed


def fast_settings(bootstrap: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "kafka_max_poll_interval_ms": 3000,
        "kafka_session_timeout_ms": 3000,
        "kafka_heartbeat_interval_ms": 1000,
        "kafka_request_timeout_ms": 5000,
        "kafka_publish_timeout_seconds": 2.0,
        "consumer_shutdown_grace_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.contextmanager
def one_batch(
    settings: Settings,
    stream: Sequence[tuple[bytes | None, bytes | None]],
    registry: CollectorRegistry,
    **producer: Any,
) -> Iterator[tuple[PredictionConsumer, list[Any]]]:
    """`stream` (key, value) produced to the input topic and polled back as one batch, ready for `process`."""
    upstream = make_producer(settings.kafka_bootstrap_servers, max_request_size=16 * MB)
    try:
        futures = [upstream.send(settings.input_topic, key=k, value=v) for k, v in stream]
        upstream.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    finally:
        upstream.close(timeout=5)
    consumer = make_consumer(settings)
    output = make_producer(settings.kafka_bootstrap_servers, max_block_ms=2000, request_timeout_ms=5000, **producer)
    try:
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while len(records) < len(stream) and time.monotonic() < deadline:
            records.extend(r for rs in consumer.poll(timeout_ms=200).values() for r in rs)
        assert len(records) == len(stream)
        yield PredictionConsumer(settings, BaselineModel(), consumer_metrics(registry), consumer, output), records
    finally:
        consumer.close(autocommit=False)
        with contextlib.suppress(Exception):
            output.close(timeout=5)


def process_with_deadline(loop: PredictionConsumer, records: list[Any], seconds: float = 8.0) -> BatchOutcome:
    """`process` with a SIGTERM-like stop after `seconds`: a batch that cannot be published returns, unpublished."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return loop.process(records, stop)
    finally:
        timer.cancel()


def record_at(settings: Settings, offset: int, key: bytes | None, value: bytes | None) -> ConsumerRecord:
    return ConsumerRecord(settings.input_topic, 0, -1, offset, -1, 0, key, value, [], None, -1, -1, -1)


def sample(registry: CollectorRegistry, name: str, labels: Mapping[str, str] | None = None) -> float:
    return registry.get_sample_value(name, dict(labels or {})) or 0.0


@pytest.mark.slow  # ~2 s (a group join on Tansu); fast: test_a_string_the_prediction_cannot_carry_is_a_poison_message
@pytest.mark.timeout(60)
def test_a_lone_surrogate_is_dead_lettered_not_a_crash(tansu: LocalBroker) -> None:
    """Old code: orjson raised on the prediction's product_id; the process died before committing (crash loop)."""
    settings = fast_settings(tansu.bootstrap_servers)
    rows = good_rows(3)
    stream = [
        (b"BTC-USD", _json(rows[0])),
        (b"BTC-USD", _json({**rows[1], "product_id": "\ud800"})),
        (None, _json(rows[2])),
    ]
    registry = CollectorRegistry()
    with one_batch(settings, stream, registry) as (loop, records):
        outcome = process_with_deadline(loop, records)
    assert outcome.published and outcome.committed and outcome.predictions == 2
    assert outcome.poison == {"invalid_message": 1}
    assert committed_offset(tansu.bootstrap_servers, settings.consumer_group, settings.input_topic) == 3
    [letter] = read_topic(tansu.bootstrap_servers, settings.dlq_topic)
    envelope = json.loads(letter.value or b"")
    assert envelope["offset"] == 1 and "product_id" in envelope["error"]
    assert envelope["original"].encode() == stream[1][1]


@pytest.mark.slow  # ~2 s (a group join); fast: test_handle_record_never_raises_and_always_yields_something_that_fits
@pytest.mark.timeout(60)
def test_oversized_poison_is_capped_in_the_dlq_not_retried_forever(tansu: LocalBroker) -> None:
    """Old code: the 5-MB copy (and the 800-KB binary, base64-grown) never fit; the batch was retried forever."""
    settings = fast_settings(tansu.bootstrap_servers)
    rows = good_rows(2)
    huge, binary = b"{" + b"x" * (5 * MB), random.Random(3).randbytes(800 * 1024)
    stream = [(b"BTC-USD", _json(rows[0])), (b"k", huge), (b"k", binary), (b"BTC-USD", _json(rows[1]))]
    registry = CollectorRegistry()
    with one_batch(settings, stream, registry) as (loop, records):
        outcome = process_with_deadline(loop, records)
    assert outcome.published and outcome.committed and outcome.predictions == 2
    assert committed_offset(tansu.bootstrap_servers, settings.consumer_group, settings.input_topic) == 4
    letters = {json.loads(r.value or b"")["offset"]: r for r in read_topic(tansu.bootstrap_servers, settings.dlq_topic)}
    assert sorted(letters) == [1, 2]
    for offset, source in ((1, huge), (2, binary)):
        letter = letters[offset]
        assert len(letter.value or b"") + len(letter.key or b"") <= DLQ_MAX_RECORD_BYTES
        envelope = json.loads(letter.value or b"")
        assert envelope["original_truncated"] and "truncated" in envelope["error"]
        assert f"{settings.input_topic}/0@{offset}" in envelope["error"]
        assert envelope["original_size_bytes"] == len(source)
        assert envelope["original_sha256"] == hashlib.sha256(source).hexdigest()
        prefix = _decode(envelope["original"], envelope["original_encoding"])
        assert source.startswith(prefix) and len(prefix) > 1000
    assert envelope["original_encoding"] == "base64"
    assert sample(registry, "volatility_consumer_errors_total", {"error_type": "publish_failed"}) == 0


@pytest.mark.timeout(60)
def test_a_refused_prediction_is_dead_lettered_with_the_reason(
    tansu: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A prediction the producer refuses for good (too large for its max_request_size): its input goes to the DLQ.

    Old code: MessageSizeTooLargeError was logged at DEBUG and the batch retried forever.
    """
    settings = fast_settings(tansu.bootstrap_servers)
    rows = good_rows(3)
    wide = {**rows[1], "product_id": "\U0001d538" * MAX_PRODUCT_ID_CHARS}  # valid: 128 characters, 512 bytes
    stream = [(b"BTC-USD", _json(rows[0])), (b"w", _json(wide)), (b"BTC-USD", _json(rows[2]))]
    # The producer's max_request_size: the wide prediction (value + key, plus kafka-python's record overhead) is
    # over it; its copy-less dead letter, with a long reason, is well under.
    limit = len(encode_prediction(decode_feature_message(_json(wide)), 0.5, BaselineModel())) + 512
    smallest = dead_letter(
        record_at(settings, 1, b"w", _json(wide)), "publish_rejected", "r" * 400, "dlq", minimal=True
    )
    assert len(smallest.value) + len(smallest.key or b"") + 200 < limit
    registry = CollectorRegistry()
    with (
        caplog.at_level(logging.ERROR, logger="services.consumer"),
        one_batch(settings, stream, registry, max_request_size=limit) as (loop, records),
    ):
        outcome = process_with_deadline(loop, records)
    assert outcome.published and outcome.committed, caplog.text
    assert outcome.predictions == 2 and outcome.rejected == 1
    assert sample(registry, "volatility_consumer_predictions_made_total") == 2
    assert sample(registry, "volatility_consumer_errors_total", {"error_type": "publish_rejected"}) >= 1
    assert "the prediction for ticks.features/0@1 was refused" in caplog.text
    [letter] = read_topic(tansu.bootstrap_servers, settings.dlq_topic)
    envelope = json.loads(letter.value or b"")
    assert (envelope["offset"], envelope["error_type"]) == (1, "publish_rejected")
    assert "MessageSizeTooLargeError" in envelope["error"]
    assert envelope["original_sha256"] == hashlib.sha256(_json(wide)).hexdigest()
    predicted = [
        json.loads(p.value or b"")["timestamp"] for p in read_topic(tansu.bootstrap_servers, settings.output_topic)
    ]
    assert sorted(predicted) == [rows[0]["timestamp"], rows[2]["timestamp"]]


@pytest.mark.slow  # ~8 s: waits out the publish timeout on purpose
@pytest.mark.timeout(60)
def test_a_dead_letter_that_cannot_be_written_stalls_loudly_and_commits_nothing(
    tansu: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing smaller than a copy-less dead letter exists: the batch is held, at ERROR, counted every time.

    Old code: the same stall, but silent (DEBUG log, counted as a broker outage: publish_failed).
    """
    settings = fast_settings(tansu.bootstrap_servers)
    stream = [(b"k", b"{broken")]
    registry = CollectorRegistry()
    with (
        caplog.at_level(logging.ERROR, logger="services.consumer"),
        one_batch(settings, stream, registry, max_request_size=150) as (loop, records),
    ):
        outcome = process_with_deadline(loop, records, seconds=2.0)
    assert not outcome.published and not outcome.committed
    assert outcome.publish_attempts >= 3
    assert sample(registry, "volatility_consumer_errors_total", {"error_type": "publish_rejected"}) >= 3
    assert "refused even without its copy" in caplog.text
    assert committed_offset(tansu.bootstrap_servers, settings.consumer_group, settings.input_topic) is None


class _BrokenThresholdModel:
    """A model whose threshold raises: a bug outside the per-message error handling of the fast path."""

    variant, version = "baseline", "broken-threshold"

    def predict_proba(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        return BaselineModel().predict_proba(rows)

    @property
    def threshold(self) -> float:
        raise RuntimeError("threshold unavailable")


@pytest.mark.slow  # ~2 s (a group join); fast: test_a_model_failure_dead_letters_only_the_culprit
@pytest.mark.timeout(60)
def test_an_unexpected_exception_dead_letters_the_records_instead_of_crashing(tansu: LocalBroker) -> None:
    """Old code: the exception escaped `process`, the process exited, restarted, and died on the same batch."""
    settings = fast_settings(tansu.bootstrap_servers)
    rows = good_rows(2)
    registry = CollectorRegistry()
    with one_batch(settings, [(b"BTC-USD", _json(r)) for r in rows], registry) as (loop, records):
        loop.model = _BrokenThresholdModel()
        outcome = process_with_deadline(loop, records)
    assert outcome.published and outcome.committed and outcome.predictions == 0
    assert outcome.poison == {"internal_error": 2}
    letters = [json.loads(r.value or b"") for r in read_topic(tansu.bootstrap_servers, settings.dlq_topic)]
    assert sorted(d["offset"] for d in letters) == [0, 1]
    assert all("threshold unavailable" in d["error"] for d in letters)


# ---------------------------------------------------------------------------------------------------------
# Configuration that would make every message poison, or loop poison forever


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OUTPUT_TOPIC", "predictions for all!", "OUTPUT_TOPIC='predictions for all!': not a Kafka topic name"),
        ("DLQ_TOPIC", "ticks.features", "must be three different topics"),
        ("OUTPUT_TOPIC", "ticks.features", "must be three different topics"),
    ],
    ids=["bad-name", "dlq-is-input", "output-is-input"],
)
@pytest.mark.timeout(30)
def test_the_process_refuses_topics_that_would_poison_every_message(variable: str, value: str, message: str) -> None:
    """Old code: started anyway (a DLQ equal to the input topic re-reads each dead letter as poison, forever)."""
    env = {**consumer_env("127.0.0.1:1", free_port(), CONSUMER_BATCH_SIZE="40"), variable: value}
    service = ServiceProcess("services.consumer", env=env).start()
    try:
        assert service.wait(10) == 2, service.log_tail()
    finally:
        service.stop()
    assert message in service.log_tail()


class _UnauthorizedProducer:
    """A broker whose output topic refuses this client (Tansu has no ACLs to refuse it for real)."""

    def __init__(self) -> None:
        self.sends = 0

    def send(self, topic: str, value: Any = None, key: Any = None) -> Any:
        self.sends += 1
        raise TopicAuthorizationFailedError(topic)

    def flush(self, timeout: float | None = None) -> None:
        pass


def test_an_unauthorized_topic_holds_the_batch_instead_of_dead_lettering_everything(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(consumer_shutdown_grace_seconds=0.5)
    registry = CollectorRegistry()
    producer = _UnauthorizedProducer()
    loop = PredictionConsumer(settings, BaselineModel(), consumer_metrics(registry), None, producer)  # type: ignore[arg-type]
    stop = threading.Event()
    stop.set()  # SIGTERM already received: give up after the grace period
    with caplog.at_level(logging.ERROR, logger="services.consumer"):
        outcome = loop.process([record_at(settings, 0, b"BTC-USD", _json(good_rows(1)[0]))], stop)
    assert not outcome.published and not outcome.committed
    assert outcome.poison == {} and outcome.rejected == 0  # nothing was dead-lettered
    assert producer.sends >= 2 and "not authorized" in caplog.text
    assert sample(registry, "volatility_consumer_errors_total", {"error_type": "publish_rejected"}) == producer.sends
