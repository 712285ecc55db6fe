"""Every setting of every service process, and the only module that reads the environment.

Each setting is one dataclass field: its environment variable, default, bounds, who reads it and what it means are
written there once. `Settings.from_env()` parses them all into a frozen `Settings`, so a typo'd value fails at
start with the variable's name instead of surfacing as a strange runtime error; `settings_table()` renders the
table in README.md ("Settings"), and a test keeps the two equal (`python -m services.settings` prints it).

`PROMETHEUS_MULTIPROC_DIR` is read by prometheus_client itself as well (several API workers); `multiprocess_dir()`
is this package's reading of it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

MAX_FAULT_LATENCY_SECONDS = 30.0
LOOPBACK = "127.0.0.1"  # bare processes listen on loopback only unless API_HOST / METRICS_HOST say otherwise
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_SPEC = "setting"


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Spec:
    """How one field is read: variable name, bounds, readers and meaning (a README table row)."""

    env: str
    used_by: str
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


def _setting(
    env: str,
    default: Any,
    used_by: str,
    doc: str = "",
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """A Settings field: `default`, read from `env` with the parser its type implies (see `_parse`)."""
    return field(default=default, metadata={_SPEC: Spec(env, used_by, doc, minimum, maximum, choices)})


@dataclass(frozen=True)
class Settings:
    """Everything the services read from the environment; `from_env` parses it, the defaults are these."""

    kafka_bootstrap_servers: str = _setting("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092", "consumer, producer")
    input_topic: str = _setting("INPUT_TOPIC", "ticks.features", "consumer, producer")
    output_topic: str = _setting("OUTPUT_TOPIC", "ticks.predictions", "consumer")
    dlq_topic: str = _setting("DLQ_TOPIC", "ticks.features.dlq", "consumer")
    consumer_group: str = _setting(
        "CONSUMER_GROUP", "volatility-predictor", "consumer", "all consumer processes in one group share the partitions"
    )
    topic_partitions: int = _setting(
        "KAFKA_TOPIC_PARTITIONS",
        6,
        "local broker, stack",
        "partitions of each topic the local tools create (compose too): up to that many consumers share the input",
        minimum=1,
    )
    consumer_batch_size: int = _setting("CONSUMER_BATCH_SIZE", 500, "consumer", "records per poll", minimum=1)
    consumer_poll_timeout_ms: int = _setting("CONSUMER_POLL_TIMEOUT_MS", 500, "consumer", minimum=1)
    consumer_rate_window_seconds: float = _setting(
        "CONSUMER_RATE_WINDOW_SECONDS", 30.0, "consumer", "processing-rate sliding window", minimum=1.0
    )
    consumer_shutdown_grace_seconds: float = _setting(
        "CONSUMER_SHUTDOWN_GRACE_SECONDS", 10.0, "consumer", "SIGTERM: time to finish the batch"
    )
    kafka_max_poll_interval_ms: int = _setting(
        "KAFKA_MAX_POLL_INTERVAL_MS",
        300_000,
        "consumer",
        "also the broker's group-join wait: the local stack and tests use 3000",
        minimum=1000,
    )
    kafka_session_timeout_ms: int = _setting("KAFKA_SESSION_TIMEOUT_MS", 10_000, "consumer", minimum=1000)
    kafka_heartbeat_interval_ms: int = _setting("KAFKA_HEARTBEAT_INTERVAL_MS", 3_000, "consumer", minimum=100)
    kafka_request_timeout_ms: int = _setting("KAFKA_REQUEST_TIMEOUT_MS", 30_000, "consumer, producer", minimum=1000)
    kafka_reconnect_backoff_max_ms: int = _setting(
        "KAFKA_RECONNECT_BACKOFF_MAX_MS", 5_000, "consumer, producer", minimum=50
    )
    kafka_publish_timeout_seconds: float = _setting(
        "KAFKA_PUBLISH_TIMEOUT_SECONDS", 10.0, "consumer", "wait for one batch's acks before retrying", minimum=0.1
    )
    api_host: str = _setting("API_HOST", LOOPBACK, "API", "0.0.0.0 serves other hosts, as compose does")
    api_port: int = _setting("API_PORT", 8000, "API", maximum=65535)
    api_workers: int = _setting("API_WORKERS", 1, "API", ">1 turns on prometheus multiprocess mode", minimum=1)
    api_max_connections: int = _setting(
        "API_MAX_CONNECTIONS",
        1000,
        "API",
        "per worker; lowered to the open-file limit - 64; see docs/runbook.md",
        minimum=2,
    )
    api_header_timeout_seconds: float = _setting(
        "API_HEADER_TIMEOUT_SECONDS",
        10.0,
        "API",
        "connect or first byte to complete request head, else 408",
        minimum=0.1,
    )
    api_body_timeout_seconds: float = _setting(
        "API_BODY_TIMEOUT_SECONDS",
        10.0,
        "API",
        "longest pause while a request body is being sent, else 408",
        minimum=0.1,
    )
    api_keepalive_timeout_seconds: int = _setting(
        "API_KEEPALIVE_TIMEOUT_SECONDS", 5, "API", "an idle keep-alive connection is closed after this", minimum=1
    )
    api_max_header_bytes: int = _setting(
        "API_MAX_HEADER_BYTES", 32_768, "API", "request line + headers, else 431", minimum=1024
    )
    metrics_host: str = _setting("METRICS_HOST", LOOPBACK, "consumer", "0.0.0.0 to be scraped from elsewhere")
    metrics_port: int = _setting("METRICS_PORT", 8001, "consumer", maximum=65535)
    model_variant: str = _setting(
        "MODEL_VARIANT", "ml", "API, consumer", "`baseline` is the rollback", choices=("ml", "baseline")
    )
    model_path: str = _setting(
        "MODEL_PATH",
        ".work/models/ml",
        "API, consumer, training",
        "local artifact of the ml variant (relative to the working directory); used without MLFLOW_TRACKING_URI",
    )
    mlflow_tracking_uri: str = _setting(
        "MLFLOW_TRACKING_URI",
        "",
        "API, consumer, training",
        "set: the ml variant is models:/volatility-spike@champion from it; training's default is a sqlite store"
        " in .work/mlflow",
    )
    model_reload_interval_seconds: float = _setting(
        "MODEL_RELOAD_INTERVAL_SECONDS", 30.0, "API", "retry a model that failed to load; 0 = never"
    )
    predict_max_rows: int = _setting("PREDICT_MAX_ROWS", 1000, "API", minimum=1)
    predict_max_body_bytes: int = _setting("PREDICT_MAX_BODY_BYTES", 1_048_576, "API", minimum=1024)
    fault_injection_enabled: bool = _setting("FAULT_INJECTION_ENABLED", False, "API", "test and demo only")
    fault_error_rate: float = _setting(
        "FAULT_ERROR_RATE", 0.0, "API", "share of /predict answered 500; needs FAULT_INJECTION_ENABLED=1", maximum=1.0
    )
    fault_latency_seconds: float = _setting(
        "FAULT_LATENCY_SECONDS",
        0.0,
        "API",
        "delay added to /predict; needs FAULT_INJECTION_ENABLED=1",
        maximum=MAX_FAULT_LATENCY_SECONDS,
    )
    log_level: str = _setting(
        "LOG_LEVEL",
        "info",
        "API, consumer",
        "`--log-level` overrides",
        choices=("critical", "error", "warning", "info", "debug"),
    )
    coinbase_ws_url: str = _setting(
        "COINBASE_WS_URL", "wss://advanced-trade-ws.coinbase.com", "ticks capture", "tests point it at loopback"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse `environ` (default: os.environ); raise ConfigError naming the first bad variable."""
        env = os.environ if environ is None else environ
        values = {f.name: _parse(env, _spec(f), f.default) for f in fields(cls)}
        settings = cls(**values)
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


def _spec(f: Any) -> Spec:
    spec = f.metadata.get(_SPEC)
    assert isinstance(spec, Spec), f"Settings.{f.name} is not declared with _setting()"
    return spec


def _parse(env: Mapping[str, str], spec: Spec, default: Any) -> Any:
    """The value of `spec.env`, parsed as `default`'s type; blank means "use the default"."""
    raw = (env.get(spec.env) or "").strip()
    name = spec.env
    if not raw:
        return default
    if isinstance(default, bool):
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")
    if isinstance(default, int | float):
        kind, what = (int, "an integer") if isinstance(default, int) else (float, "a number")
        try:
            value: float = kind(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r}: expected {what}") from exc
        if not math.isfinite(value):
            raise ConfigError(f"{name}={value}: must be a finite number")
        low = spec.minimum if spec.minimum is not None else 0
        high = spec.maximum if spec.maximum is not None else math.inf
        if not low <= value <= high:
            if name.endswith("_PORT"):
                raise ConfigError(f"{name}={value}: not a TCP port (0-65535)")
            bound = f"between {low} and {high}" if high != math.inf else f"at least {low}"
            raise ConfigError(f"{name}={value}: must be {bound}")
        return value
    if spec.choices:
        choice = raw.lower()
        if choice not in spec.choices:
            raise ConfigError(f"{name}={choice!r}: expected one of {', '.join(spec.choices)}")
        return choice
    return raw


def multiprocess_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """The prometheus_client multiprocess directory when several workers share metrics, else None."""
    env = os.environ if environ is None else environ
    return env.get(MULTIPROC_ENV) or env.get(MULTIPROC_ENV.lower()) or None


DEFAULTS = Settings()


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1 (on)" if value else "0 (off)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if value != "" else "(unset)"


def settings_table() -> str:
    """The README's settings table (markdown), from the fields: variable, default, used by, meaning."""
    lines = ["| variable | default | used by | meaning |", "|---|---|---|---|"]
    for f in fields(Settings):
        spec = _spec(f)
        lines.append(f"| `{spec.env}` | {_default_text(f.default)} | {spec.used_by} | {spec.doc} |".rstrip())
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(settings_table())
