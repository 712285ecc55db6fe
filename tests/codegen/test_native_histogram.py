"""The native-histogram latency SLI on a real Prometheus.

promtool 2.42's series notation has no native histograms (``{{schema:...}}`` came later: it fails with
"unexpected character in series sequence"), so this starts the ``prometheus`` binary with
``--enable-feature=native-histograms``, scraping a small exporter that serves a native histogram as protobuf,
loads the rules slogen generated from a grouped Pyrra ``latencyNative`` SLO, and reads what they record: the
error ratio per group, and the page alert's condition true for the slow group only.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from codegen.cli import main
from codegen.errors import SpecErrors
from codegen.parse import load_specs
from stack.ports import LOOPBACK, free_port
from stack.processes import ManagedProcess
from stack.prometheus_api import PrometheusClient, PrometheusError
from tests.support.native_histogram import NativeHistogram, metric_family, serve

NEEDS_PROMETHEUS = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="prometheus missing: install Debian's prometheus"
)

METRIC = "rpc_duration_seconds"
PER_SECOND = 100  # observations per second and route
SLOW_SHARE = {"checkout": 0.2, "search": 0.0}  # share of requests slower than the threshold, per route
FAST, SLOW = -3, 1  # schema 0 bucket indexes: (0.0625, 0.125] holds 0.1 s, (1, 2] holds 1.5 s
SLO = {
    "apiVersion": "pyrra.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "rpc-latency", "namespace": "shop"},
    "spec": {
        "target": "99",
        "window": "28d",
        "indicator": {
            # 250ms is the (0.125, 0.25] bucket's upper bound: histogram_fraction is exact there.
            "latencyNative": {"latency": "250ms", "total": {"metric": f'{METRIC}{{job="rpc"}}'}, "grouping": ["route"]}
        },
    },
}
DEADLINE = 45.0  # seconds for Prometheus to start, scrape and evaluate (the test stays under a minute)


def render(elapsed: float) -> bytes:
    """Cumulative counts growing ``PER_SECOND`` a second since the exporter started (a counter-like histogram)."""
    total = int(elapsed * PER_SECOND) + PER_SECOND
    series = []
    for route, share in SLOW_SHARE.items():
        slow = int(total * share)
        buckets = {FAST: total - slow, SLOW: slow} if slow else {FAST: total}
        labels = {"route": route}
        series.append(NativeHistogram(labels, buckets, total_sum=0.1 * (total - slow) + 1.5 * slow))
    return metric_family(METRIC, series)


def wait_for(client: PrometheusClient, expr: str, count: int, deadline: float) -> dict[str, float]:
    """The series of ``expr`` by route, once ``count`` of them exist (waits on the condition, never a fixed sleep)."""
    last: dict[str, float] = {}
    while time.monotonic() < deadline:
        try:
            last = {s.labels.get("route", ""): s.value for s in client.query(expr)}
        except (PrometheusError, OSError):
            last = {}
        if len(last) >= count:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{expr!r} has {last} after the deadline")


OUR_SPEC = """version: "prometheus/v1"
service: shop
slos:
  - name: rpc-latency
    objective: 99
    grouping: [route]
    sli:
      native_latency: {histogram: rpc_duration_seconds, threshold: 0.25, matchers: 'job="rpc"'}
    alerting: {name: RpcLatency}
"""


def test_our_spec_native_latency_lowers_to_histogram_fraction_per_group(tmp_path: Path) -> None:
    """Our spec's ``native_latency`` is the same SLI as Pyrra's ``latencyNative``: the same 5m ratio."""
    ours, pyrra = tmp_path / "ours.yaml", tmp_path / "pyrra.yaml"
    ours.write_text(OUR_SPEC)
    pyrra.write_text(yaml.safe_dump(SLO))
    exprs = []
    for spec in (ours, pyrra):
        out = tmp_path / f"{spec.stem}-rules.yaml"
        assert main(["generate", "-i", str(spec), "-o", str(out)]) == 0
        rules = [r for g in yaml.safe_load(out.read_text())["groups"] for r in g["rules"]]
        exprs.append(next(r["expr"] for r in rules if r.get("record") == "slo:sli_error:ratio_rate5m"))
    expected = '1 - histogram_fraction(0, 0.25, sum by (route)(rate(rpc_duration_seconds{job="rpc"}[5m])))'
    assert all(expected in e for e in exprs), exprs


@pytest.mark.parametrize(
    ("edit", "message"),
    [("threshold: 0.25", "threshold: 0"), ("histogram: rpc_duration_seconds", "histogram: 'rpc duration'")],
)
def test_bad_native_latency_is_an_error(edit: str, message: str, tmp_path: Path) -> None:
    spec = tmp_path / "ours.yaml"
    spec.write_text(OUR_SPEC.replace(edit, message))
    with pytest.raises(SpecErrors, match="native_latency"):
        load_specs(str(spec))


@pytest.mark.slow
@NEEDS_PROMETHEUS
def test_native_latency_sli_records_per_group_on_prometheus(tmp_path: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    spec = tmp_path / "slo.yaml"
    spec.write_text(yaml.safe_dump(SLO))
    rules = tmp_path / "rules.yaml"
    assert main(["generate", "-i", str(spec), "-o", str(rules)]) == 0
    generated = yaml.safe_load(rules.read_text())
    page = next(
        r for g in generated["groups"] for r in g["rules"] if r.get("labels", {}).get("sloth_severity") == "page"
    )
    with serve(render) as exporter_port:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(rules)],
                    "scrape_configs": [
                        {"job_name": "rpc", "static_configs": [{"targets": [f"{LOOPBACK}:{exporter_port}"]}]}
                    ],
                }
            )
        )
        argv = [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--enable-feature=native-histograms",
            "--log.level=warn",
        ]
        with ManagedProcess("prometheus", argv, tmp_path / "prometheus.log", port=port):
            client = PrometheusClient(f"http://{LOOPBACK}:{port}")
            # The scrape stored native histograms (histogram_count works only on those).
            counts = wait_for(client, f"histogram_count({METRIC})", 2, deadline)
            assert set(counts) == set(SLOW_SHARE)
            ratio = wait_for(client, 'slo:sli_error:ratio_rate5m{sloth_id="shop-rpc-latency"}', 2, deadline)
            assert ratio["checkout"] == pytest.approx(0.2, abs=0.01)
            assert ratio["search"] == pytest.approx(0.0, abs=1e-9)
            # The page alert's condition (Pyrra's 14x over 5m and 1h) holds for the slow route only.
            burning = wait_for(client, page["expr"], 1, deadline)
            assert set(burning) == {"checkout"}
