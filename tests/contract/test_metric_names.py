"""The specs in slo/ are where service metric names meet the rules: keep both sides in step.

No renderer imports the services and no service imports codegen; this test is the one place that reads both, so
a renamed metric or a moved bucket boundary fails here instead of silently blinding an SLO.
"""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from codegen.model import LatencySLI
from codegen.parse import load_specs
from services import metrics

REPO = Path(__file__).resolve().parents[2]


def exposed_names() -> set[str]:
    """Every metric family the services and the drift job register, read off a fresh registry's exposition."""
    text = ""
    for factory in (metrics.api_metrics, metrics.consumer_metrics, metrics.drift_metrics):
        registry = CollectorRegistry()
        factory(registry)
        text += generate_latest(registry).decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")} | {
        line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")
    }


def test_latency_slo_buckets_match_the_service_histogram() -> None:
    specs = load_specs(str(REPO / "slo"))
    latency = [s.sli for s in specs.slos if isinstance(s.sli, LatencySLI)]
    assert latency, "the service must keep a latency SLO"
    for sli in latency:
        assert sli.buckets == tuple(float(b) for b in metrics.LATENCY_BUCKETS)
        assert sli.threshold in metrics.LATENCY_BUCKETS


def test_every_metric_the_specs_query_is_defined_by_a_service() -> None:
    specs = load_specs(str(REPO / "slo"))
    text = "\n".join(path.read_text() for path in (REPO / "slo").rglob("*.yaml"))
    queried = set(re.findall(r"\b(volatility_[a-z_]+)", text))
    defined = exposed_names()
    suffixes = ("_bucket", "_count", "_sum", "_total", "_created")

    def known(name: str) -> bool:
        return name in defined or any(name.endswith(s) and name[: -len(s)] in defined for s in suffixes)

    missing = sorted(n for n in queried if not known(n))
    assert not missing, f"specs query metrics no service defines: {missing}"
    assert specs.slos
