"""Model loading: baseline from code, ml from a local artifact, and clear errors for everything else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from services.ml.features import FEATURE_COLUMNS
from services.ml.model import (
    BASELINE_MEAN,
    BASELINE_STD,
    METADATA_FILE,
    MODEL_FILE,
    Model,
    ModelLoadError,
    load_model,
    predict,
    save_local_model,
)


def rows_with_rv(*values: float) -> list[dict[str, float]]:
    return [{**{c: 0.0 for c in FEATURE_COLUMNS}, "rv_60s": v} for v in values]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODEL_VARIANT", "MLFLOW_TRACKING_URI", "MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)


def test_baseline_needs_nothing_and_follows_the_z_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no artifact, no MLflow here
    model = load_model("baseline")
    assert isinstance(model, Model)
    assert (model.variant, model.threshold) == ("baseline", 0.5)
    just_below = BASELINE_MEAN + 1.99 * BASELINE_STD
    just_above = BASELINE_MEAN + 2.01 * BASELINE_STD
    scores = model.predict_proba(rows_with_rv(0.0, just_below, just_above, 1.0))
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores)  # monotone in volatility
    assert predict(model, rows_with_rv(0.0, just_below, just_above, 1.0)) == [0, 0, 1, 1]
    assert model.predict_proba([]) == []


def test_variant_comes_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_VARIANT", "Baseline")
    assert load_model().variant == "baseline"


def test_unknown_variant_is_a_load_error() -> None:
    with pytest.raises(ModelLoadError, match="unknown model variant 'xgb'"):
        load_model("xgb")


def fitted_estimator() -> LogisticRegression:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURE_COLUMNS)))
    y = (x[:, FEATURE_COLUMNS.index("rv_60s")] > 0.5).astype(int)
    return LogisticRegression().fit(x, y)


def test_ml_loads_the_local_artifact_from_model_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    save_local_model(tmp_path / "m", fitted_estimator(), version="test-v7", threshold=0.3, note="x")
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "m"))
    model = load_model("ml")
    assert (model.variant, model.version, model.threshold) == ("ml", "test-v7", 0.3)
    scores = model.predict_proba(rows_with_rv(-2.0, 3.0))
    assert scores[0] < 0.3 < scores[1]
    assert predict(model, rows_with_rv(-2.0, 3.0)) == [0, 1]


def test_ml_default_path_is_relative_to_the_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match="make train"):
        load_model("ml")
    save_local_model(tmp_path / ".work/models/ml", fitted_estimator(), version="v1", threshold=0.5)
    assert load_model("ml").version == "v1"


def test_ml_refuses_a_model_trained_on_other_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = save_local_model(tmp_path, fitted_estimator(), version="v1", threshold=0.5)
    meta = json.loads((directory / METADATA_FILE).read_text())
    meta["feature_columns"] = ["ret_mean", "ret_std", "n"]
    (directory / METADATA_FILE).write_text(json.dumps(meta))
    monkeypatch.setenv("MODEL_PATH", str(directory))
    with pytest.raises(ModelLoadError, match="trained on features"):
        load_model("ml")


def test_ml_corrupt_artifact_is_a_load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = save_local_model(tmp_path, fitted_estimator(), version="v1", threshold=0.5)
    (directory / MODEL_FILE).write_bytes(b"not a pickle")
    monkeypatch.setenv("MODEL_PATH", str(directory))
    with pytest.raises(ModelLoadError, match="cannot unpickle"):
        load_model("ml")


def test_ml_bad_threshold_is_a_load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = save_local_model(tmp_path, fitted_estimator(), version="v1", threshold=1.5)
    monkeypatch.setenv("MODEL_PATH", str(directory))
    with pytest.raises(ModelLoadError, match="threshold"):
        load_model("ml")


@pytest.mark.slow  # an MLflow sqlite store: its schema migrations take ~10 s
def test_registry_without_a_champion_is_a_load_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    with pytest.raises(ModelLoadError, match="cannot resolve models:/volatility-spike@champion"):
        load_model("ml")


def test_folded_linear_pipeline_scores_like_sklearn() -> None:
    """The ml fast path must not change a single score."""
    import numpy as np

    from services.ml.features import FEATURE_COLUMNS
    from services.ml.model import SklearnModel
    from services.ml.training import make_pipeline

    rng = np.random.default_rng(3)
    x = np.abs(rng.normal(1e-4, 5e-5, size=(400, len(FEATURE_COLUMNS))))
    y = (x[:, 1] > np.median(x[:, 1])).astype(int)
    pipeline = make_pipeline().fit(x, y)
    model = SklearnModel(pipeline, "t", 0.5)
    assert getattr(model, "_linear", None) is not None
    rows = [dict(zip(FEATURE_COLUMNS, r, strict=True)) for r in x[:50]]
    expected = pipeline.predict_proba(x[:50])[:, 1]
    assert np.max(np.abs(np.array(model.predict_proba(rows)) - expected)) < 1e-12
    singles = [model.predict_proba([row])[0] for row in rows]  # the pure-Python one-row path
    assert np.max(np.abs(np.array(singles) - expected)) < 1e-12


def test_artifacts_pickled_before_the_ml_package_still_load() -> None:
    """A pipeline trained before services/ml/ existed references the transform by its old module path."""
    import pickle

    from services.ml.model import log_scale_features

    assert pickle.loads(b"cservices.model\nlog_scale_features\n.") is log_scale_features
