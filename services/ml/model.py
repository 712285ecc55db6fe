"""Model loading for the API and the consumer: one interface, two variants, one rollback switch.

- ``baseline``: a z-score rule on 60-s realized volatility whose parameters ship in this file, so rolling back
  (``MODEL_VARIANT=baseline``) needs neither MLflow nor a trained artifact.
- ``ml``: the scikit-learn pipeline trained by ``services.ml.training``. With ``MLFLOW_TRACKING_URI`` set it
  comes from the registry alias ``models:/volatility-spike@champion``; otherwise from the local artifact
  directory ``MODEL_PATH`` (default ``.work/models/ml``, relative to the working directory) holding
  ``model.joblib`` (the fitted pipeline) and ``model.json`` (version, threshold, feature columns, figures).

Every failure to load becomes ``ModelLoadError`` with a human reason; callers decide how to serve degraded.
A row scores as spike when ``score >= model.threshold``: ``is_spike``, the one place that rule is written.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, overload, runtime_checkable

import numpy as np

from services.ml.features import FEATURE_COLUMNS
from services.settings import DEFAULTS, Settings

REGISTERED_MODEL_NAME = "volatility-spike"
CHAMPION_ALIAS = "champion"
DEFAULT_MODEL_PATH = DEFAULTS.model_path
MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"
VARIANTS = ("ml", "baseline")

# Baseline parameters: mean and standard deviation of rv_60s over the training split of the fixed-seed
# simulated BTC-USD stream (services.ml.training prints the fitted values; real captures agree, 1-s std ~1e-4).
# z >= BASELINE_Z_THRESHOLD means spike; score = sigmoid(z - threshold), so PR-AUC is defined and 0.5 is the
# rule.
BASELINE_FEATURE = "rv_60s"
BASELINE_MEAN = 1.22e-4
BASELINE_STD = 7.6e-5
BASELINE_Z_THRESHOLD = 2.0
BASELINE_VERSION = "baseline-zscore-v1"


# Scale-like features (volatility, spread, activity) are log-transformed before the linear model: their effect
# on the odds of a spike is multiplicative, and logs tame the fat right tail.
LOG_SCALED_COLUMNS: tuple[str, ...] = tuple(
    c for c in FEATURE_COLUMNS if c.startswith(("rv_", "spread_bps_mean_", "tick_intensity_"))
)
_LOG_SCALED_INDEX = np.array([FEATURE_COLUMNS.index(c) for c in LOG_SCALED_COLUMNS])
_LOG_FLOOR = 1e-9


def log_scale_features(matrix: Any) -> Any:
    """Model-input transform used inside the trained pipeline (importable, hence picklable by reference)."""
    out = np.array(matrix, dtype=float, copy=True)
    out[:, _LOG_SCALED_INDEX] = np.log(np.maximum(out[:, _LOG_SCALED_INDEX], 0.0) + _LOG_FLOOR)
    return out


class ModelLoadError(RuntimeError):
    """The requested model cannot be served; the message says why in words an operator can act on."""


@runtime_checkable
class Model(Protocol):
    """What the API and consumer need from a model; rows are validated and keyed by FEATURE_COLUMNS."""

    @property
    def variant(self) -> str:
        """ "ml" or "baseline"."""

    @property
    def version(self) -> str:
        """What is serving, e.g. "volatility-spike/v3" or "baseline-zscore-v1"."""

    @property
    def threshold(self) -> float:
        """Scores at or above it predict a spike."""

    def predict_proba(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        """P(spike) in [0, 1] per row."""


@overload
def is_spike(score: float, threshold: float) -> bool: ...
@overload
def is_spike(score: np.ndarray[Any, Any], threshold: float) -> np.ndarray[Any, Any]: ...
def is_spike(score: Any, threshold: float) -> Any:
    """The decision rule, written once (API, consumer, training): a score at or above the threshold is a spike.

    Works elementwise on a numpy array of scores too (training evaluates whole splits at once).
    """
    return score >= threshold


def predict(model: Model, rows: Sequence[Mapping[str, float]]) -> list[int]:
    """Spike (1) or not (0) per row, by `is_spike`."""
    threshold = model.threshold
    return [int(is_spike(score, threshold)) for score in model.predict_proba(rows)]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass(frozen=True)
class BaselineModel:
    """Z-score rule on realized volatility; the rollback target, so it depends on nothing but this file."""

    mean: float = BASELINE_MEAN
    std: float = BASELINE_STD
    z_threshold: float = BASELINE_Z_THRESHOLD
    feature: str = BASELINE_FEATURE
    variant: str = "baseline"
    version: str = BASELINE_VERSION
    threshold: float = 0.5

    def predict_proba(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        return [_sigmoid((row[self.feature] - self.mean) / self.std - self.z_threshold) for row in rows]


@dataclass(frozen=True)
class SklearnModel:
    """A fitted scikit-learn classifier fed columns in FEATURE_COLUMNS order."""

    estimator: Any
    version: str
    threshold: float
    variant: str = "ml"
    columns: tuple[str, ...] = FEATURE_COLUMNS

    def __post_init__(self) -> None:
        object.__setattr__(self, "_linear", _fold_linear_pipeline(self.estimator))

    def predict_proba(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        if not rows:
            return []
        linear: _LinearScorer | None = getattr(self, "_linear", None)
        if linear is not None and len(rows) == 1 and linear.row_weights is not None:
            return [linear.score_row([rows[0][c] for c in self.columns])]  # the API's common case, no numpy
        matrix = np.array([[row[c] for c in self.columns] for row in rows], dtype=float)
        scores = linear.scores(matrix) if linear is not None else self.estimator.predict_proba(matrix)[:, 1]
        return [min(1.0, max(0.0, float(s))) for s in scores]


@dataclass(frozen=True)
class _LinearScorer:
    """A fitted (transforms ->) StandardScaler -> LogisticRegression pipeline folded into one weight vector.

    Same scores as ``Pipeline.predict_proba`` (to ~1e-15) at a hundredth of the cost for one row: sklearn's
    per-call input validation dominated single-row scoring (~260 us) in the API benchmark.
    """

    transforms: tuple[Any, ...]
    weights: Any
    bias: float
    # Pure-Python weights when the only transform is our own log scaling: a single row then costs a few µs.
    row_weights: tuple[float, ...] | None = None
    log_scaled: frozenset[int] = frozenset()

    def scores(self, matrix: Any) -> Any:
        for transform in self.transforms:
            matrix = transform(matrix)
        logits = matrix @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def score_row(self, values: list[float]) -> float:
        assert self.row_weights is not None
        logit = self.bias
        for index, (value, weight) in enumerate(zip(values, self.row_weights, strict=True)):
            if index in self.log_scaled:
                value = math.log(max(value, 0.0) + _LOG_FLOOR)
            logit += value * weight
        return min(1.0, max(0.0, _sigmoid(logit)))


def _fold_linear_pipeline(estimator: Any) -> _LinearScorer | None:
    """Recognise [FunctionTransformer...] + StandardScaler + binary LogisticRegression; None otherwise."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, StandardScaler
    except ImportError:  # pragma: no cover - sklearn ships with the services extra
        return None
    if not isinstance(estimator, Pipeline):
        return None
    *head, scaler, classifier = [step for _, step in estimator.steps]
    if not (isinstance(scaler, StandardScaler) and isinstance(classifier, LogisticRegression)):
        return None
    if classifier.coef_.shape[0] != 1 or any(
        not isinstance(t, FunctionTransformer) or t.func is None or t.kw_args for t in head
    ):
        return None
    mean = scaler.mean_ if scaler.with_mean else 0.0
    scale = scaler.scale_ if scaler.with_std else 1.0
    coef = classifier.coef_[0] / scale
    bias = float(classifier.intercept_[0] - np.sum(coef * mean))
    funcs = tuple(t.func for t in head)
    if funcs == (log_scale_features,):
        logs = frozenset(int(i) for i in _LOG_SCALED_INDEX)
        return _LinearScorer(funcs, coef, bias, tuple(float(w) for w in coef), logs)
    return _LinearScorer(funcs, coef, bias)


def _check_columns(columns: Any, where: str) -> None:
    if list(columns or ()) != list(FEATURE_COLUMNS):
        raise ModelLoadError(
            f"{where} was trained on features {columns!r}, but this code computes {list(FEATURE_COLUMNS)!r};"
            " retrain with `make train` or roll back with MODEL_VARIANT=baseline"
        )


def _check_threshold(value: Any, where: str) -> float:
    try:
        threshold = float(value)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{where} has no usable decision threshold ({value!r})") from exc
    if not 0.0 <= threshold <= 1.0:
        raise ModelLoadError(f"{where} has a decision threshold outside [0, 1] ({threshold})")
    return threshold


def save_local_model(
    path: str | os.PathLike[str], estimator: Any, version: str, threshold: float, **extra: Any
) -> Path:
    """Write the artifact ``load_local_model`` reads; model.json is written last so a reader never sees a
    threshold without its model."""
    import joblib

    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    tmp_model = directory / (MODEL_FILE + ".tmp")
    joblib.dump(estimator, tmp_model)
    os.replace(tmp_model, directory / MODEL_FILE)
    meta = {"version": version, "threshold": threshold, "feature_columns": list(FEATURE_COLUMNS), **extra}
    tmp_meta = directory / (METADATA_FILE + ".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp_meta, directory / METADATA_FILE)
    return directory


def load_local_model(path: str | os.PathLike[str]) -> SklearnModel:
    """Load the artifact directory written by ``services.ml.training`` (model.joblib + model.json)."""
    directory = Path(path)
    meta_path, model_path = directory / METADATA_FILE, directory / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise ModelLoadError(
            f"no trained model at {directory} (need {MODEL_FILE} and {METADATA_FILE}); run `make train`,"
            " set MLFLOW_TRACKING_URI to load from the registry, or use MODEL_VARIANT=baseline"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {meta_path}: {exc}") from exc
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{meta_path} is not a JSON object")
    _check_columns(meta.get("feature_columns"), str(meta_path))
    threshold = _check_threshold(meta.get("threshold"), str(meta_path))
    try:
        import joblib

        estimator = joblib.load(model_path)
    except Exception as exc:  # unpickling can raise anything; the operator needs the reason, not a crash
        raise ModelLoadError(f"cannot unpickle {model_path}: {type(exc).__name__}: {exc}") from exc
    if not hasattr(estimator, "predict_proba"):
        raise ModelLoadError(f"{model_path} holds a {type(estimator).__name__}, which has no predict_proba")
    return SklearnModel(estimator=estimator, version=str(meta.get("version", "local")), threshold=threshold)


def load_registry_model(
    tracking_uri: str, name: str = REGISTERED_MODEL_NAME, alias: str = CHAMPION_ALIAS
) -> SklearnModel:
    """Load ``models:/<name>@<alias>`` from MLflow; version tags carry threshold and feature columns."""
    try:
        import mlflow
        import mlflow.sklearn
        from mlflow import MlflowClient
    except ImportError as exc:
        raise ModelLoadError(f"mlflow is not installed ({exc}); unset MLFLOW_TRACKING_URI") from exc
    where = f"models:/{name}@{alias} at {tracking_uri}"
    try:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        version = client.get_model_version_by_alias(name, alias)
    except Exception as exc:  # MLflow raises its own and transport errors; all mean "not servable"
        raise ModelLoadError(f"cannot resolve {where}: {type(exc).__name__}: {exc}") from exc
    tags = dict(version.tags or {})
    try:
        columns = json.loads(tags.get("feature_columns", "null"))
    except ValueError:
        columns = None
    _check_columns(columns, f"{name} v{version.version}")
    threshold = _check_threshold(tags.get("threshold"), f"{name} v{version.version}")
    try:
        mlflow.set_registry_uri(tracking_uri)
        mlflow.set_tracking_uri(tracking_uri)
        estimator = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
    except Exception as exc:
        raise ModelLoadError(f"cannot load {name} v{version.version}: {type(exc).__name__}: {exc}") from exc
    if not hasattr(estimator, "predict_proba"):
        raise ModelLoadError(f"{name} v{version.version} has no predict_proba")
    return SklearnModel(estimator=estimator, version=f"{name}/v{version.version}", threshold=threshold)


def load_model(variant: str | None = None, settings: Settings | None = None) -> Model:
    """The model to serve: ``variant`` or MODEL_VARIANT, from MLFLOW_TRACKING_URI or MODEL_PATH (``settings``,
    default: the environment); ModelLoadError on failure."""
    cfg = settings if settings is not None else Settings.from_env()
    chosen = (variant if variant is not None else cfg.model_variant).strip().lower()
    if chosen == "baseline":
        return BaselineModel()
    if chosen == "ml":
        if cfg.mlflow_tracking_uri:
            return load_registry_model(cfg.mlflow_tracking_uri)
        return load_local_model(cfg.model_path)
    raise ModelLoadError(f"unknown model variant {chosen!r}; expected one of {', '.join(VARIANTS)}")
