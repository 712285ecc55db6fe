"""Consumer throughput with 1, 2 and 3 processes in one group on a 6-partition topic
(``python -m bench bench_consumer_scaleout``).

The question: does adding `python -m services.consumer` processes to the group add throughput? On this 2-core
machine it can only up to the cores (and the broker, Tansu, shares them), so the CPU each message costs is
reported too: messages per CPU-second is what one more core would add.

How:
- one Tansu broker (memory storage); MESSAGES feature messages (real simulator rows) keyed by 12 product ids, two
  per partition under the producers' key hash, so the 6 partitions hold equal shares; produced before any timing;
- for N in 1, 2, 3: N consumer processes (MODEL_VARIANT=baseline, batch 500) start together on a fresh group and a
  fresh 6-partition output topic. Tansu completes a join only after one rebalance timeout (max.poll.interval,
  5 s here), so processes started together join one generation; the rebalances each process logged are counted
  and shown (1 each means no rebalance disturbed the run);
- throughput is read off the group's committed offsets (a batch is committed once its predictions are
  acknowledged), polled every 50 ms: messages between 20 % and 80 % of the input over the time between, so
  start-up, the group join and the tail where a process runs out of partitions are excluded; CPU per message is
  the processes' user + system time over the same window (from /proc).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from bench.bench_consumer import feature_messages
from bench.support import BenchError, Process, machine_note, wait_http_ok
from services.kafka_io import ensure_topics, make_producer
from stack.broker import LocalBroker, start_broker
from stack.ports import free_port

MESSAGES = 90_000
PARTITIONS = 6
PRODUCTS_PER_PARTITION = 2
PROCESS_COUNTS = (1, 2, 3)
WINDOW = (0.2, 0.8)  # share of the input: the timed middle of the drain
RUN_TIMEOUT_SECONDS = 90.0
INPUT_TOPIC = "bench.scaleout.features"


@dataclass
class Result:
    processes: int
    messages_per_second: float
    cpu_us_per_message: float  # all consumer processes together
    rebalances: list[int]  # assignments each process logged


def products() -> list[str]:
    """PRODUCTS_PER_PARTITION product ids per partition under kafka-python's default partitioner."""
    found: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    i = 0
    while any(len(v) < PRODUCTS_PER_PARTITION for v in found.values()):
        product = f"P{i}-USD"
        partition = (murmur2(product.encode()) & 0x7FFFFFFF) % PARTITIONS
        if len(found[partition]) < PRODUCTS_PER_PARTITION:
            found[partition].append(product)
        i += 1
    return [p for ps in found.values() for p in ps]


def preload(bootstrap: str) -> None:
    """MESSAGES messages, round-robin over the products (payload product_id = key, as the producer does)."""
    ids = products()
    producer = make_producer(bootstrap, client_id="bench-preload", max_block_ms=30_000, linger_ms=20)
    try:
        futures = []
        for i, raw in enumerate(feature_messages(MESSAGES)):
            product = ids[i % len(ids)]
            value = json.dumps({**json.loads(raw), "product_id": product}, separators=(",", ":")).encode()
            futures.append(producer.send(INPUT_TOPIC, value=value, key=product))
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
        "KAFKA_MAX_POLL_INTERVAL_MS": "5000",  # Tansu's join window: every process started together gets in
        "KAFKA_SESSION_TIMEOUT_MS": "5000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "KAFKA_REQUEST_TIMEOUT_MS": "10000",
        "CONSUMER_POLL_TIMEOUT_MS": "200",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(free_port()),
        "MODEL_VARIANT": "baseline",
    }


def committed(reader: KafkaConsumer) -> int:
    return sum(int(reader.committed(TopicPartition(INPUT_TOPIC, p)) or 0) for p in range(PARTITIONS))


def drain(bootstrap: str, count: int) -> Result:
    """`count` consumer processes drain the input in a fresh group; rate and CPU over the WINDOW of the drain."""
    group, output = f"bench-scaleout-{count}", f"bench.scaleout.out.{count}"
    ensure_topics(bootstrap, [output, f"{output}.dlq"], partitions=PARTITIONS)
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                           client_id="bench-progress", request_timeout_ms=10_000)  # fmt: skip
    processes = [
        Process(f"consumer-{i}", "services.consumer", env=_env(bootstrap, output, group)) for i in range(count)
    ]
    low, high = int(MESSAGES * WINDOW[0]), int(MESSAGES * WINDOW[1])
    try:
        for process in processes:
            process.start()
        for process in processes:
            wait_http_ok(f"http://127.0.0.1:{process.env['METRICS_PORT']}/metrics", process)
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        start: tuple[float, int, float] | None = None
        while True:
            done = committed(reader)
            now = time.monotonic()
            if start is None and done >= low:
                start = (now, done, sum(p.cpu_seconds() for p in processes))
            if done >= high and start is not None:
                cpu = sum(p.cpu_seconds() for p in processes) - start[2]
                seconds, messages = now - start[0], done - start[1]
                break
            for process in processes:
                if not process.running:
                    raise process.fail("exited before draining the input topic")
            if now > deadline:
                raise BenchError(f"{count} consumers committed {done} of {MESSAGES} in {RUN_TIMEOUT_SECONDS:.0f}s")
            time.sleep(0.05)
        if seconds <= 0 or messages <= 0:
            raise BenchError(f"absurd window: {messages} messages in {seconds:.3f}s")
        for process in processes:
            process.stop()
        rebalances = [p.log_path.read_text(errors="replace").count("partitions assigned") for p in processes]
        return Result(count, messages / seconds, cpu / messages * 1e6, rebalances)
    finally:
        for process in processes:
            process.stop()
            process.log_path.unlink(missing_ok=True)
        reader.close(autocommit=False)


def report(results: list[Result], preload_seconds: float) -> list[str]:
    one = results[0]
    lines = [
        "| consumer processes | msg/s | vs 1 process | CPU µs/msg (all processes) | msg per CPU-second | assignments |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.processes} | {r.messages_per_second:,.0f} | {r.messages_per_second / one.messages_per_second:.2f}x "
            f"| {r.cpu_us_per_message:.0f} | {1e6 / r.cpu_us_per_message:,.0f} | {r.rebalances} |"
        )
    lines += [
        "",
        f"- {MESSAGES:,} messages, {PARTITIONS} partitions, {PARTITIONS * PRODUCTS_PER_PARTITION} product keys, "
        f"batch 500, Tansu memory storage; rate over {WINDOW[0]:.0%}-{WINDOW[1]:.0%} of the drain; pre-load "
        f"{preload_seconds:.1f} s (not timed); {machine_note()}",
        "- msg per CPU-second is what each added core would add while the broker keeps up: N processes on N free "
        "cores would approach N times it",
    ]
    return lines


def run() -> list[str]:
    broker: LocalBroker = start_broker(topics=[INPUT_TOPIC], partitions=PARTITIONS)
    try:
        started = time.perf_counter()
        preload(broker.bootstrap_servers)
        preload_seconds = time.perf_counter() - started
        results = [drain(broker.bootstrap_servers, count) for count in PROCESS_COUNTS]
    finally:
        broker.stop()
        if broker.log_path is not None:
            broker.log_path.unlink(missing_ok=True)
    return report(results, preload_seconds)


if __name__ == "__main__":
    print("\n".join(run()))
