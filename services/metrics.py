"""Every Prometheus metric of the two services, defined once (DESIGN §4: the names are the SLOs' contract).

Both services import this module; each builds only its own set (`api_metrics`, `consumer_metrics`) against a
registry it is given, so a test can use a fresh `CollectorRegistry` and the consumer's /metrics does not show
API series stuck at zero.

Multiprocess: when `PROMETHEUS_MULTIPROC_DIR` is set (several uvicorn workers), prometheus_client keeps values
in files in that directory and `exposition_registry` collects them from all processes. Gauges then need a rule
for combining processes, chosen per gauge below: health is the minimum over live workers (one worker without
a model makes the service unhealthy), the lag the maximum, the rate the sum; a worker that crashed is dropped
from them at the next scrape (`sweep_dead_processes`). The directory must be emptied before the service starts
(`python -m services.api` does so for a directory it creates).
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

# The latency SLO reads "share of requests slower than 0.8 s" straight off the 0.8 bucket: it must exist.
LATENCY_SLO_SECONDS = 0.8
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, LATENCY_SLO_SECONDS, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
PROBABILITY_BUCKETS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 11))
PROCESSING_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

MODEL_INFO = "volatility_model_info"
PREDICTION_PROBABILITY = "volatility_prediction_probability"

API_METRIC_NAMES: tuple[str, ...] = (
    "volatility_api_requests_total",
    "volatility_api_errors_total",
    "volatility_prediction_latency_seconds",
    "volatility_predictions_total",
    "volatility_api_health_status",
    MODEL_INFO,
    PREDICTION_PROBABILITY,
)
CONSUMER_METRIC_NAMES: tuple[str, ...] = (
    "volatility_consumer_messages_processed_total",
    "volatility_consumer_predictions_made_total",
    "volatility_consumer_lag_seconds",
    "volatility_consumer_processing_seconds",
    "volatility_consumer_processing_rate",
    "volatility_consumer_errors_total",
    MODEL_INFO,
    PREDICTION_PROBABILITY,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The multiprocess directory when prometheus_client runs in multiprocess mode, else None."""
    value = os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())
    return value or None


def _model_info(registry: CollectorRegistry | None) -> Gauge:
    return Gauge(
        MODEL_INFO,
        "Model being served (value 1), so a rollback to MODEL_VARIANT=baseline shows on dashboards.",
        ["variant", "version"],
        registry=registry,
        multiprocess_mode="livemax",
    )


def _probability(registry: CollectorRegistry | None) -> Histogram:
    return Histogram(
        PREDICTION_PROBABILITY,
        "Spike probability per scored row; its shape shifting is an early sign of drift.",
        buckets=PROBABILITY_BUCKETS,
        registry=registry,
    )


def _set_model_info(gauge: Gauge, shown: set[tuple[str, str]], variant: str | None, version: str | None) -> None:
    """One series at 1 for the served model (none when no model is loaded).

    In multiprocess mode prometheus_client cannot remove series, so a replaced model's series drops to 0.
    """
    if multiprocess_dir() is None:
        gauge.clear()
    else:
        for labels in shown:
            gauge.labels(*labels).set(0)
    shown.clear()
    if variant is not None:
        labels = (variant, version or "unknown")
        gauge.labels(*labels).set(1)
        shown.add(labels)


@dataclass(frozen=True)
class ApiMetrics:
    """The prediction API's metrics."""

    requests: Counter
    errors: Counter
    latency: Histogram
    predictions: Counter
    health: Gauge
    model_info: Gauge
    probability: Histogram
    _shown_models: set[tuple[str, str]] = field(default_factory=set)

    def set_model(self, variant: str | None, version: str | None) -> None:
        """Health 1 and model info for a loaded model; health 0 and no info series for `None`."""
        _set_model_info(self.model_info, self._shown_models, variant, version)
        self.health.set(1 if variant is not None else 0)


def api_metrics(registry: CollectorRegistry | None = REGISTRY) -> ApiMetrics:
    """Create (and register in `registry`) the API's metrics; call once per registry."""
    metrics = ApiMetrics(
        requests=Counter(
            "volatility_api_requests_total",
            "HTTP requests served, by route template and numeric status; /metrics itself is not counted.",
            ["method", "endpoint", "status"],
            registry=registry,
        ),
        errors=Counter(
            "volatility_api_errors_total",
            "Failed requests by cause (validation, payload_too_large, model_unavailable, internal, ...).",
            ["endpoint", "error_type"],
            registry=registry,
        ),
        latency=Histogram(
            "volatility_prediction_latency_seconds",
            "Server-side duration of POST /predict, every outcome; 0.8 s is the latency SLO threshold.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        predictions=Counter(
            "volatility_predictions_total",
            "Rows scored by the API, by predicted class (1 = volatility spike).",
            ["prediction"],
            registry=registry,
        ),
        health=Gauge(
            "volatility_api_health_status",
            "1 when a model is loaded and /predict can answer, else 0.",
            registry=registry,
            multiprocess_mode="livemin",
        ),
        model_info=_model_info(registry),
        probability=_probability(registry),
    )
    for label in ("0", "1"):  # both series exist from the start, so ratios and pie charts are never empty
        metrics.predictions.labels(prediction=label)
    # The error and latency SLOs read /predict's counters; an idle API must export them at 0, not nothing,
    # or the SLO's no-data alert fires on a healthy service that simply has had no traffic yet.
    metrics.requests.labels(method="POST", endpoint="/predict", status="200")
    return metrics


@dataclass(frozen=True)
class ConsumerMetrics:
    """The prediction consumer's metrics."""

    messages_processed: Counter
    predictions_made: Counter
    lag: Gauge
    processing: Histogram
    processing_rate: Gauge
    errors: Counter
    model_info: Gauge
    probability: Histogram
    _shown_models: set[tuple[str, str]] = field(default_factory=set)

    def set_model(self, variant: str | None, version: str | None) -> None:
        _set_model_info(self.model_info, self._shown_models, variant, version)


# volatility_consumer_errors_total{error_type}: the label values, each exported at 0 from the start.
BAD_JSON = "bad_json"  # poison: not JSON (or not UTF-8, empty, nested too deep); dead-lettered
INVALID_MESSAGE = "invalid_message"  # poison: JSON, but not a valid feature message; dead-lettered
MODEL_ERROR = "model_error"  # poison: the model failed or returned a non-finite score on it; dead-lettered
INTERNAL_ERROR = "internal_error"  # poison: an unexpected exception while handling it (a bug); dead-lettered
PUBLISH_REJECTED = "publish_rejected"  # a non-retriable produce error (e.g. record too large); see services.consumer
PUBLISH_FAILED = "publish_failed"  # a retriable one (broker away): the batch is retried
COMMIT_FAILED = "commit_failed"
POLL_FAILED = "poll_failed"
CONSUMER_ERROR_TYPES = (
    BAD_JSON, INVALID_MESSAGE, MODEL_ERROR, INTERNAL_ERROR,
    PUBLISH_REJECTED, PUBLISH_FAILED, COMMIT_FAILED, POLL_FAILED,
)  # fmt: skip


def consumer_metrics(registry: CollectorRegistry | None = REGISTRY) -> ConsumerMetrics:
    """Create (and register in `registry`) the consumer's metrics; call once per registry."""
    metrics = ConsumerMetrics(
        messages_processed=Counter(
            "volatility_consumer_messages_processed_total",
            "Input messages handled (predicted or sent to the DLQ) and committed.",
            registry=registry,
        ),
        predictions_made=Counter(
            "volatility_consumer_predictions_made_total",
            "Predictions published to the output topic and acknowledged by the broker.",
            registry=registry,
        ),
        lag=Gauge(
            "volatility_consumer_lag_seconds",
            "Now minus the message time of the oldest record of the last batch (0 when caught up); >= 0.",
            registry=registry,
            multiprocess_mode="livemax",
        ),
        processing=Histogram(
            "volatility_consumer_processing_seconds",
            "Per batch: decode, validate, predict, publish and wait for the broker's acks.",
            buckets=PROCESSING_BUCKETS,
            registry=registry,
        ),
        processing_rate=Gauge(
            "volatility_consumer_processing_rate",
            "Messages processed per second over a sliding window (CONSUMER_RATE_WINDOW_SECONDS).",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        errors=Counter(
            "volatility_consumer_errors_total",
            "Consumer errors by type: poison messages (dead-lettered), refused records and Kafka trouble.",
            ["error_type"],
            registry=registry,
        ),
        model_info=_model_info(registry),
        probability=_probability(registry),
    )
    for error_type in CONSUMER_ERROR_TYPES:  # a healthy consumer shows zeros, not "No data"
        metrics.errors.labels(error_type=error_type)
    return metrics


def exposition_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """The registry to expose: all processes' files in multiprocess mode, else `registry` itself."""
    directory = multiprocess_dir()
    if directory is None:
        return registry
    sweep_dead_processes(directory)
    combined = CollectorRegistry()
    MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return combined


def sweep_dead_processes(directory: str) -> list[int]:
    """Mark workers that died without a clean shutdown (crash, OOM kill) dead; returns their pids.

    A worker's shutdown marks itself dead, but a crashed one cannot: its last health value would stay in the
    minimum over "live" workers forever (and its files pile up across restarts). Every scrape therefore drops the
    live-gauge files of pids that no longer run. The workers share the scraper's pid namespace (one host or
    container), which is what uvicorn's `--workers` gives.
    """
    dead = sorted({pid for pid in _live_gauge_pids(Path(directory)) if not _process_running(pid)})
    for pid in dead:
        mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    return dead


def _live_gauge_pids(directory: Path) -> set[int]:
    pids: set[int] = set()
    for path in directory.glob("gauge_live*_*.db"):
        suffix = path.stem.rsplit("_", 1)[-1]
        if suffix.isdigit():
            pids.add(int(suffix))
    return pids


def _process_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a crashed worker its supervisor has not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: existence is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """Prometheus text exposition of `registry` (multiprocess-aware) and its content type."""
    return generate_latest(exposition_registry(registry)), CONTENT_TYPE_LATEST


class SlidingWindowRate:
    """Events per second over the last `window_seconds`, in one-second buckets (bounded memory).

    Until a full window has passed since creation the rate divides by the time elapsed (at least 1 s), so
    a fresh consumer does not under-report by window/elapsed.
    """

    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not window_seconds > 0:
            raise ValueError("window_seconds must be positive")
        self._window = float(window_seconds)
        self._clock = clock
        self._started = clock()
        self._buckets: deque[list[float]] = deque()  # [second, count]
        self._total = 0.0

    def add(self, count: float) -> None:
        now = self._clock()
        second = math.floor(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        self._total += count
        self._expire(now)

    def rate(self) -> float:
        now = self._clock()
        self._expire(now)
        span = min(self._window, max(1.0, now - self._started))
        return self._total / span

    def _expire(self, now: float) -> None:
        horizon = now - self._window
        while self._buckets and self._buckets[0][0] + 1 <= horizon:
            self._total -= self._buckets.popleft()[1]
        if not self._buckets:
            self._total = 0.0
