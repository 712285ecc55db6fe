"""Service configuration from environment variables, with the defaults documented in one table.

Every knob the API, the consumer and the producer read is here, parsed once into a frozen `Settings`, so a
typo'd value fails at start with the variable's name instead of surfacing as a strange runtime error.

| variable | default | used by |
|---|---|---|
| KAFKA_BOOTSTRAP_SERVERS | localhost:9092 | consumer, producer |
| INPUT_TOPIC | ticks.features | consumer, producer |
| OUTPUT_TOPIC | ticks.predictions | consumer |
| DLQ_TOPIC | ticks.features.dlq | consumer |
| CONSUMER_GROUP | volatility-predictor | consumer |
| CONSUMER_BATCH_SIZE | 500 (records per poll) | consumer |
| CONSUMER_POLL_TIMEOUT_MS | 500 | consumer |
| CONSUMER_RATE_WINDOW_SECONDS | 30 (processing-rate sliding window) | consumer |
| CONSUMER_SHUTDOWN_GRACE_SECONDS | 10 (SIGTERM: time to finish the batch) | consumer |
| KAFKA_MAX_POLL_INTERVAL_MS | 300000 (tests: a few seconds, see DESIGN §6) | consumer |
| KAFKA_SESSION_TIMEOUT_MS | 10000 | consumer |
| KAFKA_HEARTBEAT_INTERVAL_MS | 3000 | consumer |
| KAFKA_REQUEST_TIMEOUT_MS | 30000 | consumer, producer |
| KAFKA_RECONNECT_BACKOFF_MAX_MS | 5000 | consumer, producer |
| KAFKA_PUBLISH_TIMEOUT_SECONDS | 10 (wait for one batch's acks before retrying) | consumer |
| API_HOST / API_PORT | 127.0.0.1 / 8000 (set API_HOST=0.0.0.0 to serve other hosts, as compose does) | API |
| API_WORKERS | 1 (>1 turns on prometheus multiprocess mode) | API |
| API_MAX_CONNECTIONS | 1000 (per worker; lowered to the open-file limit - 64; see docs/runbook.md) | API |
| API_HEADER_TIMEOUT_SECONDS | 10 (connect or first byte to complete request head, else 408) | API |
| API_BODY_TIMEOUT_SECONDS | 10 (longest pause while a request body is being sent, else 408) | API |
| API_KEEPALIVE_TIMEOUT_SECONDS | 5 (an idle keep-alive connection is closed after this) | API |
| API_MAX_HEADER_BYTES | 32768 (request line + headers, else 431) | API |
| METRICS_HOST / METRICS_PORT | 127.0.0.1 / 8001 (METRICS_HOST=0.0.0.0 to be scraped from elsewhere) | consumer |
| MODEL_VARIANT | ml (`baseline` is the rollback) | API, consumer |
| MODEL_RELOAD_INTERVAL_SECONDS | 30 (retry a model that failed to load; 0 = never) | API |
| PREDICT_MAX_ROWS | 1000 | API |
| PREDICT_MAX_BODY_BYTES | 1048576 | API |
| FAULT_INJECTION_ENABLED | 0 (off) | API |
| FAULT_ERROR_RATE | 0 (share of /predict answered 500; needs FAULT_INJECTION_ENABLED=1) | API |
| FAULT_LATENCY_SECONDS | 0 (delay added to /predict; needs FAULT_INJECTION_ENABLED=1) | API |

`PROMETHEUS_MULTIPROC_DIR` is read by prometheus_client itself (see services.metrics).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

DEFAULT_BOOTSTRAP = "localhost:9092"
DEFAULT_INPUT_TOPIC = "ticks.features"
DEFAULT_OUTPUT_TOPIC = "ticks.predictions"
DEFAULT_DLQ_TOPIC = "ticks.features.dlq"
DEFAULT_CONSUMER_GROUP = "volatility-predictor"
MAX_FAULT_LATENCY_SECONDS = 30.0
LOOPBACK = "127.0.0.1"  # bare processes listen on loopback only unless API_HOST / METRICS_HOST say otherwise
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the services read from the environment (see the module table for meaning and defaults)."""

    kafka_bootstrap_servers: str = DEFAULT_BOOTSTRAP
    input_topic: str = DEFAULT_INPUT_TOPIC
    output_topic: str = DEFAULT_OUTPUT_TOPIC
    dlq_topic: str = DEFAULT_DLQ_TOPIC
    consumer_group: str = DEFAULT_CONSUMER_GROUP
    consumer_batch_size: int = 500
    consumer_poll_timeout_ms: int = 500
    consumer_rate_window_seconds: float = 30.0
    consumer_shutdown_grace_seconds: float = 10.0
    kafka_max_poll_interval_ms: int = 300_000
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_request_timeout_ms: int = 30_000
    kafka_reconnect_backoff_max_ms: int = 5_000
    kafka_publish_timeout_seconds: float = 10.0
    api_host: str = LOOPBACK
    api_port: int = 8000
    api_workers: int = 1
    api_max_connections: int = 1000
    api_header_timeout_seconds: float = 10.0
    api_body_timeout_seconds: float = 10.0
    api_keepalive_timeout_seconds: int = 5
    api_max_header_bytes: int = 32_768
    metrics_host: str = LOOPBACK
    metrics_port: int = 8001
    model_variant: str = "ml"
    model_reload_interval_seconds: float = 30.0
    predict_max_rows: int = 1000
    predict_max_body_bytes: int = 1_048_576
    fault_injection_enabled: bool = False
    fault_error_rate: float = 0.0
    fault_latency_seconds: float = 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse `environ` (default: os.environ); raise ConfigError naming the first bad variable."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        settings = cls(
            kafka_bootstrap_servers=reader.text("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP),
            input_topic=reader.text("INPUT_TOPIC", DEFAULT_INPUT_TOPIC),
            output_topic=reader.text("OUTPUT_TOPIC", DEFAULT_OUTPUT_TOPIC),
            dlq_topic=reader.text("DLQ_TOPIC", DEFAULT_DLQ_TOPIC),
            consumer_group=reader.text("CONSUMER_GROUP", DEFAULT_CONSUMER_GROUP),
            consumer_batch_size=reader.integer("CONSUMER_BATCH_SIZE", 500, minimum=1),
            consumer_poll_timeout_ms=reader.integer("CONSUMER_POLL_TIMEOUT_MS", 500, minimum=1),
            consumer_rate_window_seconds=reader.number("CONSUMER_RATE_WINDOW_SECONDS", 30.0, minimum=1.0),
            consumer_shutdown_grace_seconds=reader.number("CONSUMER_SHUTDOWN_GRACE_SECONDS", 10.0),
            kafka_max_poll_interval_ms=reader.integer("KAFKA_MAX_POLL_INTERVAL_MS", 300_000, minimum=1000),
            kafka_session_timeout_ms=reader.integer("KAFKA_SESSION_TIMEOUT_MS", 10_000, minimum=1000),
            kafka_heartbeat_interval_ms=reader.integer("KAFKA_HEARTBEAT_INTERVAL_MS", 3_000, minimum=100),
            kafka_request_timeout_ms=reader.integer("KAFKA_REQUEST_TIMEOUT_MS", 30_000, minimum=1000),
            kafka_reconnect_backoff_max_ms=reader.integer("KAFKA_RECONNECT_BACKOFF_MAX_MS", 5_000, minimum=50),
            kafka_publish_timeout_seconds=reader.number("KAFKA_PUBLISH_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            api_host=reader.text("API_HOST", LOOPBACK),
            api_port=reader.port("API_PORT", 8000),
            api_workers=reader.integer("API_WORKERS", 1, minimum=1),
            api_max_connections=reader.integer("API_MAX_CONNECTIONS", 1000, minimum=2),
            api_header_timeout_seconds=reader.number("API_HEADER_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            api_body_timeout_seconds=reader.number("API_BODY_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            api_keepalive_timeout_seconds=reader.integer("API_KEEPALIVE_TIMEOUT_SECONDS", 5, minimum=1),
            api_max_header_bytes=reader.integer("API_MAX_HEADER_BYTES", 32_768, minimum=1024),
            metrics_host=reader.text("METRICS_HOST", LOOPBACK),
            metrics_port=reader.port("METRICS_PORT", 8001),
            model_variant=reader.choice("MODEL_VARIANT", "ml", ("ml", "baseline")),
            model_reload_interval_seconds=reader.number("MODEL_RELOAD_INTERVAL_SECONDS", 30.0),
            predict_max_rows=reader.integer("PREDICT_MAX_ROWS", 1000, minimum=1),
            predict_max_body_bytes=reader.integer("PREDICT_MAX_BODY_BYTES", 1_048_576, minimum=1024),
            fault_injection_enabled=reader.flag("FAULT_INJECTION_ENABLED", False),
            fault_error_rate=reader.number("FAULT_ERROR_RATE", 0.0, maximum=1.0),
            fault_latency_seconds=reader.number("FAULT_LATENCY_SECONDS", 0.0, maximum=MAX_FAULT_LATENCY_SECONDS),
        )
        if not settings.fault_injection_enabled:
            for name, value in (
                ("FAULT_ERROR_RATE", settings.fault_error_rate),
                ("FAULT_LATENCY_SECONDS", settings.fault_latency_seconds),
            ):
                if value:
                    raise ConfigError(
                        f"{name}={value} is refused: fault injection is off; set FAULT_INJECTION_ENABLED=1"
                        " (never in production) to inject faults"
                    )
        return settings


class _Reader:
    """Typed access to an environment mapping; blank values mean "use the default"."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def _parse(self, name: str, default: T, convert: Callable[[str], T], what: str) -> T:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            return convert(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r}: expected {what}") from exc

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        value = self._parse(name, default, int, "an integer")
        if value < minimum:
            raise ConfigError(f"{name}={value}: must be at least {minimum}")
        return value

    def port(self, name: str, default: int) -> int:
        value = self.integer(name, default, minimum=0)
        if value > 65535:
            raise ConfigError(f"{name}={value}: not a TCP port (0-65535)")
        return value

    def number(self, name: str, default: float, minimum: float = 0.0, maximum: float = math.inf) -> float:
        value = self._parse(name, default, float, "a number")
        if not math.isfinite(value):
            raise ConfigError(f"{name}={value}: must be a finite number")
        if not minimum <= value <= maximum:
            bound = f"between {minimum} and {maximum}" if maximum != math.inf else f"at least {minimum}"
            raise ConfigError(f"{name}={value}: must be {bound}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = (self._raw(name) or default).lower()
        if value not in choices:
            raise ConfigError(f"{name}={value!r}: expected one of {', '.join(choices)}")
        return value
