"""The producer: simulator/replay → features → Kafka, bounded and paced, with optional poison."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.consumer import PoisonMessage, decode_feature_message
from services.features import FEATURE_COLUMNS
from services.kafka_io import make_producer
from services.local_broker import LocalBroker
from services.producer import feature_rows, produce
from services.ticks import simulate, write_ndjson
from tests.support import ServiceProcess


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 15) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, 0)])
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            if len(records) >= expected:
                time.sleep(0.3)  # and nothing more arrives
                for batch in consumer.poll(timeout_ms=200).values():
                    records.extend(batch)
                break
    finally:
        consumer.close()
    return records


def test_feature_rows_are_deterministic_and_complete() -> None:
    first = list(feature_rows(seed=3, seconds=120))
    assert first == list(feature_rows(seed=3, seconds=120))
    assert first != list(feature_rows(seed=4, seconds=120))
    assert len(first) >= 100
    for row in first:
        assert set(FEATURE_COLUMNS) <= set(row) and row["product_id"] == "BTC-USD"


def test_replay_gives_the_same_rows_as_the_simulation(tmp_path: Path) -> None:
    capture = tmp_path / "ticks.ndjson"
    write_ndjson(capture, simulate(5, 90))
    assert list(feature_rows(replay_path=str(capture))) == list(feature_rows(seed=5, seconds=90))


@pytest.mark.timeout(60)
def test_produce_publishes_keyed_feature_messages_with_poison(tansu: LocalBroker) -> None:
    producer = make_producer(tansu.bootstrap_servers)
    try:
        report = produce(producer, "ticks.features", feature_rows(seed=2, seconds=200), count=50, poison_every=10)
    finally:
        producer.close()
    assert (report.sent, report.poison) == (50, 5)
    records = read_topic(tansu.bootstrap_servers, "ticks.features", 50)
    assert len(records) == 50
    poison = []
    for record in records:
        assert record.key == b"BTC-USD"
        try:
            decoded = decode_feature_message(record.value)
            assert decoded.product_id == "BTC-USD"
        except PoisonMessage:
            poison.append(record.offset)
    assert poison == [9, 19, 29, 39, 49]


@pytest.mark.timeout(60)
def test_pacing_and_bounds(tansu: LocalBroker) -> None:
    producer = make_producer(tansu.bootstrap_servers)
    try:
        paced = produce(producer, "ticks.features", feature_rows(seed=2, seconds=100), rate=100, count=30)
        bounded = produce(producer, "ticks.features", feature_rows(seed=2, seconds=1000), rate=50, duration=0.3)
        exhausted = produce(producer, "ticks.features", feature_rows(seed=2, seconds=20), rate=0)
    finally:
        producer.close()
    assert paced.sent == 30 and paced.elapsed_seconds >= 29 / 100  # paced, not bursted
    assert 1 <= bounded.sent <= 17  # 0.3 s at 50/s, stopped by the duration
    assert 15 <= exhausted.sent <= 21  # the simulated span ran out


@pytest.mark.timeout(60)
def test_cli_publishes_count_messages(tansu: LocalBroker) -> None:
    args = ("--count", "25", "--rate", "0", "--seconds", "120", "--seed", "9")
    with ServiceProcess("services.producer", *args, env={"KAFKA_BOOTSTRAP_SERVERS": tansu.bootstrap_servers}) as cli:
        assert cli.wait(45) == 0, cli.log_tail()
        assert "sent 25 messages" in cli.log_tail()
    records = read_topic(tansu.bootstrap_servers, "ticks.features", 25)
    assert len(records) == 25
    expected = list(feature_rows(seed=9, seconds=120))[:25]
    assert [json.loads(r.value) for r in records] == json.loads(json.dumps(expected))


@pytest.mark.timeout(60)
def test_a_message_that_cannot_be_sent_is_counted_not_fatal_nor_silent(
    tansu: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Old code: the surrogate key, the NaN row and the 2-MB row each ended the run with a traceback; a send the
    broker refused later would have been reported as sent."""
    rows = list(feature_rows(seed=2, seconds=200))[:6]
    rows[1] = {**rows[1], "product_id": "BTC-\ud800"}  # sent (key escaped); the consumer dead-letters it
    rows[2] = {**rows[2], "rv_60s": float("nan")}  # not JSON
    rows[4] = {**rows[4], "product_id": "X" * (2 * 1024 * 1024)}  # over the producer's max_request_size
    producer = make_producer(tansu.bootstrap_servers)
    try:
        report = produce(producer, "ticks.features", rows)
    finally:
        producer.close()
    assert (report.sent, report.failed) == (6, 2)
    assert caplog.text.count("refused") == 2
    records = read_topic(tansu.bootstrap_servers, "ticks.features", 4)
    assert [r.key for r in records] == [b"BTC-USD", b"BTC-\\ud800", b"BTC-USD", b"BTC-USD"]
