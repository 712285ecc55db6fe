"""The prediction consumer: `ticks.features` in, `ticks.predictions` out, poison to `ticks.features.dlq`.

Run with `python -m services.consumer` (settings from the environment, see services.config); metrics are
served on METRICS_HOST:METRICS_PORT/metrics.

Delivery is at-least-once:
1. poll a batch (at most CONSUMER_BATCH_SIZE records);
2. decode and validate each record; a poison record (anything that cannot be decoded, validated, scored or
   encoded) becomes a DLQ message carrying the error, its original topic/partition/offset and a copy of its
   bytes, capped so the dead letter always fits (services.kafka_io.dlq_record);
3. score the valid records in one model call (row by row if it fails, to isolate the culprit);
4. publish predictions and DLQ messages and wait for the broker's acks, retrying what failed (with backoff)
   for as long as the broker is away: the batch is held in memory, never dropped;
5. only then commit the batch's offsets.
A crash or a lost group membership between 4 and 5 replays the batch: duplicates are possible, loss is not.

No message can crash or stall the loop. The fast path handles the common case; an exception it did not expect
sends the batch through `handle_record`, one record at a time, where any exception dead-letters that record
(`internal_error`). A produce error that retrying cannot cure (`publish_rejected`: a record too large, an invalid
record, an authorization error) is logged at ERROR and counted, then:
- a refused prediction: its input is dead-lettered with the reason (it is not predicted, and not lost);
- a refused dead letter: it is sent again without the copy (source coordinates, size and hash only);
- a refused copy-less dead letter, or any record refused for lack of authorization (the topic refuses everyone, so
  dead-lettering would only move every input to the DLQ): the batch is held and retried with backoff, logged at
  ERROR and counted at every attempt (a misconfigured topic: lag grows and alerts, nothing is lost).
Topic names are checked at start (`check_topics`): a DLQ equal to the input topic would loop poison forever.
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
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import orjson
from kafka.errors import AuthorizationError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from services.config import ConfigError, Settings
from services.consumer_messages import (
    MAX_PRODUCT_ID_CHARS,
    MAX_TIMESTAMP_CHARS,
    FeatureMessage,
    Outgoing,
    PoisonMessage,
    dead_letter,
    dead_letter_error,
    decode_feature_message,
    encode_prediction,
    handle_record,
    message_time_seconds,
    record_location,
)
from services.kafka_io import ConsumerRecord, cap_text, make_consumer, make_producer
from services.metrics import (
    BAD_JSON,
    COMMIT_FAILED,
    INTERNAL_ERROR,
    INVALID_MESSAGE,
    MODEL_ERROR,
    POLL_FAILED,
    PUBLISH_FAILED,
    PUBLISH_REJECTED,
    ConsumerMetrics,
    SlidingWindowRate,
    consumer_metrics,
    exposition_registry,
)
from services.model import Model, ModelLoadError, load_model

log = logging.getLogger("services.consumer")

__all__ = [  # the per-message names and error types are re-exported: callers name them from here
    "BAD_JSON",
    "COMMIT_FAILED",
    "INTERNAL_ERROR",
    "INVALID_MESSAGE",
    "MAX_PRODUCT_ID_CHARS",
    "MAX_TIMESTAMP_CHARS",
    "MODEL_ERROR",
    "POLL_FAILED",
    "PUBLISH_FAILED",
    "PUBLISH_REJECTED",
    "FeatureMessage",
    "Outgoing",
    "PoisonMessage",
    "PredictionConsumer",
    "check_topics",
    "dead_letter",
    "decode_feature_message",
    "encode_prediction",
    "handle_record",
    "main",
    "message_time_seconds",
    "serve",
]

_MAX_BACKOFF_SECONDS = 5.0


@dataclass
class BatchOutcome:
    """What one batch did (returned for tests and logs; the metrics say the same)."""

    records: int = 0
    predictions: int = 0
    poison: dict[str, int] = field(default_factory=dict)
    published: bool = False
    committed: bool = False
    publish_attempts: int = 0
    rejected: int = 0  # predictions the broker refused; their inputs were dead-lettered instead


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
        """Decode, validate, score and encode; returns the messages to publish, message times and scores.

        Never raises: an exception the fast path did not expect sends the batch through `handle_record`.
        """
        try:
            return self._build_batch(records, outcome)
        except Exception:
            log.exception("batch of %d records failed; handling each record on its own", len(records))
            outcome.poison.clear()
            return self._build_each(records, outcome)

    def _build_batch(
        self, records: Sequence[ConsumerRecord], outcome: BatchOutcome
    ) -> tuple[list[Outgoing], list[float], list[float]]:
        """The fast path: one model call for the batch."""
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
        output_topic = self.settings.output_topic
        scores: list[float] = []
        for (record, message), score in scored:
            try:
                value = encode_prediction(message, score, self.model)
            except PoisonMessage as exc:
                outgoing.append(self._dead_letter(record, exc.error_type, str(exc), outcome))
                continue
            outgoing.append(Outgoing(output_topic, message.key, value, record))
            scores.append(score)
        outcome.predictions = len(scores)
        return outgoing, times, scores

    def _build_each(
        self, records: Sequence[ConsumerRecord], outcome: BatchOutcome
    ) -> tuple[list[Outgoing], list[float], list[float]]:
        """The slow path: `handle_record` on each record (it cannot raise)."""
        outgoing: list[Outgoing] = []
        times: list[float] = []
        scores: list[float] = []
        for record in records:
            message = handle_record(record, self.model, self.settings)
            outgoing.append(message)
            if message.poison is not None:
                self._count_poison(message, outcome)
            else:
                with contextlib.suppress(Exception):  # the score was encoded from a finite float: it reads back
                    scores.append(float(orjson.loads(message.value)["score"]))
            with contextlib.suppress(Exception):
                moment = message_time_seconds(record, None)
                if moment is not None:
                    times.append(moment)
        outcome.predictions = sum(1 for m in outgoing if m.poison is None)
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
        message = dead_letter(record, error_type, error, self.settings.dlq_topic)
        self._count_poison(message, outcome, error)
        return message

    @staticmethod
    def _count_poison(message: Outgoing, outcome: BatchOutcome, error: str | None = None) -> None:
        error_type = message.poison or INTERNAL_ERROR
        text = cap_text(dead_letter_error(message) if error is None else error, 300)
        log.warning("poison message %s (%s): %r", record_location(message.source), error_type, text)
        outcome.poison[error_type] = outcome.poison.get(error_type, 0) + 1

    def _publish(
        self, outgoing: list[Outgoing], stop: threading.Event, outcome: BatchOutcome, oldest: float | None = None
    ) -> bool:
        """Send until every message is acknowledged; False only when asked to stop and the grace ran out.

        While a batch is held, its messages grow stale: the lag keeps counting from `oldest` (the batch's oldest
        message time) at every retry, so an output outage burns the freshness SLO instead of freezing the gauge.
        A message the producer or broker refuses for good is replaced (see the module notes), not retried as is.
        """
        pending = outgoing
        backoff = 0.5
        give_up_at: float | None = None
        while pending:
            outcome.publish_attempts += 1
            sent: list[tuple[Outgoing, Any]] = []
            refused: list[tuple[Outgoing, BaseException]] = []
            for message in pending:
                try:
                    sent.append((message, self.producer.send(message.topic, value=message.value, key=message.key)))
                except KafkaError as exc:  # metadata unavailable within max_block_ms (the broker is away), or too large
                    if exc.retriable:
                        log.debug("send failed: %s", exc)
                        sent.append((message, None))
                    else:
                        refused.append((message, exc))
                except Exception as exc:  # the client refused the arguments: sending it again cannot help
                    refused.append((message, exc))
            with contextlib.suppress(KafkaError):
                self.producer.flush(timeout=self.settings.kafka_publish_timeout_seconds)
            retry: list[Outgoing] = []
            for message, future in sent:
                if future is None or not future.is_done:
                    retry.append(message)
                elif future.failed():
                    error = future.exception
                    if isinstance(error, KafkaError) and error.retriable:
                        retry.append(message)
                    else:  # refused for good, or failed in a way nobody said is retriable: never silently retried
                        refused.append((message, error))
            retriable = len(retry)
            transient = retriable
            for message, error in refused:
                replacement = self._refused(message, error, outcome)
                retry.append(replacement)
                if replacement is message:  # nothing smaller to send: wait as for an outage
                    transient += 1
            pending = retry
            if not transient:
                continue  # replacements only: send them now
            if retriable:  # the broker's retriable failures (held records were counted as publish_rejected)
                self.metrics.errors.labels(error_type=PUBLISH_FAILED).inc()
            if oldest is not None:
                self.metrics.lag.set(max(0.0, self.clock() - oldest))
            now = time.monotonic()
            delay = backoff
            if stop.is_set():
                give_up_at = give_up_at or now + self.settings.consumer_shutdown_grace_seconds
                if now >= give_up_at:
                    return False
                delay = min(backoff, give_up_at - now)  # the grace period bounds the shutdown, sleeps included
            log.warning("%d of %d messages not acknowledged; retrying in %.1fs", transient, len(sent), delay)
            if not stop.wait(delay):  # a stop request cuts the wait short (and then the grace period applies)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
        return True

    def _refused(self, message: Outgoing, error: BaseException, outcome: BatchOutcome) -> Outgoing:
        """A non-retriable produce error on `message`: count it, log it at ERROR, return what to send instead."""
        self.metrics.errors.labels(error_type=PUBLISH_REJECTED).inc()
        reason = f"{type(error).__name__}: {error}"
        where = record_location(message.source)
        if isinstance(error, AuthorizationError):  # the topic refuses everyone: hold the batch, do not dead-letter all
            log.error("writing to %r is not authorized (%s); holding the batch and retrying", message.topic, reason)
            return message
        if message.poison is None:
            log.error("the prediction for %s was refused (%s); dead-lettering its input", where, reason)
            outcome.predictions -= 1
            outcome.rejected += 1
            error_text = f"the prediction was refused: {reason}"
            return dead_letter(message.source, PUBLISH_REJECTED, error_text, self.settings.dlq_topic)
        if not message.minimal:
            log.error("the dead letter for %s was refused (%s); sending it without the copy", where, reason)
            error_text = f"{dead_letter_error(message)}; the dead letter with its copy was refused: {reason}"
            return dead_letter(message.source, message.poison, error_text, self.settings.dlq_topic, minimal=True)
        log.error(
            "the dead letter for %s was refused even without its copy (%s); holding the batch and retrying: "
            "check the DLQ topic %r (exists, writable, max.message.bytes)",
            where,
            reason,
            self.settings.dlq_topic,
        )
        return message

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


_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def check_topics(settings: Settings) -> None:
    """Raise ConfigError unless the three topics are distinct, valid Kafka topic names.

    Checked at start because each mistake fails later and worse: a bad output name would dead-letter every input;
    a DLQ equal to the input topic would feed each dead letter back in as poison, forever.
    """
    topics = {
        "INPUT_TOPIC": settings.input_topic,
        "OUTPUT_TOPIC": settings.output_topic,
        "DLQ_TOPIC": settings.dlq_topic,
    }
    for variable, topic in topics.items():
        if not _TOPIC_NAME.fullmatch(topic) or topic in (".", ".."):
            raise ConfigError(f"{variable}={topic!r}: not a Kafka topic name (1-249 of A-Z, a-z, 0-9, '.', '_', '-')")
    if len(set(topics.values())) < len(topics):
        raise ConfigError(f"INPUT_TOPIC, OUTPUT_TOPIC and DLQ_TOPIC must be three different topics: {topics}")


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
    try:
        settings = Settings.from_env()
        check_topics(settings)
    except ConfigError as exc:
        print(f"python -m services.consumer: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current batch, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return serve(settings, stop)


if __name__ == "__main__":
    raise SystemExit(main())
