"""The load test: percentiles, loopback-only, bounded, and its verdict against a real API process."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack.load_test import TargetNotAllowed, ensure_loopback, percentile
from tests.support import ServiceProcess, free_port, http_get, wait_http_ok
from tests.support.processes import REPO_ROOT


def test_percentile_interpolates() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:8000", "http://127.8.9.10"]
)
def test_loopback_targets_are_allowed(url: str) -> None:
    ensure_loopback(url)


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://192.168.1.20", "http://8.8.8.8", "http:///nohost"])
def test_other_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetNotAllowed):
        ensure_loopback(url)


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    port = free_port()
    env = {"API_HOST": "127.0.0.1", "API_PORT": str(port), "MODEL_VARIANT": "baseline", "FAULT_INJECTION_ENABLED": "1"}
    with ServiceProcess("services.api", env=env) as process:
        base = f"http://127.0.0.1:{port}"
        wait_http_ok(f"{base}/health", timeout=30, process=process)
        yield base


@pytest.fixture
def faults(api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api) as client:
        yield client
        client.delete("/admin/faults")


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack.load_test", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def predict_200(api: str) -> float:
    _, text = http_get(f"{api}/metrics")
    for line in text.splitlines():
        if line.startswith('volatility_api_requests_total{endpoint="/predict",method="POST",status="200"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.timeout(90)
def test_reports_percentiles_and_passes_a_healthy_api(api: str, tmp_path: Path) -> None:
    before = predict_200(api)
    out = tmp_path / "report.json"
    done = run_cli("--url", api, "--requests", "300", "--concurrency", "8", "--rows", "2", "--json-out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "p95" in done.stdout
    report = json.loads(out.read_text())
    assert report["completed"] == 300 and report["errors"] == 0 and report["by_status"] == {"200": 300}
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["throughput_rps"] > 0
    assert predict_200(api) - before == 300  # the server counted exactly what the client sent


@pytest.mark.timeout(90)
def test_fails_when_errors_exceed_one_percent(api: str, faults: httpx.Client, tmp_path: Path) -> None:
    assert faults.post("/admin/faults", json={"error_rate": 0.5}).status_code == 200
    out = tmp_path / "report.json"
    done = run_cli("--url", api, "--requests", "100", "--concurrency", "4", "--json-out", str(out))
    assert done.returncode == 1
    assert "errors 50.00% > 1.00%" in done.stderr
    report = json.loads(out.read_text())
    assert report["by_status"] == {"200": 50, "500": 50}
    assert report["error_rate"] == 0.5


@pytest.mark.timeout(90)
def test_fails_on_slow_p95_and_stops_at_the_time_limit(api: str, faults: httpx.Client, tmp_path: Path) -> None:
    assert faults.post("/admin/faults", json={"latency_seconds": 0.9}).status_code == 200
    out = tmp_path / "report.json"
    done = run_cli(
        "--url", api, "--requests", "1000", "--concurrency", "2", "--max-seconds", "1", "--json-out", str(out)
    )
    assert done.returncode == 1
    assert "p95" in done.stderr and "> 800 ms" in done.stderr
    report = json.loads(out.read_text())
    assert report["stopped_early"] is True
    assert 2 <= report["completed"] <= 6  # two clients, ~0.9 s each, one second of issuing
    assert report["p50_ms"] >= 900


def test_refuses_non_loopback_without_sending() -> None:
    done = run_cli("--url", "http://10.1.2.3:8000", "--requests", "5")
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr


@pytest.mark.timeout(60)
def test_unreachable_api_is_an_error_not_a_hang(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    port = free_port()  # nothing listens here
    done = run_cli(
        "--url", f"http://127.0.0.1:{port}", "--requests", "20", "--concurrency", "2", "--json-out", str(out)
    )
    assert done.returncode == 1
    report = json.loads(out.read_text())
    assert report["completed"] == 20 and report["errors"] == 20
    assert set(report["by_status"]) == {"ConnectionRefusedError"}
