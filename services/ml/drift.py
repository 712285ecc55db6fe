"""Feature drift: training features (reference) vs recent features (current), with Evidently.

``python -m services.ml.drift`` (``make drift``) compares the training split of the fixed-seed simulated stream
with a recent window — a replayed capture (``--current FILE``) or, by default, the drift-mode simulator
(busier, wider spreads) — and, as a control, a normal-mode window of the same length. It writes the Evidently
HTML and a metrics JSON into ``reports/`` (ignored: the HTML is ~4 MB) and renders ``docs/drift_summary.md``
from the JSON. Both are deterministic for the fixed seeds: every time in them comes from the data.

The JSON also says whether drift hurts: the training-fitted models are scored on each current window (labels
from that window's own future volatility, tau from training), so a retrain decision rests on PR-AUC, not on
drift alone.

``--serve --port N`` exposes the drift gauges (``services.metrics.drift_metrics``) on /metrics; ``--from-json``
serves a previous run's JSON without recomputing, ``--interval S`` recomputes periodically.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from services.ml.features import FEATURE_COLUMNS, WARMUP_SECONDS, features_from_messages
from services.ml.training import TrainConfig, TrainResult, build_dataset, fit_and_evaluate, label_frame

REPORTS_DIR = Path("reports")
SUMMARY_PATH = Path("docs/drift_summary.md")
METRICS_FILE = "drift_metrics.json"
CURRENT_SEED = 4242
CURRENT_SECONDS = 3600
DATASET_DRIFT_SHARE = 0.5  # Evidently's default: the dataset drifted when half the features did
# Normed Wasserstein distance for every feature, with a threshold calibrated on the null: twelve normal-mode
# windows of 1-2 h against the training split scored at most 0.57 (rolling-window features on a 1-s grid are
# strongly autocorrelated, so an hour holds few independent samples), drift-mode spread/activity at least 2.9.
# Evidently's i.i.d.-minded default (0.1) flags ordinary regime variation; the JSON records that figure too.
DRIFT_METHOD = "wasserstein"
DRIFT_THRESHOLD = 1.0
EVIDENTLY_DEFAULT_THRESHOLD = 0.1
METHOD_NAMES = {"wasserstein": "Wasserstein distance (normed)"}  # Evidently echoes the short name when given
FAMILIES: dict[str, str] = {
    "log_return_": "returns",
    "rv_": "realized volatility",
    "spread_bps_mean_": "spread",
    "ob_imbalance_": "order-book imbalance",
    "tick_intensity_": "tick intensity",
}


SCALE_FAMILIES = ("realized volatility", "spread", "tick intensity")


def family(feature: str) -> str:
    return next(name for prefix, name in FAMILIES.items() if feature.startswith(prefix))


def _epoch(moment: pd.Timestamp) -> int:
    return int(moment.timestamp())


def _window(label: str, source: str, frame: pd.DataFrame) -> dict[str, Any]:
    times = pd.to_datetime(frame["timestamp"], utc=True)
    return {
        "label": label,
        "source": source,
        "rows": len(frame),
        "start": times.min().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": times.max().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_epoch": _epoch(times.max()),
    }


def current_rows(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Feature rows of a current window (warm-up handled later, per product)."""
    return list(features_from_messages(messages, on_error=lambda _ticker, _exc: None))


def simulated_current(seed: int, seconds: int, drift: bool, start: datetime) -> list[dict[str, Any]]:
    from services.ticks import simulate

    return current_rows(simulate(seed, seconds + WARMUP_SECONDS, ("BTC-USD",), drift, start))


def without_warmup(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Drop each product's first WARMUP_SECONDS rows: partial windows would look like drift."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ValueError("current window has no feature rows")
    kept = frame[frame.groupby("product_id").cumcount() >= WARMUP_SECONDS]
    if kept.empty:
        raise ValueError(f"current window shorter than the {WARMUP_SECONDS}-s warm-up")
    return kept.reset_index(drop=True)


def evidently_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    html_path: Path | None = None,
    threshold: float = DRIFT_THRESHOLD,
) -> dict[str, Any]:
    """Evidently DataDriftPreset over FEATURE_COLUMNS: share of drifted features and per-feature verdicts."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    columns = list(FEATURE_COLUMNS)
    preset = DataDriftPreset(columns=columns, drift_share=DATASET_DRIFT_SHARE, method=DRIFT_METHOD, threshold=threshold)
    report = Report([preset], include_tests=True)
    snapshot = report.run(current_data=current[columns], reference_data=reference[columns])
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html_path))
    result = snapshot.dict()
    by_id: dict[str, dict[str, Any]] = {}
    share = None
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif config["type"].endswith("ValueDrift"):
            by_id[metric["id"]] = {
                "name": config["column"],
                "method": METHOD_NAMES.get(config["method"], config["method"]),
                "threshold": float(config["threshold"]),
                "score": float(metric["value"]),
            }
    for test in result["tests"]:
        metric_id = test.get("metric_config", {}).get("metric_id")
        if metric_id in by_id:
            by_id[metric_id]["drifted"] = test["status"] == "FAIL"
    features = sorted(by_id.values(), key=lambda f: columns.index(f["name"]))
    if share is None or len(features) != len(columns) or any("drifted" not in f for f in features):
        raise RuntimeError("unexpected Evidently result shape (is evidently 0.7.x installed?)")
    for feature in features:
        ref, cur = reference[feature["name"]], current[feature["name"]]
        feature["reference_mean"], feature["current_mean"] = float(ref.mean()), float(cur.mean())
        feature["family"] = family(feature["name"])
    return {"drift_share": share, "drifted": sum(f["drifted"] for f in features), "features": features}


def model_impact(trained: TrainResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """PR-AUC of the training-fitted ml and baseline models on a current window (labels use training tau)."""
    from sklearn.metrics import average_precision_score

    from services.ml.model import BaselineModel, Model, SklearnModel

    labelled = label_frame(rows)
    y = (labelled["future_rv"].to_numpy() >= trained.tau).astype(int)
    records = labelled[list(FEATURE_COLUMNS)].to_dict("records")
    models: dict[str, Model] = {
        "ml": SklearnModel(estimator=trained.pipeline, version="drift-check", threshold=trained.ml.threshold),
        "baseline": BaselineModel(mean=trained.baseline_params["mean"], std=trained.baseline_params["std"]),
    }
    out: dict[str, Any] = {"rows": len(y), "positive_rate": float(y.mean())}
    for name, model in models.items():
        scores = np.asarray(model.predict_proba(records))
        out[f"pr_auc_{name}"] = float(average_precision_score(y, scores)) if 0 < y.sum() < len(y) else math.nan
    return out


def run(
    current_path: Path | None = None,
    seed: int = CURRENT_SEED,
    seconds: int = CURRENT_SECONDS,
    reports_dir: Path | None = REPORTS_DIR,
    control: bool = True,
    train_config: TrainConfig | None = None,
) -> dict[str, Any]:
    """Compute every comparison; write the HTML reports when `reports_dir` is given. Returns the JSON body."""
    config = train_config or TrainConfig()
    dataset = build_dataset(config)
    trained = fit_and_evaluate(dataset, config)
    reference = dataset[dataset["split"] == "train"].reset_index(drop=True)
    ref_window = _window("reference", f"training split (simulator seed {config.seed})", reference)
    ref_end = datetime.fromisoformat(ref_window["end"].replace("Z", "+00:00"))
    # "recent" = the day after training, on the hour, so windows never overlap the reference
    current_start = (ref_end + timedelta(days=1)).replace(hour=0, minute=0, second=0, tzinfo=UTC)

    currents: list[tuple[str, str, list[dict[str, Any]]]] = []
    if current_path is not None:
        from services.ticks import replay

        currents.append(("current", f"replay of {current_path.name}", current_rows(replay(current_path))))
    else:
        rows = simulated_current(seed, seconds, True, current_start)
        currents.append(("current", f"drift-mode simulator (seed {seed})", rows))
    if control:
        rows = simulated_current(seed, seconds, False, current_start)
        currents.append(("control", f"normal-mode simulator (seed {seed})", rows))

    comparisons: dict[str, Any] = {}
    for label, source, rows in currents:
        frame = without_warmup(rows)
        html = None if reports_dir is None else reports_dir / f"drift_report_{label}.html"
        comparison = evidently_drift(reference, frame, html)
        default = evidently_drift(reference, frame, threshold=EVIDENTLY_DEFAULT_THRESHOLD)
        comparison["drift_share_at_default_threshold"] = default["drift_share"]
        comparison["current"] = _window(label, source, frame)
        comparison["model_impact"] = model_impact(trained, rows)
        comparison["html"] = None if html is None else str(html)
        comparisons[label] = comparison

    training_figures = {
        "tau": trained.tau,
        "pr_auc_ml_test": trained.ml.metrics["pr_auc_test"],
        "pr_auc_baseline_test": trained.baseline.metrics["pr_auc_test"],
    }
    primary = comparisons["current"]
    return {
        "generated_by": "python -m services.ml.drift",
        "reference": ref_window,
        "training": training_figures,
        "dataset_drift_threshold": DATASET_DRIFT_SHARE,
        "method": {"name": DRIFT_METHOD, "threshold": DRIFT_THRESHOLD, "default_threshold": 0.1},
        "comparisons": comparisons,
        "retrain": retrain_decision(primary, training_figures),
    }


def retrain_decision(comparison: Mapping[str, Any], training: Mapping[str, float]) -> dict[str, Any]:
    """Retrain when the dataset drifted (share >= 0.5), a volatility feature drifted, or the ml model lost its
    edge over the baseline on the current window. Drift alone on activity/spread is watched, not acted on."""
    reasons = []
    if comparison["drift_share"] >= DATASET_DRIFT_SHARE:
        reasons.append(f"drift share {comparison['drift_share']:.2f} >= {DATASET_DRIFT_SHARE}")
    volatility = [f["name"] for f in comparison["features"] if f["drifted"] and f["name"].startswith("rv_")]
    if volatility:
        reasons.append(f"volatility features drifted ({', '.join(volatility)})")
    impact = comparison["model_impact"]
    if math.isfinite(impact["pr_auc_ml"]) and impact["pr_auc_ml"] <= impact["pr_auc_baseline"]:
        reasons.append(f"ml PR-AUC {impact['pr_auc_ml']:.3f} no better than baseline {impact['pr_auc_baseline']:.3f}")
    return {"recommended": bool(reasons), "reasons": reasons}


# ---------------------------------------------------------------------------------------------------------
# Rendering


def _interpretation(comparison: Mapping[str, Any]) -> list[str]:
    drifted: dict[str, list[str]] = {}
    stable: dict[str, list[str]] = {}
    for feature in comparison["features"]:
        (drifted if feature["drifted"] else stable).setdefault(feature["family"], []).append(feature["name"])
    lines = []
    if drifted:
        parts = []
        for fam, names in drifted.items():
            total = sum(1 for f in comparison["features"] if f["family"] == fam)
            parts.append(f"{fam} ({len(names)}/{total})")
        lines.append("Drifted: " + ", ".join(parts) + ".")
        moves = []
        for f in comparison["features"]:
            # ratios only mean something for positive, scale-like features (not returns or imbalance)
            if f["drifted"] and f["family"] in SCALE_FAMILIES and f["reference_mean"] > 0:
                moves.append(f"`{f['name']}` mean ×{f['current_mean'] / f['reference_mean']:.2f}")
        if moves:
            lines.append("Largest shifts: " + ", ".join(moves[:6]) + ".")
    fully_stable = [fam for fam in stable if fam not in drifted]
    if fully_stable:
        lines.append("Stable: " + ", ".join(fully_stable) + ".")
    return lines


def _in_order(comparisons: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """current first, then control, then anything else: a fixed order whatever the JSON key order."""
    rank = {"current": 0, "control": 1}
    return sorted(comparisons.items(), key=lambda item: (rank.get(item[0], 2), item[0]))


def render_summary(data: Mapping[str, Any]) -> str:
    """docs/drift_summary.md from the metrics JSON (pure: same JSON, same bytes)."""
    ref = data["reference"]
    out = [
        "<!-- generated by `make drift` (python -m services.ml.drift) from reports/drift_metrics.json; do not edit -->",
        "# Feature drift summary",
        "",
        "Evidently `DataDriftPreset` over the model's 16 feature columns (price levels are not features,",
        "so nothing drifts just because the price moved). Every column uses the normed Wasserstein distance",
        f"with threshold {data['method']['threshold']:g}, calibrated on normal-mode windows: features are",
        "rolling statistics on a 1-s grid, so an hour of them holds few independent samples, and Evidently's",
        f"default threshold ({data['method']['default_threshold']:g}, meant for independent rows) flags",
        "ordinary regime variation (last column of the next table). The dataset counts as drifted when at",
        f"least {data['dataset_drift_threshold']:.0%} of the columns drifted.",
        "",
        "## Windows compared",
        "",
        "| window | source | rows | from | to |",
        "|---|---|---:|---|---|",
        f"| reference | {ref['source']} | {ref['rows']} | {ref['start']} | {ref['end']} |",
    ]
    for label, comparison in _in_order(data["comparisons"]):
        w = comparison["current"]
        out.append(f"| {label} | {w['source']} | {w['rows']} | {w['start']} | {w['end']} |")
    out += [
        "",
        "## Drift share",
        "",
        "| window | drifted features | drift share | dataset drift | PR-AUC ml | PR-AUC baseline "
        "| positive rate | share at threshold 0.1 |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for label, comparison in _in_order(data["comparisons"]):
        impact = comparison["model_impact"]
        out.append(
            f"| {label} | {comparison['drifted']}/{len(comparison['features'])} "
            f"| {comparison['drift_share']:.3f} "
            f"| {'yes' if comparison['drift_share'] >= data['dataset_drift_threshold'] else 'no'} "
            f"| {impact['pr_auc_ml']:.3f} | {impact['pr_auc_baseline']:.3f} | {impact['positive_rate']:.3f} "
            f"| {comparison['drift_share_at_default_threshold']:.3f} |"
        )
    training = data["training"]
    out += [
        "",
        f"On the training run's own test split: PR-AUC ml {training['pr_auc_ml_test']:.3f}, baseline "
        f"{training['pr_auc_baseline_test']:.3f} (tau = {training['tau']:.3e}, next-60-s realized "
        "volatility).",
    ]
    for label, comparison in _in_order(data["comparisons"]):
        out += [
            "",
            f"## Per feature: {label}",
            "",
            "| feature | method | threshold | score | drifted | reference mean | current mean |",
            "|---|---|---:|---:|---|---:|---:|",
        ]
        for f in comparison["features"]:
            out.append(
                f"| `{f['name']}` | {f['method']} | {f['threshold']:g} | {f['score']:.4f} "
                f"| {'**yes**' if f['drifted'] else 'no'} "
                f"| {f['reference_mean']:.4g} | {f['current_mean']:.4g} |"
            )
    out += ["", "## Interpretation", ""]
    for label, comparison in _in_order(data["comparisons"]):
        out.append(f"- **{label}**: " + " ".join(_interpretation(comparison)))
    current, control = data["comparisons"]["current"], data["comparisons"].get("control")
    if control is not None:
        out.append(
            f"- The drift-mode window drifts on {current['drift_share']:.0%} of features against "
            f"{control['drift_share']:.0%} for a normal window of the same length, so the detector separates "
            "a changed market from ordinary regime variation."
        )
    impact = current["model_impact"]
    out.append(
        f"- Model impact on the current window: PR-AUC ml {impact['pr_auc_ml']:.3f} vs baseline "
        f"{impact['pr_auc_baseline']:.3f} "
        + (
            "(the ml model keeps its edge)."
            if impact["pr_auc_ml"] > impact["pr_auc_baseline"]
            else "(the ml model lost its edge)."
        )
    )
    if (
        control is not None
        and current["model_impact"]["positive_rate"] > 1.5 * control["model_impact"]["positive_rate"]
    ):
        out.append(
            f"- The label base rate moved too: {current['model_impact']['positive_rate']:.1%} of current seconds "
            f"are spikes against {control['model_impact']['positive_rate']:.1%} in the control window. Wider "
            "spreads add bid-ask bounce to the mid price, so more seconds cross tau even though the volatility "
            "features stay under the drift threshold; PR-AUC, not drift alone, decides whether to retrain."
        )
    decision = data["retrain"]
    out += [
        "",
        "## Retrain trigger",
        "",
        "Retrain (`make train`; the `champion` alias moves only if the new version's test PR-AUC is higher)",
        "when any of:",
        "",
        f"1. drift share ≥ {data['dataset_drift_threshold']:.2f} (dataset drift), or",
        "2. any realized-volatility feature (`rv_*`) drifted — the label is defined on volatility, or",
        "3. on the current window the ml model's PR-AUC is no better than the baseline's.",
        "",
        "Live, the same share is exported as `volatility_feature_drift_share` (per feature: "
        "`volatility_feature_drift{feature}`) by `python -m services.ml.drift --serve`, so a sustained breach "
        "pages like any other SLO alert. Schedule: daily, and after any alert on the drift gauge.",
        "",
        f"Decision for this run: **{'retrain' if decision['recommended'] else 'no retrain'}**"
        + (" — " + "; ".join(decision["reasons"]) + "." if decision["reasons"] else " — no trigger met."),
        "",
    ]
    return "\n".join(out)


def write_outputs(data: Mapping[str, Any], reports_dir: Path, summary_path: Path | None) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = reports_dir / METRICS_FILE
    metrics_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if summary_path is not None:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(render_summary(data), encoding="utf-8")
    return metrics_path


# ---------------------------------------------------------------------------------------------------------
# CLI


def serve(port: int, compute: Any, interval: float | None, host: str = "127.0.0.1") -> None:
    """Expose the drift gauges on /metrics; recompute every `interval` seconds if given."""
    from prometheus_client import CollectorRegistry, start_http_server

    from services.metrics import drift_metrics

    registry = CollectorRegistry()
    gauges = drift_metrics(registry)
    gauges.publish(compute()["comparisons"]["current"])
    server, thread = start_http_server(port, addr=host, registry=registry)
    print(f"serving drift gauges on http://{host}:{port}/metrics", file=sys.stderr, flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(interval if interval else 3600):
            if interval:
                gauges.publish(compute()["comparisons"]["current"])
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        thread.join(timeout=5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ml.drift", description=__doc__.split("\n")[0])
    parser.add_argument("--current", type=Path, default=None, help="NDJSON capture to compare (default: simulator)")
    parser.add_argument("--seed", type=int, default=CURRENT_SEED, help="seed of the simulated current window")
    parser.add_argument("--seconds", type=int, default=CURRENT_SECONDS, help="length of the simulated window")
    parser.add_argument("--no-control", action="store_true", help="skip the normal-mode control window")
    parser.add_argument("--reports-dir", type=Path, default=REPORTS_DIR)
    parser.add_argument("--summary", type=Path, default=SUMMARY_PATH, help="markdown summary path")
    parser.add_argument("--no-summary", action="store_true")
    parser.add_argument("--serve", action="store_true", help="serve the drift gauges on /metrics")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--interval", type=float, default=None, help="with --serve: recompute every N seconds")
    parser.add_argument("--from-json", type=Path, default=None, help="with --serve: publish this metrics JSON")
    parser.add_argument("--print-metrics", action="store_true", help="print the gauges (exposition format)")
    args = parser.parse_args(argv)
    if args.current is not None and not args.current.is_file():
        parser.error(f"--current: no such file {args.current}")

    def compute() -> dict[str, Any]:
        if args.from_json is not None:
            return dict(json.loads(args.from_json.read_text(encoding="utf-8")))
        started = time.perf_counter()
        data = run(args.current, args.seed, args.seconds, args.reports_dir, control=not args.no_control)
        write_outputs(data, args.reports_dir, None if args.no_summary else args.summary)
        figures = {k: round(v["drift_share"], 3) for k, v in _in_order(data["comparisons"])}
        print(
            f"drift share {figures}; retrain: {data['retrain']['recommended']}; "
            f"{time.perf_counter() - started:.1f}s; wrote {args.reports_dir / METRICS_FILE}",
            file=sys.stderr,
        )
        return data

    try:
        if args.serve:
            serve(args.port, compute, args.interval, args.host)
            return 0
        data = compute()
    except (ValueError, OSError) as exc:
        print(f"drift failed: {exc}", file=sys.stderr)
        return 2
    if args.print_metrics:
        from prometheus_client import CollectorRegistry, generate_latest

        from services.metrics import drift_metrics

        registry = CollectorRegistry()
        drift_metrics(registry).publish(data["comparisons"]["current"])
        sys.stdout.write(generate_latest(registry).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
