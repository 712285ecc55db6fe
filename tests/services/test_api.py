"""The prediction API: contract, input validation, metrics after known traffic, degraded model, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.api import create_app
from services.config import Settings
from services.features import FEATURE_COLUMNS
from services.load_test import sample_rows
from services.model import BaselineModel, Model, ModelLoadError, load_model
from tests.support import ServiceProcess, free_port, http_get, wait_http_ok


@pytest.fixture(scope="module")
def rows() -> list[dict[str, float]]:
    return sample_rows(20)


def client_for(registry: CollectorRegistry, **settings: Any) -> TestClient:
    values: dict[str, Any] = {"model_variant": "baseline", **settings}
    return TestClient(create_app(Settings(**values), registry=registry))


@pytest.fixture
def client(registry: CollectorRegistry) -> Iterator[TestClient]:
    with client_for(registry) as test_client:
        yield test_client


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def requests_with(registry: CollectorRegistry, status: str, endpoint: str = "/predict") -> float:
    return value(registry, "volatility_api_requests_total", method="POST", endpoint=endpoint, status=status)


# ---------------------------------------------------------------------------------------------------------
# Contract


def test_predict_scores_rows_with_the_served_model(client: TestClient, rows: list[dict[str, float]]) -> None:
    response = client.post("/predict", json={"rows": rows[:5]})
    assert response.status_code == 200
    body = response.json()
    model = BaselineModel()
    expected = model.predict_proba(rows[:5])
    assert body["scores"] == pytest.approx(expected)
    assert body["predictions"] == [int(s >= model.threshold) for s in expected]
    assert (body["model_variant"], body["version"]) == ("baseline", model.version)
    stamp = datetime.fromisoformat(body["ts"].replace("Z", "+00:00"))
    offset = stamp.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert abs(time.time() - stamp.timestamp()) < 60


def test_both_classes_are_predicted_and_counted(
    client: TestClient, registry: CollectorRegistry, rows: list[dict[str, float]]
) -> None:
    spike = {**rows[0], "rv_60s": 1e-3}  # far above the baseline's mean: z >> 2
    calm = {**rows[0], "rv_60s": 1e-5}
    body = client.post("/predict", json={"rows": [spike, calm, calm]}).json()
    assert body["predictions"] == [1, 0, 0]
    assert value(registry, "volatility_predictions_total", prediction="1") == 1
    assert value(registry, "volatility_predictions_total", prediction="0") == 2
    assert value(registry, "volatility_prediction_probability_count") == 3


def test_health_and_version_describe_the_model(client: TestClient, registry: CollectorRegistry) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["model_variant"] == "baseline"
    version = client.get("/version").json()
    assert version["model_loaded"] is True
    assert version["model_version"] == BaselineModel().version
    assert version["feature_columns"] == list(FEATURE_COLUMNS)
    assert value(registry, "volatility_api_health_status") == 1
    assert value(registry, "volatility_model_info", variant="baseline", version=BaselineModel().version) == 1


def test_openapi_documents_the_rows_contract_from_feature_columns(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/predict"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    row_schema = schema["properties"]["rows"]["items"]
    assert row_schema["required"] == list(FEATURE_COLUMNS)
    assert row_schema["additionalProperties"] is False
    assert {"200", "413", "422", "503"} <= set(operation["responses"])
    assert "/metrics" not in spec["paths"]


# ---------------------------------------------------------------------------------------------------------
# Bad input: 4xx naming row and field, never 5xx


def _with(rows: list[dict[str, float]], index: int, **changes: Any) -> list[dict[str, Any]]:
    bad: list[dict[str, Any]] = [dict(r) for r in rows[:3]]
    bad[index].update(changes)
    return bad


def _without(rows: list[dict[str, float]], index: int, field: str) -> list[dict[str, Any]]:
    bad: list[dict[str, Any]] = [dict(r) for r in rows[:3]]
    del bad[index][field]
    return bad


@pytest.mark.parametrize(
    ("make_body", "where"),
    [
        (lambda rows: {"rows": _without(rows, 1, "rv_60s")}, "rows[1].rv_60s"),
        (lambda rows: {"rows": _with(rows, 2, volume_usd=1.0)}, "rows[2].volume_usd"),
        (lambda rows: {"rows": _with(rows, 0, rv_30s="0.001")}, "rows[0].rv_30s"),
        (lambda rows: {"rows": _with(rows, 1, rv_30s=None)}, "rows[1].rv_30s"),
        (lambda rows: {"rows": _with(rows, 1, rv_30s=True)}, "rows[1].rv_30s"),
        (lambda rows: {"rows": _with(rows, 0, rv_30s=[1.0])}, "rows[0].rv_30s"),
        (lambda rows: {"rows": [rows[0], 7]}, "rows[1]"),
        (lambda rows: {"rows": []}, "rows"),
        (lambda rows: {"rows": {"a": 1}}, "rows"),
        (lambda rows: {}, "rows"),
        (lambda rows: {"rows": rows[:1], "extra": 1}, "extra"),
        (lambda rows: [rows[0]], "body"),
    ],
    ids=[
        "missing-feature", "unknown-feature", "string", "null", "bool", "list", "row-not-object",
        "empty-rows", "rows-not-array", "no-rows", "unknown-top-level", "body-not-object",
    ],
)  # fmt: skip
def test_invalid_rows_get_422_naming_row_and_field(
    client: TestClient, registry: CollectorRegistry, rows: list[dict[str, float]], make_body: Any, where: str
) -> None:
    response = client.post("/predict", content=json.dumps(make_body(rows)).encode())
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(where), response.json()
    assert requests_with(registry, "422") == 1
    assert value(registry, "volatility_api_errors_total", endpoint="/predict", error_type="validation") == 1


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"rows": [{"rv_60s": NaN}]}', "NaN"),
        (b'{"rows": [{"rv_60s": Infinity}]}', "Infinity"),
        (b'{"rows": [{"rv_60s": -Infinity}]}', "-Infinity"),
        (b'{"rows": [', "broken JSON"),
        (b"\xff\xfe\x00garbage", "broken JSON"),
        (b"", "empty"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["nan", "inf", "minus-inf", "truncated", "not-utf8", "empty", "deep-nesting"],
)
def test_broken_json_gets_422(client: TestClient, registry: CollectorRegistry, raw: bytes, fragment: str) -> None:
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert fragment in response.json()["message"]
    assert requests_with(registry, "422") == 1


def test_huge_integers_are_rejected_by_name_not_500(client: TestClient, rows: list[dict[str, float]]) -> None:
    text = json.dumps({"rows": [rows[0], {**rows[0], "rv_60s": 10**400}]})
    response = client.post("/predict", content=text.encode())
    assert response.status_code == 422
    assert response.json()["message"].startswith("rows[1].rv_60s")


def test_overflowing_numbers_are_rejected_as_not_finite(client: TestClient, rows: list[dict[str, float]]) -> None:
    text = json.dumps({"rows": rows[:1]}).replace(repr(rows[0]["rv_60s"]), "1e999", 1)
    response = client.post("/predict", content=text.encode())
    assert response.status_code == 422
    assert response.json()["message"].startswith("rows[0].rv_60s")


def test_limits_answer_413(registry: CollectorRegistry, rows: list[dict[str, float]]) -> None:
    with client_for(registry, predict_max_rows=5, predict_max_body_bytes=4096) as client:
        too_many = client.post("/predict", json={"rows": [rows[0]] * 6})
        assert too_many.status_code == 413 and "6 rows exceed the limit of 5" in too_many.json()["message"]
        too_big = client.post("/predict", content=b'{"rows": [' + b" " * 5000 + b"]}")
        assert too_big.status_code == 413 and "4096" in too_big.json()["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming too
            yield b'{"rows": ['
            for _ in range(10):
                yield b" " * 1000

        streamed = client.post("/predict", content=chunks())
        assert streamed.status_code == 413
        assert client.post("/predict", json={"rows": [rows[0]] * 5}).status_code == 200
    assert requests_with(registry, "413") == 3
    assert value(registry, "volatility_api_errors_total", endpoint="/predict", error_type="payload_too_large") == 3


# ---------------------------------------------------------------------------------------------------------
# Metrics after known traffic


def test_metrics_match_the_traffic(
    client: TestClient, registry: CollectorRegistry, rows: list[dict[str, float]]
) -> None:
    for _ in range(4):
        assert client.post("/predict", json={"rows": rows[:3]}).status_code == 200
    for _ in range(2):
        assert client.post("/predict", json={"rows": [{"rv_60s": 1.0}]}).status_code == 422
    assert client.get("/health").status_code == 200
    assert client.get("/nowhere").status_code == 404
    assert client.get("/predict").status_code == 405
    for _ in range(3):
        scrape = client.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")

    assert requests_with(registry, "200") == 4
    assert requests_with(registry, "422") == 2
    assert value(registry, "volatility_api_requests_total", method="GET", endpoint="/health", status="200") == 1
    assert value(registry, "volatility_api_requests_total", method="GET", endpoint="unmatched", status="404") == 1
    assert value(registry, "volatility_api_requests_total", method="GET", endpoint="/predict", status="405") == 1
    assert value(registry, "volatility_api_requests_total", method="GET", endpoint="/metrics", status="200") == 0
    assert value(registry, "volatility_api_errors_total", endpoint="/predict", error_type="validation") == 2
    assert value(registry, "volatility_api_errors_total", endpoint="unmatched", error_type="not_found") == 1
    # every POST /predict is timed, whatever its outcome, and a fast one lands under the 0.8 s bucket
    assert value(registry, "volatility_prediction_latency_seconds_count") == 6
    assert value(registry, "volatility_prediction_latency_seconds_bucket", le="0.8") == 6
    assert (
        value(registry, "volatility_predictions_total", prediction="0")
        + value(registry, "volatility_predictions_total", prediction="1")
        == 12
    )
    # the scrape shows the same numbers
    assert 'volatility_api_requests_total{endpoint="/predict",method="POST",status="200"} 4.0' in scrape.text
    assert 'volatility_prediction_latency_seconds_bucket{le="0.8"} 6.0' in scrape.text


# ---------------------------------------------------------------------------------------------------------
# No model: health 0, /predict 503 with the reason, never a crash


def test_missing_ml_artifact_means_503_with_the_reason(
    registry: CollectorRegistry, rows: list[dict[str, float]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "no-model-here"))
    with client_for(registry, model_variant="ml", model_reload_interval_seconds=0) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert "no trained model" in health.json()["reason"]
        predicted = client.post("/predict", json={"rows": rows[:2]})
        assert predicted.status_code == 503
        assert "no trained model" in predicted.json()["message"]
        assert predicted.headers["retry-after"] == "30"
        assert client.get("/version").json()["model_loaded"] is False
        assert client.post("/predict", json={"rows": [{}]}).status_code == 422  # bad input is still a 4xx
    assert value(registry, "volatility_api_health_status") == 0
    assert requests_with(registry, "503") == 1
    assert value(registry, "volatility_api_errors_total", endpoint="/predict", error_type="model_unavailable") == 1
    assert value(registry, "volatility_prediction_latency_seconds_count") == 2


def test_a_model_that_appears_later_is_picked_up(registry: CollectorRegistry, rows: list[dict[str, float]]) -> None:
    attempts: list[str] = []

    def loader(variant: str) -> Model:  # not trained on the first two tries, like a fresh deployment
        attempts.append(variant)
        if len(attempts) < 3:
            raise ModelLoadError("not trained yet")
        return load_model("baseline")

    app = create_app(Settings(model_variant="ml", model_reload_interval_seconds=0.05), registry=registry, loader=loader)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 503
        deadline = time.monotonic() + 15
        while client.get("/health").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/health").status_code == 200
        assert client.post("/predict", json={"rows": rows[:1]}).status_code == 200
    assert attempts == ["ml", "ml", "ml"]
    assert value(registry, "volatility_api_health_status") == 1


# ---------------------------------------------------------------------------------------------------------
# Fault injection: off unless configured


def test_fault_injection_is_refused_unless_enabled(client: TestClient) -> None:
    for method in ("GET", "POST", "DELETE"):
        response = client.request(method, "/admin/faults", json={"error_rate": 1.0})
        assert response.status_code == 403
        assert "FAULT_INJECTION_ENABLED=1" in response.json()["message"]


def test_injected_errors_are_counted_as_server_errors(
    registry: CollectorRegistry, rows: list[dict[str, float]]
) -> None:
    with client_for(registry, fault_injection_enabled=True) as client:
        assert client.post("/admin/faults", json={"error_rate": 0.25}).json()["error_rate"] == 0.25
        statuses = [client.post("/predict", json={"rows": rows[:1]}).status_code for _ in range(20)]
        assert statuses.count(500) == 5 and statuses.count(200) == 15
        assert client.post("/admin/faults", json={"error_rate": 2}).status_code == 422
        assert client.delete("/admin/faults").json() == {"error_rate": 0.0, "latency_seconds": 0.0}
        assert client.post("/predict", json={"rows": rows[:1]}).status_code == 200
    assert requests_with(registry, "500") == 5
    assert value(registry, "volatility_api_errors_total", endpoint="/predict", error_type="injected") == 5
    # the control plane itself is not service traffic
    assert value(registry, "volatility_api_requests_total", method="POST", endpoint="/admin/faults", status="200") == 0


def test_injected_latency_lands_above_the_slo_bucket(registry: CollectorRegistry, rows: list[dict[str, float]]) -> None:
    with client_for(registry, fault_injection_enabled=True, fault_latency_seconds=0.85) as client:
        assert client.post("/predict", json={"rows": rows[:1]}).status_code == 200
    assert value(registry, "volatility_prediction_latency_seconds_count") == 1
    assert value(registry, "volatility_prediction_latency_seconds_bucket", le="0.8") == 0
    assert value(registry, "volatility_prediction_latency_seconds_bucket", le="1.0") == 1


# ---------------------------------------------------------------------------------------------------------
# As deployed: uvicorn, several workers, prometheus multiprocess mode


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in /metrics:\n{text[:2000]}")


def _worker_pids(directory: Path) -> set[str]:
    return {p.stem.rsplit("_", 1)[-1] for p in directory.glob("*.db")}


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_two_workers_report_every_request_once(tmp_path: Path, rows: list[dict[str, float]]) -> None:
    port = free_port()
    env = {
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "API_WORKERS": "2",
        "MODEL_VARIANT": "baseline",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    base = f"http://127.0.0.1:{port}"
    with ServiceProcess("services.api", env=env) as api:
        wait_http_ok(f"{base}/health", timeout=30, process=api)
        deadline = time.monotonic() + 20
        while len(_worker_pids(tmp_path / "prom")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the second worker may still be starting
        assert len(_worker_pids(tmp_path / "prom")) == 2, "both workers must write to the multiprocess dir"
        with httpx.Client(base_url=base) as http:  # a fresh connection per request spreads them over workers
            for i in range(40):
                response = http.post(
                    "/predict", json={"rows": rows[i % 5 : i % 5 + 2]}, headers={"connection": "close"}
                )
                assert response.status_code == 200
            assert http.post("/predict", content=b"{", headers={"connection": "close"}).status_code == 422
        _, text = http_get(f"{base}/metrics")
        assert api.stop() == 0
    assert _sample(text, 'volatility_api_requests_total{endpoint="/predict",method="POST",status="200"}') == 40
    assert _sample(text, 'volatility_api_requests_total{endpoint="/predict",method="POST",status="422"}') == 1
    assert _sample(text, "volatility_prediction_latency_seconds_count") == 41
    total = _sample(text, 'volatility_predictions_total{prediction="0"}') + _sample(
        text, 'volatility_predictions_total{prediction="1"}'
    )
    assert total == 80
    assert _sample(text, "volatility_api_health_status") == 1
