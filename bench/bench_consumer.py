"""Consumer msg/s through a real broker vs a raw consume→produce loop, same run (``python -m bench bench_consumer``).

The issue's goals: the prediction consumer sustains ≥ 5,000 msg/s end to end through the broker, and ≥ 0.7× a raw
kafka-python consume→produce loop with no model.

How:
- one Tansu broker (stack.broker, memory storage) on a free port; MESSAGES feature messages (real rows
  from the simulator, cycled with distinct timestamps) are produced to one input topic (1 partition) before any
  timing;
- each run starts a process on that topic with a fresh consumer group (reads from the earliest offset) and a fresh
  output topic: `python -m services.consumer` (MODEL_VARIANT=baseline) or `python -m bench.raw_relay` (same
  clients, batch size and commits, no model — see that module); same environment for both;
- throughput = (MESSAGES - 1) / (CreateTime of the last output record - CreateTime of the first), the timestamps
  the process itself stamped on its output at send time: start-up and Tansu's group-join delay (one
  max.poll.interval) are excluded, and the bench's own polling cannot blur the timing;
- REPEATS repetitions alternating consumer and relay; the best of each side is reported (noise only slows down)
  with the medians beside it, plus the process's CPU time per message (from /proc): the figure that does not
  depend on what else the 2-core machine is doing.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from bench.support import BenchError, Process, machine_note
from services.kafka_io import encode_json, ensure_topics, make_producer
from services.ml.features import FEATURE_COLUMNS, WARMUP_SECONDS, format_timestamp
from stack.broker import LocalBroker, start_broker
from stack.ports import free_port

MESSAGES = 50_000
BATCH_SIZE = 500  # services.settings's default CONSUMER_BATCH_SIZE, for both sides
REPEATS = 3
RUN_TIMEOUT_SECONDS = 120.0
INPUT_TOPIC = "bench.features"
GOAL_RATE = 5_000.0
GOAL_RATIO = 0.7
SIDES = ("raw relay (no model)", "services.consumer, baseline")
_MODULES = {SIDES[0]: "bench.raw_relay", SIDES[1]: "services.consumer"}  # label -> `python -m` module


@dataclass
class Run:
    """One process draining the input topic into its own output topic."""

    messages_per_second: float
    cpu_us_per_message: float
    seconds: float


@dataclass
class Side:
    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max(r.messages_per_second for r in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(r.messages_per_second for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu_us_per_message for r in self.runs)


def feature_messages(count: int) -> list[bytes]:
    """`count` consumer-shaped messages: simulator rows (features + product_id) with one timestamp per second."""
    from services.producer import feature_rows

    pool = [
        {"product_id": str(row["product_id"]), **{c: float(row[c]) for c in FEATURE_COLUMNS}}
        for row in list(feature_rows(seed=7, seconds=WARMUP_SECONDS + 900))[WARMUP_SECONDS:]
    ]
    if not pool:
        raise BenchError("the simulator produced no feature rows")
    start = 1_767_225_600  # 2026-01-01T00:00:00Z
    return [encode_json({**pool[i % len(pool)], "timestamp": format_timestamp(start + i)}) for i in range(count)]


def preload(bootstrap: str, messages: list[bytes]) -> None:
    producer = make_producer(bootstrap, client_id="bench-preload", max_block_ms=30_000, linger_ms=20)
    try:
        futures = [producer.send(INPUT_TOPIC, value=m, key="BTC-USD") for m in messages]
        producer.flush(timeout=120)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(timeout=5)


def _env(bootstrap: str, output_topic: str, group: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INPUT_TOPIC": INPUT_TOPIC,
        "OUTPUT_TOPIC": output_topic,
        "DLQ_TOPIC": f"{output_topic}.dlq",
        "CONSUMER_GROUP": group,
        "CONSUMER_BATCH_SIZE": str(BATCH_SIZE),
        # Tansu admits a group member only after the rebalance timeout (= max.poll.interval): keep it short.
        "KAFKA_MAX_POLL_INTERVAL_MS": "3000",
        "KAFKA_SESSION_TIMEOUT_MS": "3000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "KAFKA_REQUEST_TIMEOUT_MS": "10000",
        "CONSUMER_POLL_TIMEOUT_MS": "200",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(free_port()),
        "MODEL_VARIANT": "baseline",
    }


class Progress:
    """How far a run got (its group's committed input offset) and single records of its output topic.

    Tansu reports a partition's end offset as the first offset of its last record batch, not one past the last
    record, so completion is read from the committed offset: the consumer and the relay commit a batch only once
    its output is acknowledged. No group membership: the output partition is assigned, nothing is committed.
    """

    def __init__(self, bootstrap: str, group: str, output_topic: str) -> None:
        self.input = TopicPartition(INPUT_TOPIC, 0)
        self.output = TopicPartition(output_topic, 0)
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id="bench-progress",
            enable_auto_commit=False,
            auto_offset_reset="none",
            request_timeout_ms=10_000,
        )
        self.consumer.assign([self.output])

    def committed(self) -> int:
        return int(self.consumer.committed(self.input) or 0)

    def record_at(self, offset: int, wait: float = 10.0) -> Any | None:
        """The output record at `offset`, or None when there is none after `wait` seconds."""
        self.consumer.seek(self.output, offset)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=200, max_records=1).values():
                if records:
                    return records[0]
        return None

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def drain(label: str, bootstrap: str, output_topic: str, group: str) -> Run:
    """Run one side until its group committed all MESSAGES; timing from the output records' CreateTime."""
    ensure_topics(bootstrap, [output_topic, f"{output_topic}.dlq"])
    progress = Progress(bootstrap, group, output_topic)
    module = _MODULES[label]
    process = Process(module.rsplit(".", 1)[-1], module, env=_env(bootstrap, output_topic, group))
    try:
        process.start()
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        first_offset = first_cpu = None
        while True:
            if not process.running:
                raise process.fail("exited before draining the input topic")
            done = progress.committed()
            if time.monotonic() > deadline:
                raise process.fail(f"committed {done} of {MESSAGES} after {RUN_TIMEOUT_SECONDS:.0f}s")
            if first_offset is None and done > 0:
                first_offset, first_cpu = done, process.cpu_seconds()
            if done >= MESSAGES:
                end_cpu = process.cpu_seconds()
                break
            time.sleep(0.1)
        process.stop()
        if process.process is not None and process.process.returncode != 0:
            raise process.fail(f"exit code {process.process.returncode} after SIGTERM")
        first, last = progress.record_at(0), progress.record_at(MESSAGES - 1)
        if first is None or last is None:
            raise process.fail(f"{output_topic} lacks the first or the last of {MESSAGES} outputs")
        extra = progress.record_at(MESSAGES, wait=1.0)
        if extra is not None:
            raise process.fail(f"{output_topic} has more than {MESSAGES} records (duplicates): {extra.offset}")
        if label != SIDES[0]:
            answer = json.loads(last.value)
            if not 0.0 <= answer.get("score", -1) <= 1.0 or answer.get("model_variant") != "baseline":
                raise process.fail(f"the last output is not a baseline prediction: {answer!r}")
        seconds = (last.timestamp - first.timestamp) / 1000
        if seconds <= 0:
            raise process.fail(f"absurd timing: first and last output {seconds:.3f}s apart")
        assert first_offset is not None and first_cpu is not None
        cpu_us = (end_cpu - first_cpu) / max(1, MESSAGES - first_offset) * 1e6
        return Run(messages_per_second=(MESSAGES - 1) / seconds, cpu_us_per_message=cpu_us, seconds=seconds)
    finally:
        process.stop()
        process.log_path.unlink(missing_ok=True)
        progress.close()


def crc32c_implementation() -> str:
    """kafka-python checks every fetched batch's CRC32C and computes one per produced batch; without the `crc32c`
    package it does so in pure Python, which dominates both loops' CPU time (see bench/README.md)."""
    from kafka.record import util

    if getattr(util, "crc32c_c", None) is not None:
        return "C extension (`crc32c` package)"
    return "pure Python (`crc32c` package not installed)"


def report(sides: list[Side], preload_seconds: float) -> list[str]:
    raw, consumer = sides
    lines = [
        "| loop | msg/s (best) | msg/s (median) | vs raw (best) | process CPU µs/msg | vs raw (CPU) | drain s (best) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for side in sides:
        lines.append(
            f"| {side.label} | {side.best:,.0f} | {side.median:,.0f} | {side.best / raw.best:.2f}x "
            f"| {side.cpu:.0f} | {raw.cpu / side.cpu:.2f}x | {MESSAGES / side.best:.2f} |"
        )
    ratio = consumer.best / raw.best
    lines += [
        "",
        f"- consumer: {consumer.best:,.0f} msg/s (goal ≥ {GOAL_RATE:,.0f}: "
        f"{'met' if consumer.best >= GOAL_RATE else 'NOT met'}); {ratio:.2f}x the raw loop "
        f"(goal ≥ {GOAL_RATIO}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'})",
        f"- {MESSAGES:,} messages of {BATCH_SIZE} per poll, 1 partition, Tansu memory storage, {REPEATS} alternating "
        f"repetitions; pre-load {preload_seconds:.1f} s (not timed); {machine_note()}",
        f"- kafka-python CRC32C: {crc32c_implementation()}",
    ]
    return lines


def run() -> list[str]:
    messages = feature_messages(MESSAGES)
    broker: LocalBroker = start_broker(topics=[INPUT_TOPIC])
    try:
        started = time.perf_counter()
        preload(broker.bootstrap_servers, messages)
        preload_seconds = time.perf_counter() - started
        sides = [Side(label) for label in SIDES]
        for rep in range(REPEATS):
            for index, side in enumerate(sides):
                topic = f"bench.out.{index}.{rep}"
                side.runs.append(drain(side.label, broker.bootstrap_servers, topic, f"bench-{index}-{rep}"))
    finally:
        broker.stop()
        if broker.log_path is not None:
            broker.log_path.unlink(missing_ok=True)
    return report(sides, preload_seconds)


if __name__ == "__main__":
    print("\n".join(run()))
