"""The prediction consumer: `ticks.features` in, `ticks.predictions` out, poison to `ticks.features.dlq`.

Run with `python -m services.consumer` (settings from the environment, see services.config); metrics are
served on METRICS_HOST:METRICS_PORT/metrics.

Delivery is at-least-once:
1. poll a batch (at most CONSUMER_BATCH_SIZE records);
2. decode and validate each record; a poison record (broken JSON, missing or non-finite fields) becomes a DLQ
   message carrying the error, its original topic/partition/offset and its bytes;
3. score the valid records in one model call;
4. publish predictions and DLQ messages and wait for the broker's acks, retrying what failed (with backoff)
   for as long as the broker is away: the batch is held in memory, never dropped;
5. only then commit the batch's offsets.
A crash or a lost group membership between 4 and 5 replays the batch: duplicates are possible, loss is not.
SIGTERM/SIGINT ends the loop after the batch in hand is published and committed (or, if the broker is down,
after CONSUMER_SHUTDOWN_GRACE_SECONDS without committing, so the batch is redelivered).

Metric decisions: `volatility_consumer_processing_seconds` is observed once per batch (decode, validate,
predict, publish, acks); `volatility_consumer_lag_seconds` is now minus the Kafka record timestamp (the
producer's CreateTime; the message's own `timestamp` field only when the record has none) of the oldest
record in the batch, clamped at 0, and drops to 0 when a poll finds every assigned partition caught up. A batch
held by an output outage refreshes it at every retry (it keeps growing); a failed poll leaves it as it was, since
nothing tells what is waiting.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, NamedTuple, Protocol

import orjson
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from services.config import Settings
from services.features import FeatureError, parse_timestamp_us, validate_feature_row
from services.kafka_io import ConsumerRecord, dlq_envelope, encode_json, make_consumer, make_producer
from services.metrics import ConsumerMetrics, SlidingWindowRate, consumer_metrics, exposition_registry
from services.model import Model, ModelLoadError, load_model
from services.strict_json import loads_strict

log = logging.getLogger("services.consumer")

BAD_JSON = "bad_json"
INVALID_MESSAGE = "invalid_message"
MODEL_ERROR = "model_error"
PUBLISH_FAILED = "publish_failed"
COMMIT_FAILED = "commit_failed"
POLL_FAILED = "poll_failed"
_MAX_BACKOFF_SECONDS = 5.0


class PoisonMessage(ValueError):
    """A record that can never be predicted; `error_type` labels it in volatility_consumer_errors_total."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class FeatureMessage(NamedTuple):
    """A decoded input message (a named tuple: built once per message, it must be cheap)."""

    product_id: str
    timestamp: str
    features: dict[str, float]


def decode_feature_message(value: bytes | None) -> FeatureMessage:
    """Decode `{"product_id", "timestamp", <features>}` or raise PoisonMessage saying what is wrong."""
    if not value:
        raise PoisonMessage(BAD_JSON, "empty message")
    try:
        payload = loads_strict(value)
    except (ValueError, RecursionError) as exc:
        raise PoisonMessage(BAD_JSON, f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PoisonMessage(INVALID_MESSAGE, f"expected a JSON object, got {type(payload).__name__}")
    product_id = payload.get("product_id")
    if not isinstance(product_id, str) or not product_id:
        raise PoisonMessage(INVALID_MESSAGE, "product_id: missing or not a string")
    timestamp = payload.get("timestamp")
    try:
        if not isinstance(timestamp, str):
            raise FeatureError(f"timestamp: missing or not ISO-8601 text ({timestamp!r})")
        parse_timestamp_us(timestamp)
        features = validate_feature_row(payload)
    except FeatureError as exc:
        raise PoisonMessage(INVALID_MESSAGE, str(exc)) from None
    except (OverflowError, TypeError, ValueError) as exc:  # anything else a bad message can provoke
        raise PoisonMessage(INVALID_MESSAGE, f"invalid message ({exc})") from None
    return FeatureMessage(product_id=product_id, timestamp=timestamp, features=features)


def message_time_seconds(record: ConsumerRecord, decoded: FeatureMessage | None) -> float | None:
    """When the message entered the pipeline: the record's Kafka timestamp, else its `timestamp` field."""
    if record.timestamp is not None and record.timestamp >= 0:
        return float(record.timestamp) / 1000.0
    if decoded is not None:
        return parse_timestamp_us(decoded.timestamp) / 1_000_000
    return None


class Outgoing(NamedTuple):
    """One message to publish (a named tuple for the same reason)."""

    topic: str
    key: str | None
    value: bytes


@dataclass
class BatchOutcome:
    """What one batch did (returned for tests and logs; the metrics say the same)."""

    records: int = 0
    predictions: int = 0
    poison: dict[str, int] = field(default_factory=dict)
    published: bool = False
    committed: bool = False
    publish_attempts: int = 0


class KafkaConsumerLike(Protocol):
    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]: ...
    def commit(self, offsets: Any = None, timeout_ms: int | None = None) -> Any: ...
    def assignment(self) -> set[TopicPartition]: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def position(self, partition: TopicPartition, timeout_ms: int | None = None) -> int | None: ...


class KafkaProducerLike(Protocol):
    def send(self, topic: str, value: Any = None, key: Any = None) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...


class PredictionConsumer:
    """The consume → predict → publish → commit loop; Kafka clients are passed in (see `main`)."""

    def __init__(
        self,
        settings: Settings,
        model: Model,
        metrics: ConsumerMetrics,
        consumer: KafkaConsumerLike,
        producer: KafkaProducerLike,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.model = model
        self.metrics = metrics
        self.consumer = consumer
        self.producer = producer
        self.clock = clock
        self.rate = SlidingWindowRate(settings.consumer_rate_window_seconds)
        metrics.set_model(model.variant, model.version)

    def run(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set; the batch in hand is always finished first."""
        backoff = 0.5
        while not stop.is_set():
            try:
                polled = self.consumer.poll(
                    timeout_ms=self.settings.consumer_poll_timeout_ms,
                    max_records=self.settings.consumer_batch_size,
                )
            except KafkaError as exc:
                self.metrics.errors.labels(error_type=POLL_FAILED).inc()
                log.warning("poll failed (%s); retrying in %.1fs", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
                continue
            backoff = 0.5
            records = [record for partition_records in polled.values() for record in partition_records]
            if records:
                self.process(records, stop)
            else:
                self._idle()
            self.metrics.processing_rate.set(self.rate.rate())

    def process(self, records: Sequence[ConsumerRecord], stop: threading.Event | None = None) -> BatchOutcome:
        """Predict, publish (until acknowledged) and commit one batch."""
        started = time.perf_counter()
        outcome = BatchOutcome(records=len(records))
        outgoing, decoded_times, scores = self._build(records, outcome)
        oldest = min(decoded_times) if decoded_times else None
        outcome.published = self._publish(outgoing, stop or threading.Event(), outcome, oldest)
        if not outcome.published:
            log.warning("shutting down with %d unacknowledged messages; not committing", len(records))
            return outcome
        outcome.committed = self._commit(records)
        elapsed = time.perf_counter() - started
        m = self.metrics
        m.processing.observe(elapsed)
        m.messages_processed.inc(len(records))
        m.predictions_made.inc(outcome.predictions)
        for error_type, count in outcome.poison.items():
            m.errors.labels(error_type=error_type).inc(count)
        for score in scores:
            m.probability.observe(score)
        if oldest is not None:
            m.lag.set(max(0.0, self.clock() - oldest))
        self.rate.add(len(records))
        return outcome

    def _build(
        self, records: Sequence[ConsumerRecord], outcome: BatchOutcome
    ) -> tuple[list[Outgoing], list[float], list[float]]:
        """Decode, validate and score; returns the messages to publish, message times and scores."""
        valid: list[tuple[ConsumerRecord, FeatureMessage]] = []
        outgoing: list[Outgoing] = []
        times: list[float] = []
        for record in records:
            decoded: FeatureMessage | None = None
            try:
                decoded = decode_feature_message(record.value)
                valid.append((record, decoded))
            except PoisonMessage as exc:
                outgoing.append(self._dead_letter(record, exc.error_type, str(exc), outcome))
            moment = message_time_seconds(record, decoded)
            if moment is not None:
                times.append(moment)
        scored = self._score(valid, outgoing, outcome)
        threshold = self.model.threshold
        scores: list[float] = []
        for (_record, message), score in scored:
            prediction = {
                "product_id": message.product_id,
                "timestamp": message.timestamp,
                "score": score,
                "prediction": int(score >= threshold),
                "model_variant": self.model.variant,
                "model_version": self.model.version,
            }
            # orjson writes NaN as null; safe here because _score only returns finite scores.
            outgoing.append(Outgoing(self.settings.output_topic, message.product_id, orjson.dumps(prediction)))
            scores.append(score)
        outcome.predictions = len(scores)
        return outgoing, times, scores

    def _score(
        self,
        valid: list[tuple[ConsumerRecord, FeatureMessage]],
        outgoing: list[Outgoing],
        outcome: BatchOutcome,
    ) -> list[tuple[tuple[ConsumerRecord, FeatureMessage], float]]:
        """One model call for the batch; if it fails, row by row so one bad row cannot block the rest."""
        if not valid:
            return []
        try:
            scores = [float(s) for s in self.model.predict_proba([m.features for _, m in valid])]
            if len(scores) == len(valid) and all(math.isfinite(s) for s in scores):
                return list(zip(valid, scores, strict=True))
            raise ValueError("model returned missing or non-finite scores")
        except Exception as exc:  # the model is third-party code; isolate the culprit instead of crash-looping
            log.warning("batch prediction failed (%s); scoring row by row", exc)
        scored = []
        for item in valid:
            try:
                score = float(self.model.predict_proba([item[1].features])[0])
                if not math.isfinite(score):
                    raise ValueError(f"non-finite score {score}")
                scored.append((item, score))
            except Exception as exc:
                outgoing.append(self._dead_letter(item[0], MODEL_ERROR, f"{type(exc).__name__}: {exc}", outcome))
        return scored

    def _dead_letter(self, record: ConsumerRecord, error_type: str, error: str, outcome: BatchOutcome) -> Outgoing:
        log.warning(
            "poison message %s/%d@%d (%s): %s",
            record.topic,
            record.partition,
            record.offset,
            error_type,
            error,
        )
        outcome.poison[error_type] = outcome.poison.get(error_type, 0) + 1
        key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else None
        return Outgoing(self.settings.dlq_topic, key, encode_json(dlq_envelope(record, error_type, error)))

    def _publish(
        self, outgoing: list[Outgoing], stop: threading.Event, outcome: BatchOutcome, oldest: float | None = None
    ) -> bool:
        """Send until every message is acknowledged; False only when asked to stop and the grace ran out.

        While a batch is held, its messages grow stale: the lag keeps counting from `oldest` (the batch's oldest
        message time) at every retry, so an output outage burns the freshness SLO instead of freezing the gauge.
        """
        pending = outgoing
        backoff = 0.5
        give_up_at: float | None = None
        while pending:
            outcome.publish_attempts += 1
            sent: list[tuple[Outgoing, Any]] = []
            for message in pending:
                try:
                    sent.append((message, self.producer.send(message.topic, value=message.value, key=message.key)))
                except KafkaError as exc:  # metadata unavailable within max_block_ms: the broker is away
                    log.debug("send failed: %s", exc)
                    sent.append((message, None))
            with contextlib.suppress(KafkaError):
                self.producer.flush(timeout=self.settings.kafka_publish_timeout_seconds)
            pending = [m for m, future in sent if future is None or not future.is_done or future.failed()]
            if not pending:
                return True
            self.metrics.errors.labels(error_type=PUBLISH_FAILED).inc()
            if oldest is not None:
                self.metrics.lag.set(max(0.0, self.clock() - oldest))
            now = time.monotonic()
            if stop.is_set():
                give_up_at = give_up_at or now + self.settings.consumer_shutdown_grace_seconds
                if now >= give_up_at:
                    return False
            log.warning("%d of %d messages not acknowledged; retrying in %.1fs", len(pending), len(sent), backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
        return True

    def _commit(self, records: Sequence[ConsumerRecord]) -> bool:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            next_offset = record.offset + 1
            if partition not in offsets or offsets[partition].offset < next_offset:
                offsets[partition] = OffsetAndMetadata(next_offset, "", -1)
        try:
            self.consumer.commit(offsets, timeout_ms=self.settings.kafka_request_timeout_ms)
            return True
        except KafkaError as exc:
            # Output is already acknowledged; the batch will be replayed after a rebalance (duplicates only).
            self.metrics.errors.labels(error_type=COMMIT_FAILED).inc()
            log.warning("commit failed (%s); the batch may be redelivered", exc)
            return False

    def _idle(self) -> None:
        """An empty poll: when every assigned partition is read to its end, nothing is waiting (lag 0)."""
        try:
            partitions = self.consumer.assignment()
            if not partitions:
                return
            for partition in partitions:
                highwater = self.consumer.highwater(partition)
                position = self.consumer.position(partition, timeout_ms=0)
                if highwater is None or position is None or position < highwater:
                    return
        except KafkaError:
            return
        self.metrics.lag.set(0)


# ---------------------------------------------------------------------------------------------------------
# Process entry point


def _retry(what: str, build: Callable[[], Any], stop: threading.Event, interval: float = 2.0) -> Any | None:
    """Call `build` until it succeeds or `stop` is set: a missing broker or model is waited for, not fatal."""
    while not stop.is_set():
        try:
            return build()
        except (KafkaError, ModelLoadError, OSError) as exc:
            log.warning("%s unavailable (%s); retrying in %.0fs", what, exc, interval)
            stop.wait(interval)
    return None


def serve(settings: Settings, stop: threading.Event, registry: CollectorRegistry = REGISTRY) -> int:
    """Run the consumer until `stop`: metrics server first, then model, Kafka clients and the loop."""
    metrics = consumer_metrics(registry)
    server, _thread = start_http_server(
        settings.metrics_port, addr=settings.metrics_host, registry=exposition_registry(registry)
    )
    log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
    consumer = producer = None
    try:
        model = _retry("model", lambda: load_model(settings.model_variant), stop, interval=10.0)
        consumer = _retry("kafka consumer", lambda: make_consumer(settings), stop)
        producer = _retry(
            "kafka producer",
            lambda: make_producer(
                settings.kafka_bootstrap_servers,
                client_id="volatility-predictor",
                request_timeout_ms=settings.kafka_request_timeout_ms,
                max_block_ms=int(settings.kafka_publish_timeout_seconds * 1000),
                reconnect_backoff_max_ms=settings.kafka_reconnect_backoff_max_ms,
            ),
            stop,
        )
        if model is None or consumer is None or producer is None:
            return 0
        log.info(
            "consuming %s as group %s -> %s (dlq %s), model %s/%s",
            settings.input_topic,
            settings.consumer_group,
            settings.output_topic,
            settings.dlq_topic,
            model.variant,
            model.version,
        )
        PredictionConsumer(settings, model, metrics, consumer, producer).run(stop)
        return 0
    finally:
        if producer is not None:
            try:
                producer.close(timeout=5)
            except KafkaError as exc:  # kafka-python's close raises while batches are still undelivered
                log.warning("producer closed with undelivered predictions (%s); their inputs stay uncommitted", exc)
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False)
        server.shutdown()
        log.info("consumer stopped")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.consumer", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # its reconnect chatter repeats what we log once
    settings = Settings.from_env()
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current batch, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return serve(settings, stop)


if __name__ == "__main__":
    raise SystemExit(main())
