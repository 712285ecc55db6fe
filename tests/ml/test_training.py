"""Training: leakage-free labels and splits, ml beats baseline, MLflow registry with a champion alias."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from services.ml.features import FEATURE_COLUMNS
from services.ml.model import SklearnModel, load_model
from services.ml.training import (
    TrainConfig,
    TrainResult,
    assign_splits,
    build_dataset,
    evaluate,
    fit_and_evaluate,
    future_realized_vol,
    main,
)


@pytest.fixture(scope="module")
def trained() -> tuple[pd.DataFrame, TrainResult]:
    config = TrainConfig()  # the fixed seed and size `make train` uses
    frame = build_dataset(config)
    return frame, fit_and_evaluate(frame, config)


def test_future_volatility_looks_forward_only() -> None:
    returns = np.array([0.0, 1.0, -1.0, 3.0, 0.0, 2.0])
    out = future_realized_vol(returns, horizon=2)
    assert out[0] == pytest.approx(np.std([1.0, -1.0]))
    assert out[3] == pytest.approx(np.std([0.0, 2.0]))
    assert np.isnan(out[4:]).all()  # the last horizon has no complete future
    # changing the past never changes a label
    changed = returns.copy()
    changed[0] = 99.0
    assert np.array_equal(future_realized_vol(changed, 2)[:4], out[:4])


def test_splits_are_in_time_order_with_embargoes() -> None:
    times = pd.date_range("2025-01-01", periods=10_000, freq="s", tz="UTC")
    frame = pd.DataFrame({"time": times, "timestamp": times.strftime("%Y-%m-%dT%H:%M:%SZ")})
    config = TrainConfig()
    split = assign_splits(frame, config)
    first = {name: split[split["split"] == name]["time"] for name in ("train", "val", "test")}
    assert first["train"].max() < first["val"].min() < first["val"].max() < first["test"].min()
    gap_train_val = (first["val"].min() - first["train"].max()).total_seconds()
    gap_val_test = (first["test"].min() - first["val"].max()).total_seconds()
    needed = config.embargo_before_seconds + config.embargo_after_seconds
    assert gap_train_val >= needed and gap_val_test >= needed
    assert len(split) > 0.9 * len(frame)


@pytest.mark.slow  # `trained`: a full training run
def test_ml_beats_the_baseline_on_the_fixed_seed(trained: tuple[pd.DataFrame, TrainResult]) -> None:
    _, result = trained
    ml, base = result.ml.metrics, result.baseline.metrics
    assert ml["pr_auc_test"] > base["pr_auc_test"] > base["positive_rate_test"]  # both beat chance
    assert ml["f1_test"] > 0.2 and 0 < result.ml.threshold < 1
    assert 0.03 < ml["positive_rate_test"] < 0.2


@pytest.mark.slow  # `trained`: a full training run
def test_tau_comes_from_the_training_split_only(trained: tuple[pd.DataFrame, TrainResult]) -> None:
    frame, result = trained
    train = frame[frame["split"] == "train"]["future_rv"]
    assert result.tau == pytest.approx(np.percentile(train, 90))
    assert result.tau != pytest.approx(np.percentile(frame["future_rv"], 90))
    assert (train >= result.tau).mean() == pytest.approx(0.10, abs=0.01)


def dummy_result(result: TrainResult, frame: pd.DataFrame) -> tuple[DummyClassifier, float, float]:
    """A deliberately weak model (predicts the base rate) with its real test PR-AUC and threshold."""
    labelled = frame.assign(label=(frame["future_rv"] >= result.tau).astype(int))
    train = labelled[labelled["split"] == "train"]
    dummy = DummyClassifier(strategy="prior").fit(train[list(FEATURE_COLUMNS)].to_numpy(), train["label"])
    evaluation = evaluate(
        "ml",
        SklearnModel(estimator=dummy, version="weak", threshold=0.5),
        labelled[labelled["split"] == "val"],
        labelled[labelled["split"] == "test"],
    )
    return dummy, evaluation.metrics["pr_auc_test"], evaluation.threshold


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_registry_champion_moves_only_on_improvement_and_serves(
    trained: tuple[pd.DataFrame, TrainResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    from services.ml.training import _experiment_id, default_tracking_uri, register_model

    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "MODEL_PATH", "MODEL_VARIANT"):
        monkeypatch.delenv(name, raising=False)
    uri = default_tracking_uri()  # the sqlite store `make train` uses, here inside tmp_path
    assert uri == "sqlite:///.work/mlflow/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    import mlflow

    mlflow.set_tracking_uri(uri)
    frame, result = trained
    weak, weak_pr_auc, weak_threshold = dummy_result(result, frame)
    run = client.create_run(_experiment_id(client, uri), tags={"variant": "weak"})
    version, promoted = register_model(client, weak, run.info.run_id, weak_threshold, {"pr_auc_test": weak_pr_auc})
    assert (version, promoted) == ("1", True)  # no champion yet: the first version takes the alias

    # the CLI trains the real model: better PR-AUC, so the alias moves and the local artifact follows
    assert main(["--model-path", "models/ml"]) == 0
    champion = client.get_model_version_by_alias("volatility-spike", "champion")
    assert str(champion.version) == "2"
    assert float(champion.tags["pr_auc_test"]) == pytest.approx(result.ml.metrics["pr_auc_test"])
    assert float(champion.tags["pr_auc_test"]) > weak_pr_auc
    assert json.loads((tmp_path / "models/ml/model.json").read_text())["version"] == "volatility-spike/v2"

    # same seed again: a tie is not an improvement, so version 3 is registered but not promoted
    assert main(["--model-path", "models/ml"]) == 0
    assert client.get_model_version("volatility-spike", "3").tags["promoted"] == "false"
    assert str(client.get_model_version_by_alias("volatility-spike", "champion").version) == "2"
    experiment = client.get_experiment_by_name("volatility-spike")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags["variant"] for r in runs) == ["baseline", "baseline", "ml", "ml", "weak"]
    trained_runs = [r for r in runs if r.data.tags["variant"] != "weak"]
    assert all("pr_auc_test" in r.data.metrics and "f1_test" in r.data.metrics for r in trained_runs)
    assert not (tmp_path / "mlruns").exists()  # artifacts stay under .work/mlflow

    # serving: the registry champion and the local artifact are the same model
    rows = frame[frame["split"] == "test"][list(FEATURE_COLUMNS)].head(200).to_dict("records")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    from_registry = load_model("ml")
    assert (from_registry.version, from_registry.threshold) == ("volatility-spike/v2", result.ml.threshold)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("MODEL_PATH", "models/ml")
    local = load_model("ml")
    expected = result.pipeline.predict_proba(np.array([[r[c] for c in FEATURE_COLUMNS] for r in rows]))[:, 1]
    assert from_registry.predict_proba(rows) == pytest.approx(list(expected), abs=1e-12)
    assert local.predict_proba(rows) == pytest.approx(list(expected), abs=1e-12)


def test_no_mlflow_mode_writes_a_loadable_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["--no-mlflow", "--seconds", "7200", "--model-path", str(tmp_path / "m")]) == 0
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "m"))
    model = load_model("ml")
    assert model.version.startswith("local-") and 0 < model.threshold < 1
    assert not (tmp_path / ".work").exists()


def test_too_little_data_fails_cleanly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--no-mlflow", "--seconds", "400", "--model-path", str(tmp_path / "m")]) == 2
    assert "training failed" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
