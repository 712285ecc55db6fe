"""Reading and writing topics in tests, robust to the broker going away and coming back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.kafka_io import encode_json, make_producer


@dataclass(frozen=True)
class Collected:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: Any  # decoded JSON, or the raw bytes when not JSON


class TopicCollector:
    """Reads partitions 0..`partitions`-1 of each topic from the beginning in a background thread, keeping every
    record (in offset order within a partition).

    No consumer group, no commits: it sees everything, duplicates included. A restarted Tansu starts with
    empty topics whose offsets begin at 0 again: open a new collector after a restart.
    """

    def __init__(self, bootstrap_servers: str, *topics: str, partitions: int = 1) -> None:
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id="test-collector",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            reconnect_backoff_max_ms=500,
            request_timeout_ms=5000,
        )
        self._consumer.assign([TopicPartition(t, p) for t in topics for p in range(partitions)])
        self._records: list[Collected] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="topic-collector", daemon=True)

    def start(self) -> TopicCollector:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                polled = self._consumer.poll(timeout_ms=200)
            except Exception:  # broker away: keep trying until stopped
                time.sleep(0.2)
                continue
            batch = []
            for records in polled.values():
                for r in records:
                    try:
                        value: Any = json.loads(r.value)
                    except ValueError:
                        value = r.value
                    key = r.key.decode("utf-8") if isinstance(r.key, bytes) else r.key
                    batch.append(Collected(r.topic, r.partition, r.offset, key, value))
            if batch:
                with self._lock:
                    self._records.extend(batch)

    def records(self, topic: str | None = None) -> list[Collected]:
        with self._lock:
            return [r for r in self._records if topic is None or r.topic == topic]

    def wait_for(self, predicate: Callable[[list[Collected]], bool], timeout: float, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.records()):
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; have {len(self.records())}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()

    def __enter__(self) -> TopicCollector:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


def produce_rows(
    bootstrap_servers: str,
    topic: str,
    rows: Iterable[Mapping[str, Any] | bytes],
    *,
    timeout: float = 30.0,
    producer: KafkaProducer | None = None,
) -> int:
    """Publish rows (dicts as JSON, bytes verbatim) keyed by product_id and wait for every ack.

    Pass a long-lived `producer` to publish through an outage: building a new client needs the broker.
    """
    own = producer is None
    if producer is None:
        producer = make_producer(bootstrap_servers, client_id="test-producer", max_block_ms=int(timeout * 1000))
    try:
        futures = []
        for row in rows:
            if isinstance(row, bytes):
                futures.append(producer.send(topic, value=row, key="poison"))
            else:
                futures.append(producer.send(topic, value=encode_json(row), key=str(row.get("product_id"))))
        producer.flush(timeout=timeout)
        for future in futures:
            future.get(timeout=timeout)
        return len(futures)
    finally:
        if own:
            producer.close(timeout=5)
