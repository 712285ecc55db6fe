"""Rollback: the same API restarted with MODEL_VARIANT=baseline serves the baseline, and the metrics follow.

The ml model is really trained (small simulated set) and loaded from a local artifact, as the API does in
production when MLFLOW_TRACKING_URI is unset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.api import create_app
from services.ml.model import BaselineModel
from services.ml.training import TrainConfig, build_dataset, fit_and_evaluate, write_local_artifact
from services.settings import Settings
from stack.load_test import sample_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ml_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TrainConfig(seconds=2 * 3600)
    result = fit_and_evaluate(build_dataset(config), config)
    return write_local_artifact(result, tmp_path_factory.mktemp("models") / "ml", version="7")


def serve(variant: str, registry: CollectorRegistry, model_path: Path) -> TestClient:
    settings = Settings(model_variant=variant, model_path=str(model_path), mlflow_tracking_uri="")
    return TestClient(create_app(settings, registry=registry))


def info(registry: CollectorRegistry) -> set[tuple[str, str]]:
    return {
        (s.labels["variant"], s.labels["version"])
        for metric in registry.collect()
        if metric.name == "volatility_model_info"
        for s in metric.samples
        if s.value == 1
    }


def test_rollback_to_baseline_and_back(ml_artifact: Path) -> None:
    rows = sample_rows(50)

    ml_registry = CollectorRegistry()
    with serve("ml", ml_registry, ml_artifact) as client:
        ml_body = client.post("/predict", json={"rows": rows}).json()
    assert ml_body["model_variant"] == "ml"
    assert info(ml_registry) == {("ml", ml_body["version"])}
    ml_counted = sum(ml_registry.get_sample_value("volatility_predictions_total", {"prediction": p}) or 0 for p in "01")
    assert ml_counted == 50

    baseline_registry = CollectorRegistry()  # a restart: a fresh process, fresh metrics
    with serve("baseline", baseline_registry, ml_artifact) as client:
        base_body = client.post("/predict", json={"rows": rows}).json()
        health = client.get("/health").json()
    assert base_body["model_variant"] == health["model_variant"] == "baseline"
    assert info(baseline_registry) == {("baseline", BaselineModel().version)}
    assert base_body["scores"] == pytest.approx(BaselineModel().predict_proba(rows))
    assert base_body["scores"] != pytest.approx(ml_body["scores"])  # a different model really answers

    with serve("ml", CollectorRegistry(), ml_artifact) as client:  # and back
        assert client.post("/predict", json={"rows": rows}).json()["scores"] == pytest.approx(ml_body["scores"])
