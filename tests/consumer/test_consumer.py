"""The prediction consumer against a real Kafka-protocol broker (Tansu): delivery, poison, outages."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from services.consumer import (
    BatchOutcome,
    PoisonMessage,
    PredictionConsumer,
    decode_feature_message,
    message_time_seconds,
)
from services.kafka_io import make_consumer, make_producer
from services.metrics import BAD_JSON, INVALID_MESSAGE, MODEL_ERROR, consumer_metrics
from services.ml.features import FEATURE_COLUMNS
from services.ml.model import BaselineModel
from services.producer import feature_rows
from services.settings import Settings
from stack.broker import SERVICE_TOPICS, LocalBroker, start_broker
from tests.consumer.process_env import consumer_env
from tests.support import ServiceProcess, free_port, http_get, wait_http_ok
from tests.support.kafka import TopicCollector, produce_rows
from tests.support.tcp_proxy import TcpProxy

BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def real_rows() -> list[dict[str, Any]]:
    """Feature rows computed by services.ml.features from simulated ticks (past the 300-s warm-up)."""
    rows = list(feature_rows(seed=11, seconds=420))
    return rows[300:]


def unique_rows(template: Sequence[Mapping[str, Any]], count: int, products: int = 3) -> list[dict[str, Any]]:
    """`count` rows with distinct (product_id, timestamp) identities and real feature values."""
    rows = []
    for i in range(count):
        row = dict(template[i % len(template)])
        row["product_id"] = f"P{i % products}-USD"
        row["timestamp"] = (BASE_TIME + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(row)
    return rows


def identity(value: Mapping[str, Any]) -> tuple[str, str]:
    return (str(value["product_id"]), str(value["timestamp"]))


def fast_settings(bootstrap: str, **overrides: Any) -> Settings:
    """Kafka timeouts short enough for tests (group join takes one max_poll_interval on Tansu)."""
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "kafka_max_poll_interval_ms": 3000,
        "kafka_session_timeout_ms": 3000,
        "kafka_heartbeat_interval_ms": 1000,
        "kafka_request_timeout_ms": 5000,
        "kafka_reconnect_backoff_max_ms": 500,
        "kafka_publish_timeout_seconds": 2.0,
        "consumer_rate_window_seconds": 5.0,
        "consumer_poll_timeout_ms": 200,
        "consumer_batch_size": 200,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.contextmanager
def running_consumer(settings: Settings, registry: CollectorRegistry) -> Iterator[PredictionConsumer]:
    """The consumer loop in a thread of this process (same code as `python -m services.consumer`)."""
    consumer = make_consumer(settings)
    producer = make_producer(
        settings.kafka_bootstrap_servers,
        max_block_ms=int(settings.kafka_publish_timeout_seconds * 1000),
        request_timeout_ms=settings.kafka_request_timeout_ms,
        reconnect_backoff_max_ms=settings.kafka_reconnect_backoff_max_ms,
    )
    loop = PredictionConsumer(settings, BaselineModel(), consumer_metrics(registry), consumer, producer)
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run(stop)
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)

    thread = threading.Thread(target=run, name="prediction-consumer", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        stop.set()
        thread.join(30)
        consumer.close(autocommit=False)
        producer.close(timeout=5)
    assert not thread.is_alive(), "consumer loop did not stop"
    assert not failure, f"consumer loop crashed: {failure[0]!r}"


def sample(registry: CollectorRegistry, name: str, labels: Mapping[str, str] | None = None) -> float:
    return registry.get_sample_value(name, dict(labels or {})) or 0.0


def wait_for_count(registry: CollectorRegistry, name: str, want: float, timeout: float = 15.0) -> None:
    """The loop counts a batch after its commit, a moment after the broker (and a collector) has its output."""
    deadline = time.monotonic() + timeout
    while sample(registry, name) < want and time.monotonic() < deadline:
        time.sleep(0.02)


def record(value: bytes | None, offset: int = 0, timestamp: int = -1, key: bytes | None = b"BTC-USD") -> Any:
    return ConsumerRecord(
        "ticks.features", 0, -1, offset, timestamp, 0, key, value, [], None, -1, len(value or b""), -1
    )


# ---------------------------------------------------------------------------------------------------------
# Decoding (pure)


def test_decode_accepts_a_feature_message(real_rows: list[dict[str, Any]]) -> None:
    row = real_rows[0]
    decoded = decode_feature_message(json.dumps(row).encode())
    assert decoded.product_id == row["product_id"]
    assert decoded.timestamp == row["timestamp"]
    assert list(decoded.features) == list(FEATURE_COLUMNS)
    assert decoded.features == {c: float(row[c]) for c in FEATURE_COLUMNS}


@pytest.mark.parametrize(
    ("mutate", "error_type", "fragment"),
    [
        (lambda row: b"{not json", BAD_JSON, "not JSON"),
        (lambda row: b"", BAD_JSON, "empty"),
        (lambda row: b"[1, 2]", INVALID_MESSAGE, "JSON object"),
        (lambda row: {k: v for k, v in row.items() if k != "product_id"}, INVALID_MESSAGE, "product_id"),
        (lambda row: {k: v for k, v in row.items() if k != "timestamp"}, INVALID_MESSAGE, "timestamp"),
        (lambda row: {**row, "timestamp": "yesterday"}, INVALID_MESSAGE, "timestamp"),
        (lambda row: {k: v for k, v in row.items() if k != "rv_60s"}, INVALID_MESSAGE, "rv_60s"),
        (lambda row: {**row, "rv_60s": "high"}, INVALID_MESSAGE, "rv_60s"),
        (lambda row: {**row, "surprise": 1.0}, INVALID_MESSAGE, "surprise"),
        (lambda row: json.dumps({**row, "rv_60s": float("nan")}).encode(), BAD_JSON, "NaN"),
        (lambda row: json.dumps({**row, "rv_60s": float("inf")}).encode(), BAD_JSON, "Infinity"),
        (lambda row: {**row, "rv_60s": 10**400}, INVALID_MESSAGE, "rv_60s"),
    ],
    ids=[
        "broken-json", "empty", "array", "no-product", "no-timestamp", "bad-timestamp", "missing-feature",
        "string-feature", "unknown-feature", "nan", "infinity", "huge-int",
    ],
)  # fmt: skip
def test_decode_rejects_poison_naming_the_problem(
    real_rows: list[dict[str, Any]], mutate: Any, error_type: str, fragment: str
) -> None:
    bad = mutate(dict(real_rows[0]))
    value = bad if isinstance(bad, bytes) else json.dumps(bad).encode()
    with pytest.raises(PoisonMessage) as caught:
        decode_feature_message(value)
    assert caught.value.error_type == error_type
    assert fragment in str(caught.value)


def test_message_time_prefers_kafka_timestamp_then_the_payload(real_rows: list[dict[str, Any]]) -> None:
    decoded = decode_feature_message(json.dumps(real_rows[0]).encode())
    assert message_time_seconds(record(b"x", timestamp=1_700_000_000_123), decoded) == pytest.approx(1_700_000_000.123)
    expected = datetime.fromisoformat(real_rows[0]["timestamp"].replace("Z", "+00:00")).timestamp()
    assert message_time_seconds(record(b"x", timestamp=-1), decoded) == pytest.approx(expected)
    assert message_time_seconds(record(b"x", timestamp=-1), None) is None


class _FlakyModel(BaselineModel):
    """A model that fails on one poisoned value: the consumer must isolate that row, not drop the batch."""

    def predict_proba(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        if any(row["log_return_1s"] == 12345.0 for row in rows):
            raise ArithmeticError("model cannot score this row")
        return super().predict_proba(rows)


def test_a_model_failure_dead_letters_only_the_culprit(real_rows: list[dict[str, Any]]) -> None:
    rows = unique_rows(real_rows, 5)
    rows[2]["log_return_1s"] = 12345.0
    records = [record(json.dumps(r).encode(), offset=i) for i, r in enumerate(rows)]
    settings = Settings()
    loop = PredictionConsumer(settings, _FlakyModel(), consumer_metrics(CollectorRegistry()), None, None)  # type: ignore[arg-type]
    outcome = BatchOutcome()
    outgoing, _times, scores = loop._build(records, outcome)
    assert outcome.predictions == 4 and len(scores) == 4
    assert outcome.poison == {MODEL_ERROR: 1}
    dlq = [json.loads(m.value) for m in outgoing if m.topic == settings.dlq_topic]
    assert [(d["offset"], d["error_type"]) for d in dlq] == [(2, MODEL_ERROR)]
    assert "cannot score" in dlq[0]["error"]
    predicted = [json.loads(m.value) for m in outgoing if m.topic == settings.output_topic]
    assert [p["timestamp"] for p in predicted] == [rows[i]["timestamp"] for i in (0, 1, 3, 4)]


class _Future:
    """A settled send: acknowledged, or failed as kafka-python fails a send the broker never answered."""

    def __init__(self, ok: bool) -> None:
        self.is_done, self._ok = True, ok
        self.exception = None if ok else KafkaTimeoutError("no ack within the delivery timeout")

    def failed(self) -> bool:
        return not self._ok


class _OutageProducer:
    """Refuses the first `failures` attempts at a batch, each one waiting `wait` seconds on a fake clock; records
    the lag gauge at every retry."""

    def __init__(self, registry: CollectorRegistry, clock: list[float], failures: int, wait: float) -> None:
        self.registry, self.clock, self.failures, self.wait = registry, clock, failures, wait
        self.attempts = 0
        self.lag_at_retry: list[float] = []

    def send(self, topic: str, value: Any = None, key: Any = None) -> _Future:
        if len(self.lag_at_retry) < self.attempts:  # the first send of a retry
            self.lag_at_retry.append(sample(self.registry, "volatility_consumer_lag_seconds"))
        return _Future(ok=self.attempts >= self.failures)

    def flush(self, timeout: float | None = None) -> None:
        self.attempts += 1
        self.clock[0] += self.wait


class _Committer:
    def __init__(self) -> None:
        self.commits: list[Any] = []

    def commit(self, offsets: Any = None, timeout_ms: int | None = None) -> None:
        self.commits.append(offsets)


class _DownProducer(_OutageProducer):
    """A broker that never acknowledges: every flush waits out its timeout in real time, as kafka-python's does."""

    def flush(self, timeout: float | None = None) -> None:
        super().flush(timeout)
        time.sleep(timeout or 0.0)


def test_lag_keeps_counting_while_a_batch_is_held_by_an_output_outage(real_rows: list[dict[str, Any]]) -> None:
    """The freshness SLI must see an outage: a held batch's lag grows at every retry instead of freezing."""
    registry = CollectorRegistry()
    clock = [1_000.0]
    stamps = [990_000, 985_000]  # ms: the oldest message is 15 s old when the batch arrives
    records = [record(json.dumps(r).encode(), i, stamps[i]) for i, r in enumerate(unique_rows(real_rows, 2))]
    producer = _OutageProducer(registry, clock, failures=2, wait=30.0)
    loop = PredictionConsumer(
        Settings(), BaselineModel(), consumer_metrics(registry), _Committer(), producer,  # type: ignore[arg-type]
        clock=lambda: clock[0],
    )  # fmt: skip
    outcome = loop.process(records)
    assert outcome.published and outcome.publish_attempts == 3
    assert producer.lag_at_retry == [45.0, 75.0]  # 1,000 + 30 - 985, then 30 s more
    assert sample(registry, "volatility_consumer_lag_seconds") == 105.0  # acknowledged after the third wait


def test_a_stop_during_an_output_outage_gives_up_after_the_grace_and_commits_nothing(
    real_rows: list[dict[str, Any]],
) -> None:
    """SIGTERM while no ack comes: retry within the grace period, then return unpublished and commit nothing
    (redelivery later). The same on a real broker behind a cut proxy: test_shutdown_during_an_outage_commits_nothing
    (slow)."""
    registry = CollectorRegistry()
    settings = Settings(kafka_publish_timeout_seconds=0.1, consumer_shutdown_grace_seconds=0.5)
    producer = _DownProducer(registry, [1_000.0], failures=10**9, wait=0.0)
    committer = _Committer()
    records = [record(json.dumps(r).encode(), i) for i, r in enumerate(unique_rows(real_rows, 20))]
    loop = PredictionConsumer(settings, BaselineModel(), consumer_metrics(registry), committer, producer)  # type: ignore[arg-type]
    stop_with_the_batch_unpublished(loop, records, registry, within=5)
    assert committer.commits == []


def stop_with_the_batch_unpublished(
    loop: PredictionConsumer, records: list[Any], registry: CollectorRegistry, within: float
) -> None:
    """Shutdown is asked while a batch is in hand and publishing fails: the loop retries within the grace period,
    then gives up without publishing or committing, and counts the failures, not the messages."""
    stop = threading.Event()
    stop.set()  # the signal arrived while the batch was in hand
    started = time.monotonic()
    outcome = loop.process(records, stop)
    assert not outcome.published and not outcome.committed
    assert outcome.publish_attempts >= 2 and time.monotonic() - started < within
    assert sample(registry, "volatility_consumer_errors_total", {"error_type": "publish_failed"}) >= 2
    assert sample(registry, "volatility_consumer_messages_processed_total") == 0


# ---------------------------------------------------------------------------------------------------------
# Against the broker


@pytest.mark.timeout(90)
def test_n_messages_in_exactly_n_predictions_out(
    tansu: LocalBroker, registry: CollectorRegistry, real_rows: list[dict[str, Any]]
) -> None:
    rows = unique_rows(real_rows, 600)
    settings = fast_settings(tansu.bootstrap_servers)
    produce_rows(tansu.bootstrap_servers, settings.input_topic, rows)
    with (
        TopicCollector(tansu.bootstrap_servers, settings.output_topic, settings.dlq_topic) as out,
        running_consumer(settings, registry),
    ):
        out.wait_for(lambda rs: len(rs) >= len(rows), timeout=45, what="600 predictions")
        time.sleep(0.5)  # anything extra (a duplicate) would arrive now
        wait_for_count(registry, "volatility_consumer_messages_processed_total", len(rows))
        predictions = out.records(settings.output_topic)
        model = BaselineModel()
        assert len(predictions) == len(rows)
        assert not out.records(settings.dlq_topic)
        by_identity = {identity(p.value): p for p in predictions}
        assert set(by_identity) == {identity(r) for r in rows}
        for row in rows:
            got = by_identity[identity(row)]
            assert got.key == row["product_id"]
            expected = model.predict_proba([{c: float(row[c]) for c in FEATURE_COLUMNS}])[0]
            assert got.value["score"] == pytest.approx(expected)
            assert got.value["prediction"] == int(expected >= model.threshold)
            assert (got.value["model_variant"], got.value["model_version"]) == (model.variant, model.version)
        assert sample(registry, "volatility_consumer_messages_processed_total") == len(rows)
        assert sample(registry, "volatility_consumer_predictions_made_total") == len(rows)
        batches = sample(registry, "volatility_consumer_processing_seconds_count")
        assert 3 <= batches <= len(rows)  # at most 200 per batch
        assert sample(registry, "volatility_consumer_processing_seconds_sum") > 0
        assert sample(registry, "volatility_prediction_probability_count") == len(rows)
        assert sample(registry, "volatility_model_info", {"variant": "baseline", "version": model.version}) == 1
        assert sample(registry, "volatility_consumer_processing_rate") > 0
        deadline = time.monotonic() + 15
        while sample(registry, "volatility_consumer_lag_seconds") != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sample(registry, "volatility_consumer_lag_seconds") == 0  # caught up: nothing is waiting


@pytest.mark.timeout(60)
def test_lag_is_now_minus_the_oldest_message_time(
    tansu: LocalBroker, registry: CollectorRegistry, real_rows: list[dict[str, Any]]
) -> None:
    settings = fast_settings(tansu.bootstrap_servers)
    now = time.time()
    stamps = [int((now - age) * 1000) for age in (12.0, 30.0, 5.0)]
    records = [
        record(json.dumps(row).encode(), offset=i, timestamp=stamp)
        for i, (row, stamp) in enumerate(zip(unique_rows(real_rows, 3), stamps, strict=True))
    ]
    consumer = make_consumer(settings)
    producer = make_producer(tansu.bootstrap_servers)
    try:
        loop = PredictionConsumer(settings, BaselineModel(), consumer_metrics(registry), consumer, producer)
        outcome = loop.process(records)
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=5)
    assert outcome.published and outcome.predictions == 3
    lag = sample(registry, "volatility_consumer_lag_seconds")
    assert 30.0 <= lag < 30.0 + (time.time() - now) + 1.0


@pytest.mark.timeout(90)
def test_poison_goes_to_the_dlq_and_the_rest_flows(
    tansu: LocalBroker, registry: CollectorRegistry, real_rows: list[dict[str, Any]]
) -> None:
    rows: list[Any] = unique_rows(real_rows, 100)
    poison = {10: b"{broken", 50: json.dumps({"product_id": "BTC-USD"}).encode(), 99: b'{"rv_60s": NaN}'}
    for offset, value in poison.items():
        rows[offset] = value
    settings = fast_settings(tansu.bootstrap_servers)
    produce_rows(tansu.bootstrap_servers, settings.input_topic, rows)
    with (
        TopicCollector(tansu.bootstrap_servers, settings.output_topic, settings.dlq_topic) as out,
        running_consumer(settings, registry),
    ):
        out.wait_for(lambda rs: len(rs) >= len(rows), timeout=45, what="97 predictions + 3 dead letters")
        dead = sorted(out.records(settings.dlq_topic), key=lambda r: r.value["offset"])
        assert [d.value["offset"] for d in dead] == sorted(poison)
        for letter in dead:
            assert letter.value["topic"] == settings.input_topic and letter.value["partition"] == 0
            assert letter.value["original"].encode() == poison[letter.value["offset"]]
            assert letter.value["error"]
        assert [d.value["error_type"] for d in dead] == [BAD_JSON, INVALID_MESSAGE, BAD_JSON]
        predicted = {identity(p.value) for p in out.records(settings.output_topic)}
        assert predicted == {identity(r) for r in rows if isinstance(r, dict)}
        wait_for_count(registry, "volatility_consumer_messages_processed_total", len(rows))
        assert sample(registry, "volatility_consumer_errors_total", {"error_type": BAD_JSON}) == 2
        assert sample(registry, "volatility_consumer_errors_total", {"error_type": INVALID_MESSAGE}) == 1
        assert sample(registry, "volatility_consumer_messages_processed_total") == 100
        assert sample(registry, "volatility_consumer_predictions_made_total") == 97


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_broker_outage_mid_stream_loses_nothing(registry: CollectorRegistry, real_rows: list[dict[str, Any]]) -> None:
    """The broker vanishes for 4 s while messages stream in and are worked on; every one is predicted.

    The outage is a cut network path (a proxy in front of Tansu), because Tansu keeps data in memory: killing
    it would destroy the very messages whose survival is under test. Clients see connections reset and
    refused, as in a crash; the real kill/restart is the next test.
    """
    proxy_port = free_port()
    broker = start_broker(topics=SERVICE_TOPICS, advertised_port=proxy_port, timeout=5)
    proxy = TcpProxy(proxy_port, broker.port).start()
    try:
        broker.create_topics()
        broker_via_proxy = f"127.0.0.1:{proxy_port}"
        rows = unique_rows(real_rows, 3000)
        settings = fast_settings(broker_via_proxy, consumer_batch_size=100)
        acked: list[int] = []
        upstream = make_producer(broker_via_proxy, max_block_ms=60_000, delivery_timeout_ms=60_000)

        flowing = threading.Event()

        def stream() -> None:  # the upstream keeps producing through the outage (its sends wait and retry)
            for start in range(0, len(rows), 100):
                if start == 500:
                    flowing.wait(60)  # hold most of the stream until predictions flow: the cut lands mid-stream
                chunk = rows[start : start + 100]
                acked.append(produce_rows("", settings.input_topic, chunk, timeout=60, producer=upstream))
                time.sleep(0.1)

        with (
            TopicCollector(f"127.0.0.1:{broker.port}", settings.output_topic) as out,  # reads around the proxy
            running_consumer(settings, registry),
        ):
            producer_thread = threading.Thread(target=stream, daemon=True)
            producer_thread.start()
            out.wait_for(lambda rs: len(rs) >= 300, timeout=30, what="the stream to be flowing")
            flowing.set()
            time.sleep(0.3)
            proxy.cut()
            streaming_at_cut = producer_thread.is_alive()
            seen_at_cut = len(out.records())
            accepted_before = proxy.connections_accepted
            time.sleep(4)
            proxy.restore()
            producer_thread.join(90)
            assert sum(acked) == len(rows)
            expected = {identity(r) for r in rows}
            out.wait_for(lambda rs: expected <= {identity(r.value) for r in rs}, timeout=60, what="all predictions")
            counts = Counter(identity(r.value) for r in out.records())
        assert streaming_at_cut and seen_at_cut < len(rows), "the outage must hit mid-stream"
        assert proxy.connections_accepted > accepted_before, "clients must have reconnected"
        assert set(counts) == expected
        duplicates = sum(n - 1 for n in counts.values())
        print(f"outage: {len(rows)} messages, {duplicates} duplicates, none lost")
        assert sample(registry, "volatility_consumer_predictions_made_total") >= len(rows)
        upstream.close(timeout=5)
    finally:
        proxy.close()
        broker.stop()


@pytest.mark.slow  # ~4 s (a group join, the grace, a proxy); fast twin: test_a_stop_during_an_output_outage_*
@pytest.mark.timeout(60)
def test_shutdown_during_an_outage_commits_nothing(
    registry: CollectorRegistry, real_rows: list[dict[str, Any]]
) -> None:
    """SIGTERM while the broker is away: give up after the grace period, commit nothing (redelivery later)."""
    proxy_port = free_port()
    broker = start_broker(topics=SERVICE_TOPICS, advertised_port=proxy_port, timeout=5)
    proxy = TcpProxy(proxy_port, broker.port).start()
    try:
        broker.create_topics()
        settings = fast_settings(
            f"127.0.0.1:{proxy_port}", kafka_publish_timeout_seconds=0.3, consumer_shutdown_grace_seconds=1.0
        )
        rows = unique_rows(real_rows, 20)
        produce_rows(settings.kafka_bootstrap_servers, settings.input_topic, rows)
        consumer = make_consumer(settings)
        # Short request and reconnect timeouts: after the restore, the batches left in the producer are delivered
        # or expire within seconds, so the close below is bounded (kafka-python's close raises on pending batches).
        producer = make_producer(
            settings.kafka_bootstrap_servers, max_block_ms=300, request_timeout_ms=3000, reconnect_backoff_max_ms=500
        )
        loop = PredictionConsumer(settings, BaselineModel(), consumer_metrics(registry), consumer, producer)
        records: list[Any] = []
        deadline = time.monotonic() + 45
        while len(records) < len(rows) and time.monotonic() < deadline:
            records.extend(r for rs in consumer.poll(timeout_ms=200).values() for r in rs)
        assert len(records) == len(rows)
        proxy.cut()
        stop_with_the_batch_unpublished(loop, records, registry, within=20)
        proxy.restore()
        consumer.close(autocommit=False)
        producer.close(timeout=10)
        assert _committed(settings.kafka_bootstrap_servers, settings.consumer_group, settings.input_topic) is None
    finally:
        proxy.close()
        broker.stop()


def _committed(bootstrap: str, group: str, topic: str) -> int | None:
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        committed: int | None = reader.committed(TopicPartition(topic, 0))
        return committed
    finally:
        reader.close()


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_process_survives_broker_kill_and_restart_then_stops_cleanly_on_sigterm(
    real_rows: list[dict[str, Any]],
) -> None:
    """`python -m services.consumer` as deployed: a real broker crash, a restart, then SIGTERM.

    Tansu restarts empty (memory storage), so "nothing lost" is checked as: everything acknowledged before
    the crash was predicted before it, and the consumer reconnects by itself and predicts what arrives after.
    """
    broker = start_broker(topics=SERVICE_TOPICS)
    metrics_port = free_port()
    settings = fast_settings(broker.bootstrap_servers)
    service = ServiceProcess("services.consumer", env=consumer_env(broker.bootstrap_servers, metrics_port))
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    before, after = unique_rows(real_rows, 400)[:200], unique_rows(real_rows, 400)[200:]
    try:
        with service:
            wait_http_ok(metrics_url, timeout=20, process=service)
            with TopicCollector(broker.bootstrap_servers, settings.output_topic) as out:
                produce_rows(broker.bootstrap_servers, settings.input_topic, before)
                want = {identity(r) for r in before}
                out.wait_for(lambda rs: want <= {identity(r.value) for r in rs}, 30, "predictions before the crash")
            broker.kill()
            time.sleep(2)
            broker.start()
            with TopicCollector(broker.bootstrap_servers, settings.output_topic) as out:  # the new, empty topic
                produce_rows(broker.bootstrap_servers, settings.input_topic, after)
                want = {identity(r) for r in after}
                out.wait_for(lambda rs: want <= {identity(r.value) for r in rs}, 60, "predictions after restart")
            assert service.running, service.log_tail()
            _, text = http_get(metrics_url)
            assert _metric(text, "volatility_consumer_messages_processed_total") >= 400
            assert _metric(text, "volatility_consumer_predictions_made_total") >= 400
            assert _metric(text, "volatility_consumer_lag_seconds") >= 0
            committed = _committed(broker.bootstrap_servers, settings.consumer_group, settings.input_topic)
            service.signal(signal.SIGTERM)
            assert service.wait(15) == 0, service.log_tail()
            # after SIGTERM everything it predicted since the restart is committed: nothing to redo
            final = _committed(broker.bootstrap_servers, settings.consumer_group, settings.input_topic)
            assert final == len(after), (committed, final)
            assert "consumer stopped" in service.log_tail()
    finally:
        broker.stop()
