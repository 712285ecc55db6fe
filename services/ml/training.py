"""Train, evaluate and register the volatility-spike model: ``python -m services.ml.training`` (``make train``).

Data: the seeded simulator (BTC-USD), featurized by the same ``services.ml.features`` the services use.
Label: realized volatility of the *next* 60 s (population std of the 1-s mid log returns in (t, t+60]) >= tau,
with tau a percentile of the training split only (stored with the model).
Split: by time, 60/20/20, with an embargo around each boundary so that no label window (60 s ahead) and no
feature window (300 s back) crosses it.
Models: the z-score baseline on rv_60s (fitted mean/std) and a logistic-regression pipeline; both are judged
on the test split by PR-AUC, F1 at the threshold chosen on validation, and the positive rate.
MLflow: params, metrics and the ml model go to ``MLFLOW_TRACKING_URI`` (default: sqlite in ``.work/mlflow``);
the model is registered as ``volatility-spike`` and the alias ``champion`` moves only when the new version's
test PR-AUC beats the current champion's. The champion is also written to the local artifact (``MODEL_PATH``,
default ``.work/models/ml``) that ``load_model("ml")`` reads when no tracking URI is set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from services.ml.features import FEATURE_COLUMNS, WARMUP_SECONDS, features_from_messages
from services.ml.model import (
    BASELINE_FEATURE,
    CHAMPION_ALIAS,
    REGISTERED_MODEL_NAME,
    BaselineModel,
    SklearnModel,
    is_spike,
    log_scale_features,
    save_local_model,
)
from services.settings import Settings
from services.ticks import simulate

HORIZON_SECONDS = 60
DEFAULT_TRACKING_DIR = Path(".work/mlflow")
EXPERIMENT_NAME = "volatility-spike"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (logged as MLflow params)."""

    seed: int = 42
    seconds: int = 8 * 3600
    product_id: str = "BTC-USD"
    tau_percentile: float = 90.0
    horizon_seconds: int = HORIZON_SECONDS
    train_fraction: float = 0.6
    val_fraction: float = 0.2
    embargo_before_seconds: int = HORIZON_SECONDS  # label window reaches forward
    embargo_after_seconds: int = WARMUP_SECONDS  # feature window reaches back
    c: float = 1.0


# ---------------------------------------------------------------------------------------------------------
# Data


def future_realized_vol(log_returns: np.ndarray, horizon: int) -> np.ndarray:
    """sigma_future[k] = population std of returns k+1 .. k+horizon; NaN where the horizon runs past the end.

    A forward window, not ``shift(-1).rolling()`` (which looks backward).
    """
    out = np.full(len(log_returns), np.nan)
    if len(log_returns) > horizon:
        windows = np.lib.stride_tricks.sliding_window_view(log_returns[1:], horizon)
        out[: len(windows)] = windows.std(axis=1)
    return out


def label_frame(rows: list[dict[str, Any]], horizon: int = HORIZON_SECONDS) -> pd.DataFrame:
    """Feature rows plus ``future_rv``, per product and contiguous 1-s segment; warm-up rows dropped."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ValueError("no feature rows: the tick stream was empty")
    frame["time"] = pd.to_datetime(frame["timestamp"], utc=True)
    parts = []
    for _, product in frame.groupby("product_id", sort=True):
        product = product.sort_values("time")
        segment = (product["time"].diff() != pd.Timedelta(seconds=1)).cumsum()
        for _, seg in product.groupby(segment):
            seg = seg.copy()
            seg["future_rv"] = future_realized_vol(seg["log_return_1s"].to_numpy(), horizon)
            parts.append(seg.iloc[WARMUP_SECONDS:])
    return pd.concat(parts, ignore_index=True).dropna(subset=["future_rv"]).sort_values(["time", "product_id"])


def assign_splits(frame: pd.DataFrame, config: TrainConfig) -> pd.DataFrame:
    """Add a ``split`` column by time; rows inside an embargo get none (and are dropped)."""
    start, end = frame["time"].min(), frame["time"].max()
    span = end - start
    cut1 = start + span * config.train_fraction
    cut2 = start + span * (config.train_fraction + config.val_fraction)
    before = pd.Timedelta(seconds=config.embargo_before_seconds)
    after = pd.Timedelta(seconds=config.embargo_after_seconds)
    t = frame["time"]
    split = np.select(
        [t <= cut1 - before, (t >= cut1 + after) & (t <= cut2 - before), t >= cut2 + after],
        ["train", "val", "test"],
        default="",
    )
    out = frame.assign(split=split)
    return out[out["split"] != ""].reset_index(drop=True)


def build_dataset(config: TrainConfig) -> pd.DataFrame:
    """Simulate, featurize, label and split; ``label`` uses tau from the training split only."""
    messages = simulate(config.seed, config.seconds, (config.product_id,))
    frame = assign_splits(label_frame(list(features_from_messages(messages)), config.horizon_seconds), config)
    return frame


# ---------------------------------------------------------------------------------------------------------
# Models and evaluation


def make_pipeline(c: float = 1.0) -> Pipeline:
    """Log-scale the scale-like features, standardize, logistic regression with balanced classes."""
    return Pipeline(
        [
            ("log_scale", FunctionTransformer(log_scale_features)),
            ("standardize", StandardScaler()),
            ("classifier", LogisticRegression(C=c, class_weight="balanced", max_iter=2000)),
        ]
    )


def best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Threshold maximizing F1 on (validation) data, and that F1."""
    precision, recall, thresholds = precision_recall_curve(y, scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
    if len(thresholds) == 0:
        return 0.5, 0.0
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def f1_at(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = is_spike(scores, threshold)
    tp = float(np.sum(predicted & (y == 1)))
    precision = tp / max(1.0, float(predicted.sum()))
    recall = tp / max(1.0, float((y == 1).sum()))
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1}


@dataclass
class Evaluation:
    """Test-split figures for one model; threshold chosen on validation."""

    variant: str
    threshold: float
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    config: TrainConfig
    tau: float
    counts: dict[str, int]
    baseline_params: dict[str, float]
    pipeline: Pipeline
    baseline: Evaluation
    ml: Evaluation
    data_fingerprint: str
    seconds_taken: float = 0.0


def _scores(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(frame[list(FEATURE_COLUMNS)].to_dict("records")))


def evaluate(variant: str, model: Any, val: pd.DataFrame, test: pd.DataFrame) -> Evaluation:
    """PR-AUC (the required metric), ROC-AUC, F1 at the validation-best threshold, positive rates."""
    y_val, y_test = val["label"].to_numpy(), test["label"].to_numpy()
    s_val, s_test = _scores(model, val), _scores(model, test)
    threshold, f1_val = best_f1_threshold(y_val, s_val)
    at = f1_at(y_test, s_test, threshold)
    metrics = {
        "pr_auc_test": float(average_precision_score(y_test, s_test)),
        "pr_auc_val": float(average_precision_score(y_val, s_val)),
        "roc_auc_test": float(roc_auc_score(y_test, s_test)) if 0 < y_test.sum() < len(y_test) else math.nan,
        "f1_val": f1_val,
        "f1_test": at["f1"],
        "precision_test": at["precision"],
        "recall_test": at["recall"],
        "positive_rate_test": float(y_test.mean()),
        "predicted_positive_rate_test": float(np.mean(is_spike(s_test, threshold))),
    }
    return Evaluation(variant=variant, threshold=threshold, metrics=metrics)


def fit_and_evaluate(frame: pd.DataFrame, config: TrainConfig) -> TrainResult:
    """Fit tau, the baseline and the pipeline on train; choose thresholds on val; judge on test."""
    started = time.perf_counter()
    parts = {name: frame[frame["split"] == name] for name in SPLITS}
    for name, part in parts.items():
        if part.empty:
            raise ValueError(f"{name} split is empty: simulate more seconds (have {config.seconds})")
    tau = float(np.percentile(parts["train"]["future_rv"], config.tau_percentile))
    labelled = {name: part.assign(label=(part["future_rv"] >= tau).astype(int)) for name, part in parts.items()}
    train = labelled["train"]
    if train["label"].nunique() < 2:
        raise ValueError("training split has a single class; cannot fit")

    rv = train[BASELINE_FEATURE]
    baseline_params = {"mean": float(rv.mean()), "std": float(rv.std(ddof=0))}
    baseline = BaselineModel(mean=baseline_params["mean"], std=baseline_params["std"])
    pipeline = make_pipeline(config.c).fit(train[list(FEATURE_COLUMNS)].to_numpy(), train["label"].to_numpy())
    fitted = SklearnModel(estimator=pipeline, version="candidate", threshold=0.5)

    base_eval = evaluate("baseline", baseline, labelled["val"], labelled["test"])
    # the shipped rule (z >= 2, score 0.5) too, so the rollback target's behaviour is on record
    shipped = f1_at(labelled["test"]["label"].to_numpy(), _scores(baseline, labelled["test"]), 0.5)
    base_eval.metrics["f1_test_at_z2"] = shipped["f1"]
    ml_eval = evaluate("ml", fitted, labelled["val"], labelled["test"])

    digest = hashlib.sha256(
        pd.util.hash_pandas_object(frame[["timestamp", *FEATURE_COLUMNS]], index=False).to_numpy().tobytes()
    ).hexdigest()[:16]
    return TrainResult(
        config=config,
        tau=tau,
        counts={name: len(part) for name, part in parts.items()},
        baseline_params=baseline_params,
        pipeline=pipeline,
        baseline=base_eval,
        ml=ml_eval,
        data_fingerprint=digest,
        seconds_taken=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------------------------------------
# MLflow


def default_tracking_uri() -> str:
    """MLFLOW_TRACKING_URI, else a sqlite store under .work/mlflow (relative to the working directory)."""
    configured = Settings.from_env().mlflow_tracking_uri
    if configured:
        return configured
    DEFAULT_TRACKING_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_TRACKING_DIR / 'mlflow.db'}"


@dataclass(frozen=True)
class RegistryOutcome:
    version: str
    promoted: bool
    champion_version: str
    previous_champion_pr_auc: float | None
    run_ids: dict[str, str]


def _experiment_id(client: Any, tracking_uri: str) -> str:
    existing = client.get_experiment_by_name(EXPERIMENT_NAME)
    if existing is not None:
        return str(existing.experiment_id)
    artifact_location = None
    if tracking_uri.startswith("sqlite:///") and not Settings.from_env().mlflow_tracking_uri:
        artifacts = (DEFAULT_TRACKING_DIR / "artifacts").resolve()
        artifacts.mkdir(parents=True, exist_ok=True)
        artifact_location = artifacts.as_uri()
    elif tracking_uri.startswith("sqlite:///"):
        # keep artifacts next to the database instead of a stray ./mlruns in the working directory
        db_path = Path(tracking_uri.removeprefix("sqlite:///"))
        artifacts = (db_path.parent / "artifacts").resolve()
        artifacts.mkdir(parents=True, exist_ok=True)
        artifact_location = artifacts.as_uri()
    return str(client.create_experiment(EXPERIMENT_NAME, artifact_location=artifact_location))


def champion_pr_auc(client: Any, name: str = REGISTERED_MODEL_NAME) -> tuple[str | None, float | None]:
    """(version, test PR-AUC) of the current champion, or (None, None) when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        current = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        return None, None
    raw = (current.tags or {}).get("pr_auc_test")
    return str(current.version), (float(raw) if raw is not None else None)


def promote_if_better(client: Any, version: str, pr_auc: float, name: str = REGISTERED_MODEL_NAME) -> bool:
    """Point ``champion`` at `version` only if its PR-AUC beats the champion's (ties keep the incumbent)."""
    _, best = champion_pr_auc(client, name)
    if best is not None and not pr_auc > best:
        return False
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    return True


def register_model(
    client: Any,
    estimator: Any,
    run_id: str,
    threshold: float,
    metrics: dict[str, float],
    extra_tags: dict[str, str] | None = None,
    name: str = REGISTERED_MODEL_NAME,
) -> tuple[str, bool]:
    """Log `estimator` under `run_id`; register a version tagged with what serving needs; maybe promote."""
    import mlflow
    import mlflow.sklearn

    sample = np.zeros((2, len(FEATURE_COLUMNS)))
    with mlflow.start_run(run_id=run_id):
        info = mlflow.sklearn.log_model(
            estimator,
            name="model",
            pip_requirements=["scikit-learn", "numpy", "volatility-slo"],
            # skops (MLflow 3's safe default) refuses unknown callables; this one is ours, loaded by reference
            skops_trusted_types=[f"{log_scale_features.__module__}.{log_scale_features.__name__}"],
            signature=mlflow.models.infer_signature(sample, np.zeros(2)),
        )
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name, description="P(next-60s realized vol >= tau) for a 1-s feature row")
    tags = {
        "threshold": repr(float(threshold)),
        "feature_columns": json.dumps(list(FEATURE_COLUMNS)),
        "pr_auc_test": repr(float(metrics["pr_auc_test"])),
        **(extra_tags or {}),
    }
    version = client.create_model_version(name, info.model_uri, run_id=run_id, tags=tags)
    promoted = promote_if_better(client, str(version.version), float(metrics["pr_auc_test"]), name)
    client.set_model_version_tag(name, str(version.version), "promoted", str(promoted).lower())
    return str(version.version), promoted


def log_and_register(result: TrainResult, tracking_uri: str) -> RegistryOutcome:
    """One MLflow run per model (baseline, ml) with shared params; register the ml pipeline."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment_id = _experiment_id(client, tracking_uri)
    previous_version, previous_pr_auc = champion_pr_auc(client)
    params = {
        **{k: v for k, v in asdict(result.config).items()},
        "tau": result.tau,
        "feature_columns": ",".join(FEATURE_COLUMNS),
        "data_fingerprint": result.data_fingerprint,
        **{f"rows_{k}": v for k, v in result.counts.items()},
    }
    run_ids: dict[str, str] = {}
    for evaluation, extra in (
        (result.baseline, {f"baseline_{k}": v for k, v in result.baseline_params.items()}),
        (result.ml, {"model": "logistic_regression"}),
    ):
        with mlflow.start_run(experiment_id=experiment_id, run_name=evaluation.variant) as run:
            mlflow.log_params({**params, **extra, "variant": evaluation.variant})
            mlflow.log_metrics({k: v for k, v in evaluation.metrics.items() if math.isfinite(v)})
            mlflow.log_metric("threshold", evaluation.threshold)
            mlflow.set_tag("variant", evaluation.variant)
            run_ids[evaluation.variant] = run.info.run_id
    version, promoted = register_model(
        client,
        result.pipeline,
        run_ids["ml"],
        result.ml.threshold,
        result.ml.metrics,
        extra_tags={"tau": repr(result.tau), "data_fingerprint": result.data_fingerprint},
    )
    champion = version if promoted else (previous_version or version)
    return RegistryOutcome(version, promoted, champion, previous_pr_auc, run_ids)


def write_local_artifact(result: TrainResult, path: str | os.PathLike[str], version: str) -> Path:
    """The artifact ``load_model("ml")`` reads without MLflow."""
    return save_local_model(
        path,
        result.pipeline,
        version=version,
        threshold=result.ml.threshold,
        tau=result.tau,
        data_fingerprint=result.data_fingerprint,
        metrics={k: v for k, v in result.ml.metrics.items() if math.isfinite(v)},
        config=asdict(result.config),
    )


# ---------------------------------------------------------------------------------------------------------
# CLI


def summary(result: TrainResult) -> dict[str, Any]:
    """Headline figures (also printed as JSON by the CLI)."""
    return {
        "tau": result.tau,
        "rows": result.counts,
        "baseline_fit": result.baseline_params,
        "baseline": {"threshold": result.baseline.threshold, **result.baseline.metrics},
        "ml": {"threshold": result.ml.threshold, **result.ml.metrics},
        "ml_beats_baseline": result.ml.metrics["pr_auc_test"] > result.baseline.metrics["pr_auc_test"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ml.training", description=__doc__.split("\n")[0])
    defaults = TrainConfig()
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--seconds", type=int, default=defaults.seconds, help="simulated seconds of ticks")
    parser.add_argument("--tau-percentile", type=float, default=defaults.tau_percentile)
    parser.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or .work/mlflow sqlite")
    parser.add_argument(
        "--model-path", default=None, help="local artifact dir (default: $MODEL_PATH or .work/models/ml)"
    )
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow; write the local artifact only")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    config = TrainConfig(seed=args.seed, seconds=args.seconds, tau_percentile=args.tau_percentile)
    try:
        frame = build_dataset(config)
        result = fit_and_evaluate(frame, config)
    except ValueError as exc:
        print(f"training failed: {exc}", file=sys.stderr)
        return 2
    report = summary(result)
    model_path = args.model_path or Settings.from_env().model_path
    if args.no_mlflow:
        write_local_artifact(result, model_path, version=f"local-{result.data_fingerprint}")
        report["local_artifact"] = str(model_path)
    else:
        tracking_uri = args.tracking_uri or default_tracking_uri()
        outcome = log_and_register(result, tracking_uri)
        report["registry"] = {
            "tracking_uri": tracking_uri,
            "model": REGISTERED_MODEL_NAME,
            "version": outcome.version,
            "promoted_to_champion": outcome.promoted,
            "champion_version": outcome.champion_version,
            "previous_champion_pr_auc": outcome.previous_champion_pr_auc,
        }
        if outcome.promoted or not (Path(model_path) / "model.json").is_file():
            write_local_artifact(result, model_path, version=f"{REGISTERED_MODEL_NAME}/v{outcome.version}")
            report["local_artifact"] = str(model_path)
    report["wall_seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
