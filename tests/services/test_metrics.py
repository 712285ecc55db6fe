"""The metrics module: the contract names, the 0.8 s bucket, fresh registries, the sliding rate, multiprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from services.metrics import (
    LATENCY_BUCKETS,
    SlidingWindowRate,
    api_metrics,
    consumer_metrics,
)

# The metric names the SLOs in slo/ and the dashboards are written against (docs/services.md, "Metrics"):
# written out here on purpose, so renaming one in services/metrics.py fails this test.
CONTRACT_API = {
    "volatility_api_requests_total",
    "volatility_api_errors_total",
    "volatility_prediction_latency_seconds",
    "volatility_predictions_total",
    "volatility_api_health_status",
}
CONTRACT_CONSUMER = {
    "volatility_consumer_messages_processed_total",
    "volatility_consumer_predictions_made_total",
    "volatility_consumer_lag_seconds",
    "volatility_consumer_processing_seconds",
    "volatility_consumer_processing_rate",
    "volatility_consumer_errors_total",
}


def exposed_families(registry: CollectorRegistry) -> set[str]:
    """Family names as Prometheus sees them (counters with their _total)."""
    names = set()
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            names.add(name + "_total" if kind == "counter" and not name.endswith("_total") else name)
    return names


def test_api_exposes_every_contract_metric_and_declares_them() -> None:
    registry = CollectorRegistry()
    metrics = api_metrics(registry)
    metrics.requests.labels(method="POST", endpoint="/predict", status="200").inc()
    metrics.errors.labels(endpoint="/predict", error_type="validation").inc()
    metrics.set_model("baseline", "v1")
    exposed = exposed_families(registry)
    assert exposed >= CONTRACT_API


def test_consumer_exposes_every_contract_metric_and_nothing_of_the_api() -> None:
    registry = CollectorRegistry()
    metrics = consumer_metrics(registry)
    metrics.errors.labels(error_type="bad_json").inc()
    metrics.set_model("ml", "v3")
    exposed = exposed_families(registry)
    assert exposed >= CONTRACT_CONSUMER
    assert not exposed & CONTRACT_API


def test_latency_buckets_include_the_slo_threshold_exactly() -> None:
    assert 0.8 in LATENCY_BUCKETS
    registry = CollectorRegistry()
    api_metrics(registry).latency.observe(0.8)  # le is inclusive: exactly 0.8 s meets the SLO
    assert registry.get_sample_value("volatility_prediction_latency_seconds_bucket", {"le": "0.8"}) == 1
    assert registry.get_sample_value("volatility_prediction_latency_seconds_bucket", {"le": "0.5"}) == 0


def test_fresh_registries_are_independent() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    api_metrics(first).predictions.labels(prediction="1").inc(3)
    api_metrics(second)
    assert first.get_sample_value("volatility_predictions_total", {"prediction": "1"}) == 3
    assert second.get_sample_value("volatility_predictions_total", {"prediction": "1"}) == 0
    with pytest.raises(ValueError, match="Duplicated"):
        api_metrics(first)  # defined once per registry


def test_model_info_shows_exactly_the_served_model() -> None:
    registry = CollectorRegistry()
    metrics = api_metrics(registry)
    metrics.set_model("ml", "volatility-spike/v4")
    metrics.set_model("baseline", "baseline-zscore-v1")  # the rollback
    info = [s for m in registry.collect() if m.name == "volatility_model_info" for s in m.samples]
    assert [(s.labels, s.value) for s in info] == [({"variant": "baseline", "version": "baseline-zscore-v1"}, 1)]
    assert registry.get_sample_value("volatility_api_health_status") == 1
    metrics.set_model(None, None)
    assert registry.get_sample_value("volatility_api_health_status") == 0
    assert not [s for m in registry.collect() if m.name == "volatility_model_info" for s in m.samples]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sliding_rate_counts_only_the_window() -> None:
    clock = FakeClock()
    rate = SlidingWindowRate(10, clock=clock)
    clock.now += 20  # long past warm-up: divide by the full window
    rate.add(100)
    assert rate.rate() == pytest.approx(10.0)
    clock.now += 5
    rate.add(50)
    assert rate.rate() == pytest.approx(15.0)
    clock.now += 6  # the first 100 left the window
    assert rate.rate() == pytest.approx(5.0)
    clock.now += 20
    assert rate.rate() == 0.0


def test_sliding_rate_does_not_underreport_while_warming_up() -> None:
    clock = FakeClock()
    rate = SlidingWindowRate(30, clock=clock)
    clock.now += 2
    rate.add(200)
    assert rate.rate() == pytest.approx(100.0)  # 200 in the 2 s since start, not 200/30
    with pytest.raises(ValueError):
        SlidingWindowRate(0)


def test_multiprocess_mode_aggregates_across_processes(tmp_path: Path) -> None:
    """Two workers write, a third process renders: counters add up; health is the minimum over running workers,
    and a worker that crashes (no clean shutdown to mark it dead) leaves that minimum at the next scrape."""
    writer = textwrap.dedent(
        """
        import os, sys
        from services.metrics import api_metrics
        metrics = api_metrics(None)
        metrics.requests.labels(method="POST", endpoint="/predict", status="200").inc(int(sys.argv[1]))
        metrics.set_model("baseline" if sys.argv[2] == "up" else None, "v1")
        print(os.getpid(), flush=True)
        sys.stdin.read()  # stay up, as a serving worker does, until the test lets go
        """
    )
    reader = "from prometheus_client import CollectorRegistry\nfrom services.metrics import render\n"
    reader += "print(render(CollectorRegistry())[0].decode())"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def start_worker(requests: int, state: str) -> subprocess.Popen[str]:
        worker = subprocess.Popen(
            [sys.executable, "-c", writer, str(requests), state],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert worker.stdout is not None and int(worker.stdout.readline()) == worker.pid
        return worker

    def scrape() -> str:
        done = subprocess.run(
            [sys.executable, "-c", reader], env=env, check=True, timeout=60, capture_output=True, text=True
        )
        return done.stdout

    requests = 'volatility_api_requests_total{endpoint="/predict",method="POST",status="200"} 7.0'
    healthy, sick = start_worker(3, "up"), start_worker(4, "down")
    try:
        both = scrape()
        assert requests in both and "volatility_api_health_status 0.0" in both
        sick.kill()  # a crash: SIGKILL, not reaped yet (a zombie until its supervisor waits for it)
        after_crash = scrape()
        assert "volatility_api_health_status 1.0" in after_crash, "the crashed worker must leave the minimum"
        assert requests in after_crash, "a dead worker's requests still count: totals never go backwards"
        assert not list(tmp_path.glob(f"gauge_live*_{sick.pid}.db"))
        assert list(tmp_path.glob(f"gauge_live*_{healthy.pid}.db")), "running workers are never swept"
    finally:
        for worker in (healthy, sick):
            worker.kill()
            worker.communicate(timeout=10)


def test_idle_services_export_the_series_their_slos_read() -> None:
    """No traffic yet must read as zero, not absent: absent series fire the SLOs' no-data alerts."""
    from services.metrics import CONSUMER_ERROR_TYPES, api_metrics, consumer_metrics

    api_registry, consumer_registry = CollectorRegistry(), CollectorRegistry()
    api_metrics(api_registry)
    consumer_metrics(consumer_registry)
    labels = {"method": "POST", "endpoint": "/predict", "status": "200"}
    assert api_registry.get_sample_value("volatility_api_requests_total", labels) == 0
    assert api_registry.get_sample_value("volatility_prediction_latency_seconds_count") == 0
    assert len(CONSUMER_ERROR_TYPES) == 8
    for error_type in CONSUMER_ERROR_TYPES:
        assert consumer_registry.get_sample_value("volatility_consumer_errors_total", {"error_type": error_type}) == 0
