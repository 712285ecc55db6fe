"""The consumer benchmark's reference: a kafka-python consume → produce → commit loop with no model.

`python -m bench.raw_relay` (settings from the environment, like `python -m services.consumer`). It builds its
clients with the same `services.kafka_io` constructors and settings as the consumer, polls the same batch size,
sends one message per input record to OUTPUT_TOPIC with the record's key, waits for the acks and commits — the
consumer's Kafka work and nothing else (no decoding, validation, scoring, JSON encoding, DLQ or metrics), so the
consumer/relay ratio is the cost of the consumer's own code.

The value sent is a constant prediction of the consumer's output shape and size (RELAY_VALUE=prediction, the
default), so both loops move the same bytes; RELAY_VALUE=copy forwards the input value instead (~4x larger:
kafka-python's per-byte costs, its pure-Python CRC32C above all, then dominate).
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from kafka.structs import OffsetAndMetadata, TopicPartition

from services.kafka_io import encode_json, make_consumer, make_producer
from services.settings import Settings

PREDICTION_SHAPED = encode_json(
    {
        "product_id": "BTC-USD",
        "timestamp": "2026-01-01T00:00:00Z",
        "score": 0.12345678901234567,
        "prediction": 0,
        "model_variant": "baseline",
        "model_version": "baseline-zscore-v1",
    }
)


def relay(settings: Settings, stop: threading.Event, copy: bool = False) -> int:
    """One output per input record, batch by batch, until `stop`; returns the number of records relayed."""
    consumer = make_consumer(settings, client_id="bench-raw-relay")
    producer = make_producer(
        settings.kafka_bootstrap_servers,
        client_id="bench-raw-relay",
        request_timeout_ms=settings.kafka_request_timeout_ms,
        max_block_ms=int(settings.kafka_publish_timeout_seconds * 1000),
        reconnect_backoff_max_ms=settings.kafka_reconnect_backoff_max_ms,
    )
    relayed = 0
    try:
        while not stop.is_set():
            polled = consumer.poll(
                timeout_ms=settings.consumer_poll_timeout_ms, max_records=settings.consumer_batch_size
            )
            records = [record for partition_records in polled.values() for record in partition_records]
            if not records:
                continue
            futures = [
                producer.send(settings.output_topic, value=r.value if copy else PREDICTION_SHAPED, key=r.key)
                for r in records
            ]
            producer.flush(timeout=settings.kafka_publish_timeout_seconds)
            if not all(f.is_done and not f.failed() for f in futures):
                raise RuntimeError("the broker did not acknowledge a relayed batch")
            offsets: dict[TopicPartition, OffsetAndMetadata] = {}
            for record in records:
                offsets[TopicPartition(record.topic, record.partition)] = OffsetAndMetadata(record.offset + 1, "", -1)
            consumer.commit(offsets, timeout_ms=settings.kafka_request_timeout_ms)
            relayed += len(records)
    finally:
        producer.close(timeout=5)
        consumer.close(autocommit=False)
    return relayed


def main() -> int:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    mode = os.environ.get("RELAY_VALUE", "prediction")
    if mode not in ("prediction", "copy"):
        raise SystemExit(f"RELAY_VALUE={mode!r}: expected prediction or copy")
    relayed = relay(Settings.from_env(), stop, copy=mode == "copy")
    print(f"relayed {relayed} records", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
