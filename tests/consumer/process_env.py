"""The environment of a `python -m services.consumer` process under test: short Kafka timeouts (Tansu admits a
group member only after one max poll interval), quick reconnects, the baseline model."""

from __future__ import annotations


def consumer_env(bootstrap: str, metrics_port: int, **extra: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_MAX_POLL_INTERVAL_MS": "3000",
        "KAFKA_SESSION_TIMEOUT_MS": "3000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "KAFKA_REQUEST_TIMEOUT_MS": "5000",
        "KAFKA_RECONNECT_BACKOFF_MAX_MS": "500",
        "KAFKA_PUBLISH_TIMEOUT_SECONDS": "2",
        "CONSUMER_POLL_TIMEOUT_MS": "200",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        "MODEL_VARIANT": "baseline",
        **extra,
    }
