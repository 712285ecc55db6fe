"""`make snapshot`: the renderer's arithmetic, and a real PNG of the service dashboard from a real Prometheus.

The Prometheus here scrapes a tiny exporter that serves every metric the service dashboard reads, growing
with time, under both service job names; no services, no promtool data.
"""

from __future__ import annotations

import argparse
import math
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stack.config import PrometheusTargets, prometheus_config
from stack.dashboards import expand, legend_name, load_dashboard, panel_queries, time_variables
from stack.local import LOOPBACK, REPO_ROOT, free_port, http_status, start_prometheus
from stack.prometheus_api import PrometheusClient
from stack.snapshot import TimeRange, snapshot_dashboard
from stack.snapshot.chromium import png_size
from stack.snapshot.cli import choices_for, parse_choice
from stack.snapshot.data import PanelData
from stack.snapshot.page import page_height, panel_box
from stack.snapshot.panels import Box, merged_rows, render_stat, render_table, render_timeseries
from stack.snapshot.values import format_value, mapped, nice_ticks, threshold_color

SERVICE_DASHBOARD = REPO_ROOT / "dashboards" / "volatility-service.json"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0, 10.0)


# ---------------------------------------------------------------------------------------------------------
# Arithmetic


@pytest.mark.parametrize(
    ("value", "unit", "decimals", "text"),
    [
        (0.9871, "percentunit", None, "98.7%"),
        (0.99999, "percentunit", 3, "99.999%"),
        (812.0, "ms", None, "812 ms"),
        (1500.0, "ms", None, "1.50 s"),
        (0.25, "s", None, "250 ms"),
        (90.0, "s", None, "1.50 min"),
        (14.4, "suffix:×", 1, "14.4×"),
        (12.5, "reqps", None, "12.50 req/s"),
        (2500.0, "short", None, "2.50 K"),
        (3.0, "none", None, "3"),
    ],
)
def test_values_are_formatted_like_grafana(value: float, unit: str, decimals: int | None, text: str) -> None:
    assert format_value(value, unit, decimals) == text


def test_thresholds_mappings_and_ticks() -> None:
    steps = {"steps": [{"color": "red", "value": None}, {"color": "orange", "value": 0.0},
                       {"color": "green", "value": 0.5}]}  # fmt: skip
    assert threshold_color(-1.0, steps) == "#F2495C"
    assert threshold_color(0.2, steps) == "#FF9830"
    assert threshold_color(0.5, steps) == "#73BF69"
    mappings = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP"}}}]
    assert mapped(0.0, mappings) == ("DOWN", "#F2495C")
    assert mapped(1.0, mappings)[0] == "UP"  # type: ignore[index]
    assert mapped(0.5, mappings) is None
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0.99, 1.0)[0] >= 0.99 and nice_ticks(0.99, 1.0)[-1] <= 1.0


def test_panels_sit_on_grafanas_grid() -> None:
    """24 columns with 8 px gaps: two half-width panels and their gap span exactly one full-width panel."""
    half, full = panel_box({"w": 12, "h": 8}, 1600), panel_box({"w": 24, "h": 8}, 1600)
    assert 2 * (half.width + 18) + 8 == pytest.approx(full.width + 18)
    assert panel_box({"w": 6, "h": 1}, 1600).height < panel_box({"w": 6, "h": 2}, 1600).height
    dashboard = load_dashboard(SERVICE_DASHBOARD)
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    assert page_height(dashboard) == 64 + bottom * 38 + 16


def test_queries_are_expanded_like_grafana() -> None:
    dashboard = load_dashboard(SERVICE_DASHBOARD)
    variables = time_variables(range_seconds=1800, step_seconds=15, scrape_interval_seconds=15)
    assert variables == {"__range": "1800s", "__interval": "15s", "__rate_interval": "60s"}
    expanded = [expand(q.expr, variables) for q in panel_queries(dashboard)]
    assert expanded and not any("$" in e for e in expanded)
    with pytest.raises(KeyError, match=r"\$service"):
        expand('up{job=~"$service"}', variables)
    assert legend_name("{{job}} {{instance}}", {"job": "api", "instance": "h:1"}) == "api h:1"
    assert legend_name("__auto", {"__name__": "up", "job": "api"}) == 'up{job="api"}'


def test_the_overview_table_is_merged_sorted_and_formatted_as_grafana_does() -> None:
    board = load_dashboard(REPO_ROOT / "dashboards" / "slo-overview.json")
    (table,) = [p for p in board["panels"] if p["title"] == "Every SLO, worst error budget first"]
    data = PanelData()
    for slo, values in {"a": (0.99, 0.995, 0.5, 0.5), "b": (0.999, 0.9985, -0.5, 1.5)}.items():
        labels = {"sloth_service": "svc", "sloth_slo": slo, "sloth_id": f"svc-{slo}"}
        for ref_id, value in zip("ABCD", values, strict=True):
            data.series.append(("", {"__name__": "x", **labels}, [(0.0, value)]))
            data.ref_ids.append(ref_id)
    merged = merged_rows(table, data)
    assert merged is not None
    columns, rows = merged
    assert columns == ["Service", "SLO", "Objective", "SLI (period)", "Budget remaining", "Burn rate now"]
    assert [r["SLO"] for r in rows] == ["b", "a"]  # the worst budget first
    html = render_table(table, data, Box(800, 300))
    assert html.index("-50.0%") < html.index("50.0%") and "1.50×" in html and "99.850%" in html


def test_a_variable_can_be_chosen_for_one_dashboard() -> None:
    choices = [parse_choice("slo-detail:slo=prediction-latency"), parse_choice("service=volatility-api")]
    assert choices_for("slo-detail", choices) == {"slo": "prediction-latency", "service": "volatility-api"}
    assert choices_for("slo-overview", choices) == {"service": "volatility-api"}
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=VALUE"):
        parse_choice("slo-detail:prediction-latency")


def test_empty_panels_say_no_data_and_values_use_mappings() -> None:
    window = TimeRange(0.0, 600.0, 15.0)
    panel = {"type": "timeseries", "fieldConfig": {"defaults": {"unit": "ms"}}}
    assert "No data" in render_timeseries(panel, PanelData(), Box(400, 200), window)
    stat = {
        "type": "stat",
        "options": {"colorMode": "background", "textMode": "auto"},
        "fieldConfig": {"defaults": {"mappings": [{"type": "value", "options": {"0": {"text": "DOWN",
                                                                                      "color": "red"}}}]}},
    }  # fmt: skip
    html = render_stat(stat, PanelData(series=[("health", {}, [(0.0, 1.0), (15.0, 0.0)])]), Box(200, 100))
    assert "DOWN" in html and "#F2495C" in html


# ---------------------------------------------------------------------------------------------------------
# A real PNG


def exposition(t: float) -> str:
    """Every metric the service dashboard reads, as counters growing with `t` seconds and steady gauges."""
    ok, failed = 20 * t, 0.2 * t
    lines = [
        f'volatility_api_requests_total{{method="POST",endpoint="/predict",status="200"}} {ok}',
        f'volatility_api_requests_total{{method="POST",endpoint="/predict",status="500"}} {failed}',
        f'volatility_api_requests_total{{method="GET",endpoint="/health",status="200"}} {t}',
        f'volatility_api_errors_total{{endpoint="/predict",error_type="injected"}} {failed}',
        f'volatility_predictions_total{{prediction="0"}} {15 * t}',
        f'volatility_predictions_total{{prediction="1"}} {5 * t}',
        "volatility_api_health_status 1",
        'volatility_model_info{variant="ml",version="v1"} 1',
        f"volatility_consumer_lag_seconds {0.2 + 0.1 * math.sin(t)}",
        "volatility_consumer_processing_rate 10",
        f"volatility_consumer_messages_processed_total {10 * t}",
        f'volatility_consumer_errors_total{{error_type="bad_json"}} {0.4 * t}',
    ]
    total = ok + failed
    for le in LATENCY_BUCKETS:
        share = min(1.0, 0.5 + le * 20)
        lines.append(f'volatility_prediction_latency_seconds_bucket{{le="{le}"}} {total * share}')
        lines.append(f'volatility_consumer_processing_seconds_bucket{{le="{le}"}} {t * share}')
    lines += [
        f'volatility_prediction_latency_seconds_bucket{{le="+Inf"}} {total}',
        f"volatility_prediction_latency_seconds_count {total}",
        f"volatility_prediction_latency_seconds_sum {total * 0.01}",
        f'volatility_consumer_processing_seconds_bucket{{le="+Inf"}} {t}',
        f"volatility_consumer_processing_seconds_count {t}",
        f"volatility_consumer_processing_seconds_sum {t * 0.01}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus missing: install Debian's prometheus package (as root)")
    started = time.time()

    class Exporter(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exposition(time.time() - started).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    exporter = ThreadingHTTPServer((LOOPBACK, 0), Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    address = f"{LOOPBACK}:{exporter.server_address[1]}"
    work = tmp_path_factory.mktemp("snapshot")
    port = free_port()
    config = work / "prometheus.yml"
    targets = PrometheusTargets(api=address, consumer=address, prometheus=f"{LOOPBACK}:{port}")
    config.write_text(prometheus_config(targets, [], scrape_interval="1s", evaluation_interval="1s"))
    server = start_prometheus(config, work / "data", port, work / "prometheus.log")
    try:
        deadline = time.monotonic() + 30
        while http_status(f"http://{LOOPBACK}:{port}/-/ready") != 200:
            assert server.running and time.monotonic() < deadline, server.log_tail()
            time.sleep(0.1)
        client = PrometheusClient(f"http://{LOOPBACK}:{port}")
        deadline = time.monotonic() + 30
        while not client.query('count_over_time(up{job="volatility-consumer"}[1m]) >= 6'):
            assert time.monotonic() < deadline, "Prometheus scraped the exporter fewer than 6 times in 30 s"
            time.sleep(0.5)
        yield client
    finally:
        server.stop()
        exporter.shutdown()
        exporter.server_close()


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_service_dashboard_snapshot_is_a_full_png(prometheus: PrometheusClient, tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        pytest.fail("chromium missing: install Debian's chromium package (as root)")
    end = time.time()
    result = snapshot_dashboard(SERVICE_DASHBOARD, prometheus, TimeRange(end - 60, end, 1.0), tmp_path)
    dashboard = load_dashboard(SERVICE_DASHBOARD)
    assert result.png == tmp_path / "volatility-service.png"
    assert png_size(result.png) == (1600, page_height(dashboard))
    assert result.empty_panels == []
    assert all(not p.errors for p in result.panels), [p.errors for p in result.panels]
    assert len(result.panels) == sum(1 for p in dashboard["panels"] if p["type"] != "row")
    from PIL import Image

    with Image.open(result.png) as image:
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 50, "the screenshot is (nearly) blank"
