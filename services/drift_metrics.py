"""Prometheus gauges for feature drift, so model decay can page someone the same way latency does.

Defined here once; ``services.drift --serve`` exposes them, and the shared metrics module may register them on
its own registry with ``DriftGauges(registry)``. Nothing is registered at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

DRIFT_SHARE_METRIC = "volatility_feature_drift_share"
FEATURE_DRIFT_METRIC = "volatility_feature_drift"
FEATURE_DRIFT_SCORE_METRIC = "volatility_feature_drift_score"
DRIFT_RUN_METRIC = "volatility_feature_drift_last_run_timestamp_seconds"


class DriftGauges:
    """The drift gauges on one registry; `publish` copies one drift comparison (``services.drift``) in."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.share = Gauge(
            DRIFT_SHARE_METRIC,
            "Share of model features whose live distribution drifted from training (Evidently), 0..1",
            registry=self.registry,
        )
        self.feature = Gauge(
            FEATURE_DRIFT_METRIC,
            "1 if the feature drifted from its training distribution in the last drift run, else 0",
            ["feature"],
            registry=self.registry,
        )
        self.score = Gauge(
            FEATURE_DRIFT_SCORE_METRIC,
            "Drift score of the feature (method-specific: distance, or p-value for tests)",
            ["feature", "method"],
            registry=self.registry,
        )
        self.last_run = Gauge(
            DRIFT_RUN_METRIC,
            "Unix time of the newest current-window row in the last drift run",
            registry=self.registry,
        )

    def publish(self, comparison: Mapping[str, Any]) -> None:
        """Set every gauge from one comparison:
        ``{"drift_share", "features": [{name, method, score, drifted}], "current": {"end_epoch"}}``."""
        self.share.set(float(comparison["drift_share"]))
        for feature in comparison["features"]:
            self.feature.labels(feature=feature["name"]).set(1.0 if feature["drifted"] else 0.0)
            self.score.labels(feature=feature["name"], method=feature["method"]).set(float(feature["score"]))
        end = comparison.get("current", {}).get("end_epoch")
        if end is not None:
            self.last_run.set(float(end))
