"""Scoring speed vs real time on the simulated BTC-USD stream (``python -m bench.bench_scoring``).

The issue asks for scoring >= 100x faster than real time. One hour of simulated ticks (~22k ticker messages,
3,600 one-second rows) is featurized and scored the way the consumer does it — message by message, each
completed row validated and scored alone — and in one batch, for the baseline and the ml pipeline. The factor is
simulated seconds / wall seconds (best of 3), so it survives a noisy machine; the ml/baseline cost ratio is the
same-run comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from services.ml.features import FeatureEngine, features_from_messages, tickers_of, validate_feature_row
from services.ml.model import BaselineModel, Model, SklearnModel, predict
from services.ml.training import TrainConfig, build_dataset, fit_and_evaluate
from services.ticks import simulate

STREAM_SECONDS = 3600
SEED = 7
REPEATS = 3


def best_of(fn: Callable[[], Any], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def stream_and_score(messages: list[dict[str, Any]], model: Model | None) -> int:
    """Consumer-shaped loop: feature engine per message, each finished row validated and scored on its own."""
    engine = FeatureEngine()
    scored = 0
    for message in messages:
        for ticker in tickers_of(message):
            for row in engine.update(ticker):
                features = validate_feature_row(row)
                if model is not None:
                    predict(model, [features])
                scored += 1
    return scored


def trained_models() -> dict[str, Model]:
    config = TrainConfig(seconds=2 * 3600)
    result = fit_and_evaluate(build_dataset(config), config)
    return {
        "baseline": BaselineModel(),
        "ml": SklearnModel(estimator=result.pipeline, version="bench", threshold=result.ml.threshold),
    }


def run() -> list[str]:
    messages = list(simulate(SEED, STREAM_SECONDS))
    rows = [validate_feature_row(r) for r in features_from_messages(messages)]
    models = trained_models()
    timings: dict[str, float] = {"features only (streaming)": best_of(lambda: stream_and_score(messages, None))}
    for name, model in models.items():
        timings[f"features + {name} (streaming, row by row)"] = best_of(partial(stream_and_score, messages, model))
    for name, model in models.items():
        timings[f"{name} only (one batch of {len(rows)} rows)"] = best_of(partial(model.predict_proba, rows))
    lines = [
        f"Stream: {STREAM_SECONDS} s of simulated BTC-USD (seed {SEED}), {len(messages):,} ticker messages, "
        f"{len(rows):,} feature rows; best of {REPEATS}.",
        "",
        "| path | wall s | rows/s | x real time |",
        "|---|---:|---:|---:|",
    ]
    for path, seconds in timings.items():
        lines.append(f"| {path} | {seconds:.3f} | {len(rows) / seconds:,.0f} | {STREAM_SECONDS / seconds:,.0f}x |")
    ml = timings["features + ml (streaming, row by row)"]
    base = timings["features + baseline (streaming, row by row)"]
    lines += [
        "",
        f"Streaming ml costs {ml / base:.2f}x the baseline path; slowest path is "
        f"{STREAM_SECONDS / max(timings.values()):,.0f}x faster than real time (requirement: >= 100x).",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
