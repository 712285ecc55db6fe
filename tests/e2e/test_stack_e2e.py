"""End to end on a real Prometheus: the local stack under load, faults injected, alerts delivered, rollback.

The tests of this module are the steps of one scenario and run in file order on one stack (module fixture):

1. healthy: every target up, nothing firing, Prometheus' counters equal the requests the driver sent;
2. errors: 20% injected 5xx fire ApiErrorBudgetBurn (page) and HighErrorRate, in Prometheus, in Alertmanager
   and at the page/ticket webhooks; the SLI, burn rate and budget match the traffic the driver sent;
3. the consumer stops: PredictionFreshnessBudgetBurn and ConsumerDown fire (and nothing about the API); a new
   consumer then catches up;
4. the API dies: ApiAvailabilityBudgetBurn and ApiDown fire — on the committed rules too;
5. rollback: the API restarts with MODEL_VARIANT=baseline and Prometheus sees the variant change;
6. drift: the drift job publishes a drifted window and FeatureDriftBudgetBurn / FeatureDriftHigh fire;
7. every recording rule (test rules and committed rules) has samples, every dashboard query returns data.

Two Prometheus servers scrape the same processes every second:
- the stack's own, loading rules compiled by `slogen` from a copy of slo/ with a 1-hour SLO period and
  10 s .. 15 min alert windows (FAST_WINDOWS), so burn-rate alerts fire within seconds. In that copy the
  threshold alerts' `for:` (1m-1h) becomes 2s and the per-alert `for:` of the drift SLO's page is dropped;
  the no-data alerts keep theirs (10m, 3h: they go pending here, never firing).
- a reference one loading the committed alerts/*.yaml unchanged: the recording rules and dashboards are
  proven on the files that ship. Their 5m .. 30d windows are longer than this run, so `rate` and
  `avg_over_time` cover the run itself: an outage of a few seconds in a 3-minute run is well above 14.4x the
  0.1% availability budget, and the committed ApiAvailabilityBudgetBurn pages too (step 4 checks it).

Traffic: stack.traffic's paced client, in-process (20 requests/s on one keep-alive connection), logs every
answer; one burst comes from stack.load_test; the producer publishes 10 messages/s with every 25th one poison
(DLQ path and consumer error metrics). The ml model is trained for the run (3 s on a 2-hour simulated stream).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from stack.config import PrometheusTargets, prometheus_config
from stack.dashboards import (
    all_values,
    expand,
    load_dashboard,
    panel_queries,
    time_variables,
    variable_queries,
)
from stack.http import http_status
from stack.local import REPO_ROOT, LocalStack, StackSettings, start_prometheus
from stack.ports import LOOPBACK, free_port
from stack.processes import ManagedProcess
from stack.prometheus_api import PrometheusClient, alertmanager_alerts
from stack.traffic import PacedClient, feature_bodies

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRAPE_SECONDS = 1.0
ERROR_RATE = 0.2
DRIVER_RATE = 20.0
FAST_PERIOD = "1h"
# Burn factors (budget% x period / 100 / long window): page 3x (10s & 1m) and 2x (30s & 3m), ticket 2x (1m & 6m)
# and 1x (2m & 15m). The smallest window (10s) is the base of slo:current_burn_rate:ratio and the period SLI.
FAST_WINDOWS = """\
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 1h
  page:
    quick: {errorBudgetPercent: 5, shortWindow: 10s, longWindow: 1m}
    slow: {errorBudgetPercent: 10, shortWindow: 30s, longWindow: 3m}
  ticket:
    quick: {errorBudgetPercent: 20, shortWindow: 1m, longWindow: 6m}
    slow: {errorBudgetPercent: 25, shortWindow: 2m, longWindow: 15m}
"""
BASE_WINDOW = "10s"
THRESHOLD_FOR = "2s"
REQUESTS_BY_STATUS = 'sum by (status) (volatility_api_requests_total{job="volatility-api",endpoint="/predict"})'
SLO_ALERTS = (
    "PredictionLatencyBudgetBurn",
    "ApiErrorBudgetBurn",
    "EndpointErrorBudgetBurn",
    "ApiAvailabilityBudgetBurn",
    "PredictionFreshnessBudgetBurn",
    "FeatureDriftBudgetBurn",
)


# ---------------------------------------------------------------------------------------------------------
# Helpers: the traffic driver, the webhook receiver, rule compilation, waiting


class WebhookSink:
    """Alertmanager's webhook receiver: records every notification by path (/page, /ticket)."""

    def __init__(self) -> None:
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with lock:
                    sink.notifications.append((self.path, payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self, path: str, alertname: str, status: str = "firing") -> bool:
        return any(
            alert["labels"].get("alertname") == alertname and alert.get("status") == status
            for where, payload in list(self.notifications)
            if where == path
            for alert in payload.get("alerts", [])
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fast_specs(source: Path, target: Path) -> None:
    """Copy slo/ with the changes the module docstring lists: default period, short `for:`s."""
    for path in sorted(source.rglob("*.y*ml")):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        documents = list(yaml.safe_load_all(path.read_text()))
        specs = [d for d in documents if isinstance(d, dict) and d.get("version") == "prometheus/v1"]
        if not specs:  # dashboards and anything else: verbatim
            shutil.copyfile(path, out)
            continue
        for document in specs:
            for slo in document.get("slos", []):
                slo.pop("period", None)
                for key in ("page_alert", "ticket_alert"):
                    (slo.get("alerting", {}).get(key) or {}).pop("for", None)
            for alert in document.get("threshold_alerts", []):
                if "for" in alert:
                    alert["for"] = THRESHOLD_FOR
        out.write_text(yaml.safe_dump_all(documents, sort_keys=False))


def compile_fast_rules(work: Path) -> Path:
    specs, windows, rules = work / "slo-fast", work / "windows", work / "rules-fast"
    fast_specs(REPO_ROOT / "slo", specs)
    windows.mkdir()
    (windows / "fast-1h.yaml").write_text(FAST_WINDOWS)
    slogen = Path(sys.executable).with_name("slogen")
    command = [str(slogen)] if slogen.exists() else [sys.executable, "-m", "codegen"]
    subprocess.run(
        [*command, "generate", "-i", str(specs), "-o", str(rules), "--slo-period-windows-path", str(windows),
         "--default-slo-period", FAST_PERIOD],
        check=True, cwd=REPO_ROOT, capture_output=True,
    )  # fmt: skip
    return rules


def recording_rules(rule_dir: Path) -> list[tuple[str, dict[str, str]]]:
    """(record, static labels) of every recording rule in the top-level rule files of `rule_dir`."""
    found = []
    for path in sorted(rule_dir.glob("*.yaml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    found.append((str(rule["record"]), {k: str(v) for k, v in (rule.get("labels") or {}).items()}))
    return found


def selector(name: str, labels: dict[str, str]) -> str:
    matchers = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{matchers}}}" if matchers else name


def wait_until(check: Callable[[], bool], timeout: float, what: str, why: Callable[[], str] = lambda: "") -> float:
    """Poll `check` every 0.5 s; returns the seconds it took, fails with `why()` after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout}s. {why()}")


def drift_json(path: Path, share: float) -> Path:
    """A drift metrics document as services.ml.drift writes it (the part `--serve --from-json` publishes)."""
    from services.ml.features import FEATURE_COLUMNS

    drifted = round(share * len(FEATURE_COLUMNS))
    features = [
        {"name": name, "method": "Wasserstein distance (normed)", "score": 2.0 if i < drifted else 0.2,
         "drifted": i < drifted}
        for i, name in enumerate(FEATURE_COLUMNS)
    ]  # fmt: skip
    current = {"drift_share": drifted / len(FEATURE_COLUMNS), "features": features,
               "current": {"end_epoch": int(time.time())}}  # fmt: skip
    path.write_text(json.dumps({"comparisons": {"current": current}}))
    return path


# ---------------------------------------------------------------------------------------------------------
# The scenario fixture


@dataclass
class Scenario:
    stack: LocalStack
    prom: PrometheusClient  # the stack's Prometheus: fast rules, sends to Alertmanager
    reference: PrometheusClient  # committed alerts/*.yaml
    am_url: str
    webhook: WebhookSink
    driver: PacedClient
    work: Path
    fast_rules: Path
    started: float
    burst_ok: int = 0
    marks: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def firing(self, alertname: str, client: PrometheusClient | None = None, **labels: str) -> bool:
        matchers = "".join(f', {k}="{v}"' for k, v in labels.items())
        query = f'ALERTS{{alertname="{alertname}", alertstate="firing"{matchers}}}'
        return bool((client or self.prom).query(query))

    def active_alerts(self, client: PrometheusClient | None = None) -> str:
        alerts = (client or self.prom).alerts()
        return "active alerts: " + ", ".join(
            f"{a['labels']['alertname']}[{a['labels'].get('severity')}]={a['state']}" for a in alerts
        )

    def in_alertmanager(self, alertname: str, severity: str) -> bool:
        return any(
            a["labels"].get("alertname") == alertname and a["labels"].get("severity") == severity
            for a in alertmanager_alerts(self.am_url)
        )

    def firing_slo_alerts(self) -> set[str]:
        names = {s.labels["alertname"] for s in self.prom.query('ALERTS{alertstate="firing"}')}
        return names & set(SLO_ALERTS)


def _require(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.fail(f"{binary} missing: install Debian's prometheus and prometheus-alertmanager (as root)")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    for binary in ("prometheus", "prometheus-alertmanager"):
        _require(binary)
    work = tmp_path_factory.mktemp("e2e")
    model_path = work / "models" / "ml"
    training = subprocess.Popen(
        [sys.executable, "-m", "services.ml.training", "--no-mlflow", "--seconds", "7200", "--model-path",
         str(model_path)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    fast_rules = compile_fast_rules(work)
    _, training_err = training.communicate(timeout=120)
    assert training.returncode == 0, f"training failed: {training_err.decode()[-2000:]}"

    webhook = WebhookSink()
    settings = StackSettings(
        state_dir=work / "stack",
        rule_files=(str(fast_rules / "*.yaml"),),
        scrape_interval="1s",
        evaluation_interval="1s",
        model_variant="ml",
        fault_injection=True,
        producer_rate=10.0,
        producer_poison_every=25,
        producer_duration_seconds=900.0,
        prefer_default_ports=False,
        webhook_url=webhook.url,
        alert_group_wait="1s",
        alert_group_interval="5s",
        service_env={"MODEL_PATH": str(model_path), "MLFLOW_TRACKING_URI": ""},
        train_if_missing=False,
        client_rate=0,  # the test drives the API itself, to keep a log of every answer
        drift_json=drift_json(work / "drift-normal.json", 0.0),
    )
    stack = LocalStack(settings)
    reference: ManagedProcess | None = None
    driver: PacedClient | None = None
    try:
        stack.start()
        ref_port = free_port()
        targets = PrometheusTargets(
            api=f"{LOOPBACK}:{stack.ports['api']}",
            consumer=f"{LOOPBACK}:{stack.ports['consumer']}",
            prometheus=f"{LOOPBACK}:{ref_port}",
            drift=f"{LOOPBACK}:{stack.ports['drift']}",
        )
        ref_config = work / "reference-prometheus.yml"
        ref_config.write_text(
            prometheus_config(
                targets, [str(REPO_ROOT / "alerts" / "*.yaml")], scrape_interval="1s", evaluation_interval="1s",
                external_labels={"ruleset": "committed"},
            )
        )  # fmt: skip
        reference = start_prometheus(ref_config, work / "reference-data", ref_port, work / "reference.log")
        deadline = time.monotonic() + 30
        while http_status(f"http://{LOOPBACK}:{ref_port}/-/ready") != 200:
            assert reference.running and time.monotonic() < deadline, reference.log_tail()
            time.sleep(0.1)
        driver = PacedClient(stack.url("api"), feature_bodies(), DRIVER_RATE)
        driver.start()
        yield Scenario(
            stack=stack,
            prom=PrometheusClient(stack.url("prometheus")),
            reference=PrometheusClient(f"http://{LOOPBACK}:{ref_port}"),
            am_url=stack.url("alertmanager"),
            webhook=webhook,
            driver=driver,
            work=work,
            fast_rules=fast_rules,
            started=time.time(),
        )
    finally:
        if driver is not None:
            driver.stop()
        if reference is not None:
            reference.stop()
        stack.stop()
        webhook.close()


# ---------------------------------------------------------------------------------------------------------
# 1. healthy


@pytest.mark.timeout(180)
def test_healthy_stack_is_scraped_and_quiet(scenario: Scenario) -> None:
    s = scenario
    jobs = {"volatility-api", "volatility-consumer", "volatility-drift"}

    def all_up(client: PrometheusClient) -> bool:
        return {t.labels["job"] for t in client.query("up == 1")} >= jobs

    def targets() -> str:
        return json.dumps([(t["labels"]["job"], t["health"], t["lastError"]) for t in s.prom.targets()])

    wait_until(lambda: all_up(s.prom) and all_up(s.reference), 30, "every target up", targets)
    # A burst through the project's load tool, on top of the paced driver.
    burst = subprocess.run(
        [sys.executable, "-m", "stack.load_test", "--url", s.stack.url("api"), "--requests", "300",
         "--concurrency", "4", "--json-out", str(s.work / "burst.json")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert burst.returncode == 0, burst.stdout + burst.stderr
    report = json.loads((s.work / "burst.json").read_text())
    assert report["completed"] == 300 and report["by_status"] == {"200": 300}
    s.burst_ok = 300
    # Lag is measured, predictions flow, poison goes to the DLQ path.
    wait_until(lambda: (s.prom.value('sum(volatility_consumer_predictions_made_total{job="volatility-consumer"})')
                        or 0) > 50, 30, "consumer predictions")  # fmt: skip
    wait_until(lambda: bool(s.prom.query('volatility_consumer_errors_total{error_type=~"bad_json|invalid_message"}')),
               30, "poison messages counted")  # fmt: skip
    lag = s.prom.value('max(volatility_consumer_lag_seconds{job="volatility-consumer"})')
    assert lag is not None and 0 <= lag < 30, f"consumer lag {lag}"
    # Healthy for 12 s more (longer than the 10 s base window): no alert at all may fire or be pending,
    # except the no-data alerts of series that only exist after the first error (none here: checked below).
    time.sleep(12)
    firing = s.prom.query('ALERTS{alertstate="firing"}')
    assert not firing, s.active_alerts()
    pending = {a.labels["alertname"] for a in s.prom.query('ALERTS{alertstate="pending"}')}
    assert not pending & set(SLO_ALERTS), s.active_alerts()
    for slo in ("api-errors", "prediction-latency", "api-availability", "prediction-freshness", "feature-drift"):
        value = s.prom.value(f'slo:sli_error:ratio_rate{BASE_WINDOW}{{sloth_slo="{slo}"}}')
        assert value == 0.0, f"{slo}: error ratio {value} on healthy traffic"
    # Exact accounting: pause, let two scrapes pass, compare every request with Prometheus' counters.
    s.driver.pause()
    time.sleep(2.5 * SCRAPE_SECONDS)
    sent = s.driver.statuses()
    counted = {r.labels["status"]: r.value for r in s.prom.query(REQUESTS_BY_STATUS)}
    s.driver.resume()
    assert set(sent) == {"200"}, sent
    assert counted == {"200": sent["200"] + s.burst_ok}, (counted, sent)


# ---------------------------------------------------------------------------------------------------------
# 2. errors


def _set_faults(s: Scenario, error_rate: float, latency_seconds: float) -> None:
    faults = {"error_rate": error_rate, "latency_seconds": latency_seconds}
    response = httpx.post(f"{s.stack.url('api')}/admin/faults", json=faults, timeout=5)
    assert response.status_code == 200, f"/admin/faults refused: {response.status_code} {response.text[:200]}"


def _clear_faults(s: Scenario) -> None:
    response = httpx.delete(f"{s.stack.url('api')}/admin/faults", timeout=5)
    assert response.status_code == 200, f"DELETE /admin/faults: {response.status_code} {response.text[:200]}"


@pytest.mark.timeout(180)
def test_injected_errors_fire_error_alerts_and_match_the_traffic(scenario: Scenario) -> None:
    s = scenario
    api = s.stack.url("api")
    _set_faults(s, error_rate=ERROR_RATE, latency_seconds=0.0)
    s.marks["errors_on"] = errors_on = time.time()
    took = wait_until(
        lambda: s.firing("ApiErrorBudgetBurn", severity="critical") and s.firing("HighErrorRate"),
        90, "ApiErrorBudgetBurn (page) and HighErrorRate firing", s.active_alerts,
    )  # fmt: skip
    s.notes.append(f"error alerts fired {took:.0f}s after 20% errors began")
    wait_until(lambda: s.in_alertmanager("ApiErrorBudgetBurn", "critical") and s.in_alertmanager("HighErrorRate",
               "warning"), 20, "error alerts in Alertmanager")  # fmt: skip
    wait_until(lambda: s.webhook.received("/page", "ApiErrorBudgetBurn")
               and s.webhook.received("/ticket", "HighErrorRate"), 30,
               "page and ticket notifications", lambda: str(s.webhook.notifications)[-2000:])  # fmt: skip

    # The grouped SLO (one per endpoint) pages for /predict alone: /health keeps answering 200 meanwhile, so its
    # group has traffic, a zero error ratio and no alert.
    def grouped_ratios() -> dict[str, float]:
        http_status(f"{api}/health")  # keeps a second, healthy group in the SLI windows
        query = f'slo:sli_error:ratio_rate{BASE_WINDOW}{{sloth_slo="api-errors-by-endpoint"}}'
        return {r.labels["endpoint"]: r.value for r in s.prom.query(query)}

    wait_until(
        lambda: (
            s.firing("EndpointErrorBudgetBurn", endpoint="/predict", severity="critical")
            and "/health" in grouped_ratios()
        ),
        60,
        "EndpointErrorBudgetBurn (page) for /predict, /health recorded",
        s.active_alerts,
    )
    grouped = grouped_ratios()
    assert grouped["/health"] == 0.0 and grouped["/predict"] > 0.1, grouped
    burning = {r.labels.get("endpoint") for r in s.prom.query('ALERTS{alertname="EndpointErrorBudgetBurn"}')}
    assert burning == {"/predict"}, burning
    # Only the error SLOs burn: the API is up and fast, the consumer fresh.
    assert s.firing_slo_alerts() == {"ApiErrorBudgetBurn", "EndpointErrorBudgetBurn"}, s.active_alerts()

    # Let the errors run over a full 30 s window, then read the SLO figures at that instant.
    time.sleep(max(0.0, errors_on + 32 - time.time()))
    at = time.time() - 1.5
    s.driver.pause()
    time.sleep(2.5 * SCRAPE_SECONDS)
    sent_all = s.driver.statuses()
    counted = {r.labels["status"]: r.value for r in s.prom.query(REQUESTS_BY_STATUS)}
    _clear_faults(s)
    s.driver.resume()

    # Every request counted exactly; the injector fails exactly one request in five.
    assert counted == {"200": sent_all["200"] + s.burst_ok, "500": sent_all["500"]}, (counted, sent_all)
    during = s.driver.statuses(since=errors_on)
    assert abs(during["500"] - math.floor(ERROR_RATE * (during["500"] + during["200"]))) <= 1, during

    def driver_ratio(start: float, end: float) -> float | None:
        window = s.driver.statuses(since=start, until=end)
        total = window["200"] + window["500"]
        return window["500"] / total if total else None

    # SLI over 10 s and 30 s windows inside the error phase = the injected share; burn rate = share / budget.
    for window, seconds in ((BASE_WINDOW, 10), ("30s", 30)):
        prom_ratio = s.prom.value(f'slo:sli_error:ratio_rate{window}{{sloth_slo="api-errors"}}', at)
        sent_ratio = driver_ratio(at - seconds, at)
        assert prom_ratio is not None and sent_ratio is not None
        assert prom_ratio == pytest.approx(ERROR_RATE, abs=0.03), window
        assert prom_ratio == pytest.approx(sent_ratio, abs=0.03), window
    burn = s.prom.value('slo:current_burn_rate:ratio{sloth_slo="api-errors"}', at)
    assert burn == pytest.approx(ERROR_RATE / 0.01, abs=3.0)

    # The period SLI is the traffic-weighted error ratio of the period (slogen.dev/exact_sli/v1 sums 5m tiles): all
    # errors over all requests of the run so far (shorter than the 1h period), the burst's extra successes included.
    run = s.driver.statuses(until=at)
    expected = run["500"] / (run["500"] + run["200"] + s.burst_ok)
    period_ratio = s.prom.value(f'slo:sli_error:ratio_rate{FAST_PERIOD}{{sloth_slo="api-errors"}}', at)
    remaining = s.prom.value('slo:period_error_budget_remaining:ratio{sloth_slo="api-errors"}', at)
    assert period_ratio is not None and remaining is not None
    assert period_ratio == pytest.approx(expected, abs=0.01, rel=0.1)
    # Same formula, one evaluation apart at most (the meta group reads the SLI group's previous sample).
    assert remaining == pytest.approx(1 - period_ratio / 0.01, abs=0.5)
    assert remaining == pytest.approx(1 - expected / 0.01, abs=1.5)
    s.notes.append(f"api-errors at the check: 10s SLI {1 - ERROR_RATE:.2f} expected; period error ratio "
                   f"{period_ratio:.4f} (driver {expected:.4f}); budget remaining {remaining:.2f}")  # fmt: skip

    # The committed rules agree: their 5m window covers the whole run so far.
    committed = s.reference.value('slo:sli_error:ratio_rate5m{sloth_slo="api-errors"}', at)
    overall = run["500"] / (run["500"] + run["200"] + s.burst_ok)
    assert committed == pytest.approx(overall, abs=0.01, rel=0.15), (committed, overall)
    # No request was slow: the latency SLI is exactly 0 on both rule sets.
    assert s.prom.value(f'slo:sli_error:ratio_rate{BASE_WINDOW}{{sloth_slo="prediction-latency"}}', at) == 0.0
    assert s.reference.value('slo:sli_error:ratio_rate5m{sloth_slo="prediction-latency"}', at) == 0.0


# ---------------------------------------------------------------------------------------------------------
# 2b. slow predictions


@pytest.mark.timeout(180)
def test_injected_latency_fires_latency_alerts_then_clears(scenario: Scenario) -> None:
    """Every /predict takes 0.9 s (between the 0.8 s and 1 s buckets): the latency SLO pages, HighLatency fires."""
    s = scenario
    _set_faults(s, error_rate=0.0, latency_seconds=0.9)
    slow_from = time.time()
    try:
        took = wait_until(
            lambda: s.firing("PredictionLatencyBudgetBurn", severity="critical") and s.firing("HighLatency"),
            90, "PredictionLatencyBudgetBurn (page) and HighLatency firing", s.active_alerts,
        )  # fmt: skip
        s.notes.append(f"latency alerts fired {took:.0f}s after every prediction became 0.9 s slow")
        wait_until(lambda: s.in_alertmanager("PredictionLatencyBudgetBurn", "critical"), 20,
                   "latency page in Alertmanager")  # fmt: skip
        time.sleep(max(0.0, slow_from + 12 - time.time()))
        # Only slow requests completed in the last 10 s: the SLI is (nearly) all bad, p95 sits in (0.8, 1].
        ratio = s.prom.value(f'slo:sli_error:ratio_rate{BASE_WINDOW}{{sloth_slo="prediction-latency"}}')
        assert ratio is not None and ratio > 0.8, ratio
        p95 = s.prom.value(
            "histogram_quantile(0.95, sum by (le) "
            '(rate(volatility_prediction_latency_seconds_bucket{job="volatility-api"}[10s])))'
        )
        assert p95 is not None and 0.8 < p95 <= 1.0, p95
    finally:
        _set_faults(s, error_rate=0.0, latency_seconds=0.0)
    # Fast again: the page clears once its 10 s and 30 s windows no longer see slow requests.
    wait_until(lambda: not s.firing("PredictionLatencyBudgetBurn", severity="critical"), 90,
               "latency page resolved after the fault", s.active_alerts)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# 3. consumer stops


@pytest.mark.timeout(120)
def test_stopped_consumer_fires_freshness_alerts(scenario: Scenario) -> None:
    s = scenario
    assert s.stack.components["consumer"].stop() == 0, s.stack.components["consumer"].log_tail()
    stopped = time.time()
    took = wait_until(
        lambda: s.firing("PredictionFreshnessBudgetBurn", severity="critical") and s.firing("ConsumerDown"),
        60, "PredictionFreshnessBudgetBurn (page) and ConsumerDown firing", s.active_alerts,
    )  # fmt: skip
    s.notes.append(f"freshness alerts fired {took:.0f}s after the consumer stopped")
    wait_until(lambda: s.in_alertmanager("PredictionFreshnessBudgetBurn", "critical")
               and s.in_alertmanager("ConsumerDown", "critical"), 20, "freshness alerts in Alertmanager")  # fmt: skip
    wait_until(lambda: s.webhook.received("/page", "PredictionFreshnessBudgetBurn")
               and s.webhook.received("/page", "ConsumerDown"), 30, "freshness pages")  # fmt: skip
    pending = {a.labels["alertname"] for a in s.prom.query('ALERTS{alertstate="pending"}')}
    assert "PredictionFreshnessBudgetBurnNoData" in pending, s.active_alerts()
    assert not s.firing("ApiAvailabilityBudgetBurn") and not s.firing("ApiDown"), s.active_alerts()
    # Every slice since the stop is bad (a consumer that is not scraped is not fresh).
    time.sleep(max(0.0, stopped + 12 - time.time()))
    assert s.prom.value(f'slo:sli_error:ratio_rate{BASE_WINDOW}{{sloth_slo="prediction-freshness"}}') == 1.0

    # Recovery: a new consumer joins the group, catches up on the backlog and is fresh again.
    s.stack.start_consumer()
    wait_until(
        lambda: (s.prom.value('sum(volatility_consumer_predictions_made_total{job="volatility-consumer"})') or 0) > 0
        and s.prom.value(f'slo:sli_error:ratio_rate{BASE_WINDOW}{{sloth_slo="prediction-freshness"}}') == 0.0,
        40, "the restarted consumer predicting with lag under 30 s",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# 4. API dies, 5. rollback


@pytest.mark.timeout(150)
def test_dead_api_fires_availability_alerts_and_rollback_to_baseline(scenario: Scenario) -> None:
    s = scenario
    info = s.prom.query('volatility_model_info{job="volatility-api"} == 1')
    assert [r.labels["variant"] for r in info] == ["ml"], info
    s.stack.components["api"].kill()
    killed = time.time()
    took = wait_until(
        lambda: s.firing("ApiAvailabilityBudgetBurn", severity="critical") and s.firing("ApiDown"),
        60, "ApiAvailabilityBudgetBurn (page) and ApiDown firing", s.active_alerts,
    )  # fmt: skip
    s.notes.append(f"availability alerts fired {took:.0f}s after the API was killed")
    wait_until(lambda: s.in_alertmanager("ApiAvailabilityBudgetBurn", "critical")
               and s.in_alertmanager("ApiDown", "critical"), 20, "availability alerts in Alertmanager")  # fmt: skip
    wait_until(lambda: s.webhook.received("/page", "ApiAvailabilityBudgetBurn")
               and s.webhook.received("/page", "ApiDown"), 30, "availability pages")  # fmt: skip
    wait_until(lambda: s.firing("ApiAvailabilityBudgetBurn", s.reference, severity="critical"), 30,
               "committed ApiAvailabilityBudgetBurn firing on the reference Prometheus",
               lambda: s.active_alerts(s.reference))  # fmt: skip
    time.sleep(max(0.0, killed + 12 - time.time()))
    assert s.prom.value(f'slo:sli_error:ratio_rate{BASE_WINDOW}{{sloth_slo="api-availability"}}') == 1.0

    # Rollback: same port, MODEL_VARIANT=baseline; Prometheus sees the variant change.
    s.stack.start_api(model_variant="baseline")
    wait_until(
        lambda: [r.labels["variant"] for r in s.prom.query('volatility_model_info{job="volatility-api"} == 1')]
        == ["baseline"]
        and s.prom.value('min(up{job="volatility-api"}) * min(volatility_api_health_status{job="volatility-api"})')
        == 1.0,
        20, "the API serving the baseline model, as Prometheus sees it",
    )  # fmt: skip
    restarted = time.time()
    time.sleep(2)
    assert set(s.driver.statuses(since=restarted)) == {"200"}, s.driver.statuses(since=restarted)


# ---------------------------------------------------------------------------------------------------------
# 6. drift


@pytest.mark.timeout(90)
def test_drifted_features_fire_the_drift_alerts(scenario: Scenario) -> None:
    s = scenario
    assert not s.firing("FeatureDriftBudgetBurn")
    s.stack.start_drift(drift_json(s.work / "drift-high.json", 0.6))
    took = wait_until(
        lambda: s.firing("FeatureDriftBudgetBurn", severity="critical") and s.firing("FeatureDriftHigh"),
        60, "FeatureDriftBudgetBurn (page) and FeatureDriftHigh firing", s.active_alerts,
    )  # fmt: skip
    s.notes.append(f"drift alerts fired {took:.0f}s after the drift share rose to 0.6")
    wait_until(lambda: s.in_alertmanager("FeatureDriftBudgetBurn", "critical"), 20, "drift page in Alertmanager")


# ---------------------------------------------------------------------------------------------------------
# 7. every recording rule and every dashboard query


@pytest.mark.timeout(120)
def test_every_recording_rule_has_samples(scenario: Scenario) -> None:
    s = scenario
    for client, rule_dir in ((s.prom, s.fast_rules), (s.reference, REPO_ROOT / "alerts")):
        rules = recording_rules(rule_dir)
        assert len(rules) > 50, rule_dir
        empty = [selector(name, labels) for name, labels in rules if not client.query(selector(name, labels))]
        assert not empty, f"recording rules without samples ({rule_dir}): {empty}"


@pytest.mark.timeout(120)
def test_every_dashboard_query_returns_data(scenario: Scenario) -> None:
    """Each dashboard's queries over the run (as Grafana sends them for "last N minutes") on the reference
    Prometheus, which loads the committed rules the dashboards were generated with."""
    s = scenario
    end = time.time()
    start = s.started - 5
    step = 2.0
    paths = sorted((REPO_ROOT / "dashboards").glob("*.json"))
    assert paths
    checked = 0
    for path in paths:
        dashboard = load_dashboard(path)
        variables = {**all_values(dashboard), **time_variables(end - start, step, SCRAPE_SECONDS)}
        for name, query in variable_queries(dashboard):
            label = query.split(",")[-1].strip(" )")
            metric = query[len("label_values(") :].rsplit(",", 1)[0]
            values = s.reference.label_values(label, expand(metric, variables))
            assert values, f"{path.name}: variable ${name} ({query}) has no values"
        for q in panel_queries(dashboard):
            expr = expand(q.expr, variables)
            if q.instant:
                has_data = bool(s.reference.query(expr, end))
            else:
                has_data = any(series.points for series in s.reference.query_range(expr, start, end, step))
            assert has_data, f"{path.name} panel {q.panel_title!r} ({q.ref_id}) has no data: {expr}"
            checked += 1
    assert checked > 60
    snapshot_dir = os.environ.get("E2E_SNAPSHOT_DIR")
    if snapshot_dir:  # pictures for the README from this run (`make snapshot` does the same on `make stack`)
        from stack.snapshot import TimeRange, snapshot_dashboard

        for path in paths:
            result = snapshot_dashboard(path, s.reference, TimeRange(start, end, SCRAPE_SECONDS), Path(snapshot_dir),
                                        source="the end-to-end test's Prometheus (committed rules)")  # fmt: skip
            assert not result.empty_panels, result.empty_panels
    for note in s.notes:
        print(note)
    print(f"scenario wall time {time.time() - s.started:.0f}s")
