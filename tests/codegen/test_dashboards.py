"""Dashboard lint and content: what Grafana's dashboard-linter would check, plus the service's nine panels.

Every rendered panel needs a title, a description, a unit and the fixed datasource; layouts stay inside the
24-column grid without overlaps; only React panels; every query parses as PromQL; the SLO dashboard follows
whatever specs it is given.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from codegen.cli import main
from codegen.compiler import compile_specs
from codegen.conventions import render_window
from codegen.dashboards import build_dashboards, render_dashboards
from codegen.errors import SpecErrors
from codegen.exit_codes import EXIT_INVALID
from codegen.model import EventsSLI, SpecSet
from codegen.parse import load_specs
from codegen.pipeline import Layout, render_all

REPO = Path(__file__).resolve().parents[2]
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
MODERN = {"row", "timeseries", "stat", "gauge", "piechart", "table", "state-timeline"}
ANGULAR = {"graph", "singlestat", "grafana-piechart-panel", "table-old"}
GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(str(REPO / "slo"))


@pytest.fixture(scope="module")
def boards(specs: SpecSet) -> dict[str, dict[str, Any]]:
    """uid -> dashboard model, parsed back from the JSON text the renderer writes."""
    return {json.loads(text)["uid"]: json.loads(text) for text in render_dashboards(compile_specs(specs)).values()}


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        if panel["type"] != "row":
            yield panel


def by_title(board: dict[str, Any], title: str) -> dict[str, Any]:
    found = [p for p in panels(board) if p["title"] == title]
    assert len(found) == 1, f"panel {title!r}: found {len(found)}"
    return found[0]


def steps(panel: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def exprs(panel: dict[str, Any]) -> list[str]:
    return [t["expr"] for t in panel["targets"]]


def plain_promql(expr: str) -> str:
    """Grafana's range variables become a duration, the others a label value (they sit in matchers)."""
    return GRAFANA_VARIABLE.sub(lambda m: "5m" if m.group(1).startswith("__") else "x", expr)


# ----------------------------------------------------------------------------------------------------------
# Lint rules for every dashboard


def test_declared_dashboards_and_the_two_slo_views_are_rendered(boards: dict[str, dict[str, Any]]) -> None:
    assert set(boards) == {"volatility-service", "volatility-slo", "slo-overview", "slo-detail"}


def test_every_panel_has_title_description_unit_and_the_fixed_datasource(
    boards: dict[str, dict[str, Any]],
) -> None:
    for board in boards.values():
        for panel in panels(board):
            where = f"{board['uid']}/{panel.get('title')}"
            assert panel["title"].strip(), where
            assert len(panel["description"]) > 20, where
            assert panel["fieldConfig"]["defaults"]["unit"], where
            assert panel["datasource"] == DATASOURCE, where
            assert panel["targets"], where
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE, where
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), where


def test_grid_positions_fit_24_columns_without_overlap(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        cells: dict[tuple[int, int], str] = {}
        for panel in board["panels"]:
            pos = panel["gridPos"]
            assert pos["w"] >= 1 and pos["h"] >= 1 and pos["x"] >= 0 and pos["y"] >= 0, panel["title"]
            assert pos["x"] + pos["w"] <= 24, panel["title"]
            if panel["type"] == "row":
                assert (pos["x"], pos["w"], pos["h"]) == (0, 24, 1)
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]} at {(x, y)}"
                    cells[(x, y)] = panel["title"]


def test_only_react_panels(boards: dict[str, dict[str, Any]]) -> None:
    types = {p["type"] for board in boards.values() for p in board["panels"]}
    assert types <= MODERN
    assert not types & ANGULAR
    assert {"timeseries", "stat", "gauge", "piechart", "table", "state-timeline"} <= types


def test_every_query_parses_as_promql(boards: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for board in boards.values():
        queries = [t["expr"] for p in panels(board) for t in p["targets"]]
        queries += [  # label_values(<selector>, <label>) -> group by (<label>) (<selector>)
            re.sub(r"^label_values\((.*), (\w+)\)$", r"group by (\2) (\1)", v["definition"])
            for v in board["templating"]["list"]
        ]
        for expr in queries:
            promql_parser.parse(plain_promql(expr.split(" # ")[0]))
            checked += 1
    assert checked > 60


def test_invalid_promql_is_caught_by_the_parser_used_here() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse(plain_promql("sum(rate(x[$__rate_interval])"))


def test_stat_like_panels_reduce_to_the_last_value(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        for panel in panels(board):
            if panel["type"] in ("stat", "gauge", "piechart"):
                assert panel["options"]["reduceOptions"]["calcs"] == ["lastNotNull"], panel["title"]


def test_threshold_steps_have_a_null_base_and_float_values(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        for panel in panels(board):
            values = [v for _, v in steps(panel)]
            assert values[0] is None, panel["title"]
            assert all(isinstance(v, float) for v in values[1:]), panel["title"]
            numbers = [float(v) for v in values[1:] if v is not None]
            assert values[1:] == sorted(numbers), panel["title"]


def test_dashboard_metadata(boards: dict[str, dict[str, Any]], specs: SpecSet) -> None:
    texts = render_dashboards(compile_specs(specs))
    assert texts == render_dashboards(compile_specs(specs))  # deterministic
    for name, text in texts.items():
        board = json.loads(text)
        assert name == f"{board['uid']}.json"
        assert text == json.dumps(board, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert "generated by slogen" in board["description"]
        assert board["schemaVersion"] >= 36
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"])
        assert board["id"] is None
        assert "rows" not in board and "style" not in board  # grafanalib's pre-React keys are gone
        for panel in panels(board):
            assert "maxDataPoints" not in panel  # grafanalib's default of 100 points would blur every graph
            assert "intervalFactor" not in json.dumps(panel["targets"])


# ----------------------------------------------------------------------------------------------------------
# The service dashboard: the nine panels of the monitoring design


def test_p95_latency_sums_buckets_by_le_and_draws_800ms(boards: dict[str, dict[str, Any]]) -> None:
    panel = by_title(boards["volatility-service"], "P95 latency")
    assert panel["type"] == "timeseries" and panel["fieldConfig"]["defaults"]["unit"] == "ms"
    (expr,) = exprs(panel)
    assert re.search(
        r"histogram_quantile\(0\.95, sum by \(le\) \(rate\(volatility_prediction_latency_seconds_bucket"
        r"\{job=\"volatility-api\"\}\[5m\]\)\)\) \* 1000",
        expr,
    )
    assert ("red", 800.0) in steps(panel)
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"


def test_p50_latency(boards: dict[str, dict[str, Any]]) -> None:
    panel = by_title(boards["volatility-service"], "P50 latency")
    assert panel["fieldConfig"]["defaults"]["unit"] == "ms"
    assert "histogram_quantile(0.50, sum by (le) (" in exprs(panel)[0]


def test_request_and_error_rates(boards: dict[str, dict[str, Any]]) -> None:
    requests = by_title(boards["volatility-service"], "Request rate")
    assert requests["fieldConfig"]["defaults"]["unit"] == "reqps"
    assert exprs(requests) == [
        'sum by (endpoint) (rate(volatility_api_requests_total{job="volatility-api"}[$__rate_interval]))'
    ]
    errors = by_title(boards["volatility-service"], "Error rate")
    assert errors["fieldConfig"]["defaults"]["unit"].endswith("errors/s")
    assert "volatility_api_errors_total" in exprs(errors)[0]


def test_error_percentage_is_the_slo_ratio_with_a_1_percent_line(
    boards: dict[str, dict[str, Any]], specs: SpecSet
) -> None:
    panel = by_title(boards["volatility-service"], "Error percentage")
    assert panel["fieldConfig"]["defaults"]["unit"] == "percent"
    assert ("red", 1.0) in steps(panel)
    (expr,) = exprs(panel)
    slo = next(s for s in specs.slos if s.name == "api-errors")
    assert isinstance(slo.sli, EventsSLI)
    assert render_window(slo.sli.error_query, "5m") in expr  # the SLO's own 5xx selector...
    assert render_window(slo.sli.total_query, "5m") in expr  # ...over the SLO's own total
    assert expr.startswith("100 *")


def test_consumer_lag_thresholds(boards: dict[str, dict[str, Any]]) -> None:
    panel = by_title(boards["volatility-service"], "Consumer lag")
    assert panel["fieldConfig"]["defaults"]["unit"] == "s"
    assert steps(panel) == [("green", None), ("yellow", 30.0), ("red", 60.0)]
    assert exprs(panel)[0] == 'max(volatility_consumer_partition_lag_seconds{job="volatility-consumer"})'  # the SLO's


def test_lag_per_partition_shows_each_partition_and_its_owner(boards: dict[str, dict[str, Any]]) -> None:
    panel = by_title(boards["volatility-service"], "Lag per partition")
    assert panel["fieldConfig"]["defaults"]["unit"] == "s"
    assert exprs(panel) == ['volatility_consumer_partition_lag_seconds{job="volatility-consumer"}']
    assert panel["targets"][0]["legendFormat"] == "partition {{partition}} @ {{instance}}"


def test_processing_rate(boards: dict[str, dict[str, Any]]) -> None:
    panel = by_title(boards["volatility-service"], "Processing rate")
    assert panel["fieldConfig"]["defaults"]["unit"] == "mps"
    assert any("volatility_consumer_processing_rate" in e for e in exprs(panel))


def test_predictions_distribution_is_a_modern_pie(boards: dict[str, dict[str, Any]]) -> None:
    panel = by_title(boards["volatility-service"], "Predictions distribution")
    assert panel["type"] == "piechart"
    joined = " ".join(exprs(panel))
    assert 'prediction="1"' in joined and 'prediction="0"' in joined and "[$__range]" in joined
    assert all(t["instant"] for t in panel["targets"])


def test_api_health_maps_1_and_0(boards: dict[str, dict[str, Any]]) -> None:
    panel = by_title(boards["volatility-service"], "API health")
    assert panel["type"] == "stat"
    options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert options["1"]["text"] == "UP" and options["0"]["text"] == "DOWN"
    assert "volatility_api_health_status" in exprs(panel)[0]


def test_on_call_extras_model_variant_and_links(boards: dict[str, dict[str, Any]]) -> None:
    board = boards["volatility-service"]
    variant = by_title(board, "Model variant")
    assert all("volatility_model_info" in e and "variant" in e for e in exprs(variant))
    urls = [link["url"] for link in board["links"]]
    assert "/d/volatility-slo" in urls
    assert any(u.endswith("/docs/runbook.md") for u in urls)
    p95_links = [link["url"] for link in by_title(board, "P95 latency")["links"]]
    assert any(u.endswith("#highlatency") for u in p95_links)


# ----------------------------------------------------------------------------------------------------------
# The SLO dashboard


def test_slo_dashboard_has_a_row_per_slo_with_tier_thresholds(
    boards: dict[str, dict[str, Any]], specs: SpecSet
) -> None:
    board = boards["volatility-slo"]
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows[0] == "All SLOs"
    assert len(rows) == 1 + len(specs.slos)
    groups = sorted({label for slo in specs.slos for label in slo.grouping})  # a variable per group label
    assert [v["name"] for v in board["templating"]["list"]] == ["service", "slo", *groups]
    burn = [p for p in panels(board) if p["title"] == "Burn rate per alert window"]
    assert len(burn) == len(specs.slos)
    assert [v for _, v in steps(burn[0])][1:] == [1.0, 3.0, 6.0, 14.4]


SMALL_SPEC = """\
version: prometheus/v1
service: checkout
labels: {team: shop}
slos:
  - name: payments
    objective: 99.5
    period: 28d
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: PaymentsBurn
  - name: batch-latency
    objective: 90
    sli:
      raw:
        error_ratio_query: avg_over_time(batch_slow_ratio[{{.window}}])
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


SLO_ROWS_BOARD = """\
apiVersion: slogen/v1
kind: Dashboard
metadata: {uid: checkout-slos, title: Checkout SLOs}
spec: {generate: slos}
"""


def test_slo_dashboard_follows_a_spec_it_was_never_tuned_for(tmp_path: Path) -> None:
    (tmp_path / "checkout.yaml").write_text(SMALL_SPEC, encoding="utf-8")
    (tmp_path / "boards.yaml").write_text(SLO_ROWS_BOARD, encoding="utf-8")
    specs = load_specs(str(tmp_path))
    built = {b.spec.uid: b for b in build_dashboards(compile_specs(specs))}
    assert list(built) == ["checkout-slos", "slo-overview", "slo-detail"]
    board = json.loads(json.dumps(built["checkout-slos"].model))
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == [
        "All SLOs",
        "checkout / payments — 99.5% over 4w",
        "checkout / batch-latency — 90% over 30d",
    ]
    payments = [p for p in panels(board) if 'sloth_id="checkout-payments"' in " ".join(exprs(p))]
    assert any("slo:sli_error:ratio_rate4w" in " ".join(exprs(p)) for p in payments)
    burn = next(p for p in payments if p["title"] == "Burn rate per alert window")
    assert [v for _, v in steps(burn)][1:] == [
        0.9333,
        2.8,
        5.6,
        13.44,
    ]  # 28d tiers: factor = budget% × 28d / long
    alert_state = [p for p in panels(board) if p["title"] == "Alert state"]
    assert len(alert_state) == 1  # batch-latency has no alerts, so no alert-state panel
    rules = yaml.safe_load(
        render_all(specs, Layout(str(tmp_path), True, str(tmp_path / "out")))
        .files[str(tmp_path / "out" / "checkout.yaml")]
        .split("\n", 2)[2]
    )
    emitted = {(r["alert"], r["labels"]["sloth_severity"]) for g in rules["groups"] for r in g["rules"] if "alert" in r}
    shown = {
        re.search(r'alertname="(\w+)".*sloth_severity="(\w+)"', e).groups()  # type: ignore[union-attr]
        for e in exprs(alert_state[0])
    }
    assert shown == emitted == {("PaymentsBurn", "page"), ("PaymentsBurn", "ticket"), ("PaymentsBurnNoData", "nodata")}
    for panel in panels(board):
        for expr in exprs(panel):
            promql_parser.parse(plain_promql(expr))


# ----------------------------------------------------------------------------------------------------------
# Dashboard spec validation


def write_board(tmp_path: Path, body: str) -> Path:
    (tmp_path / "board.yaml").write_text(textwrap.dedent(body), encoding="utf-8")
    return tmp_path


def test_dashboard_spec_errors_name_line_field_and_suggestion(tmp_path: Path) -> None:
    write_board(
        tmp_path,
        """\
        apiVersion: slogen/v1
        kind: Dashboard
        metadata: {uid: demo, title: Demo}
        spec:
          rows:
            - title: A
              panels:
                - titel: Latency
                  description: p95 of the demo service latency
                  type: timeseries
                  unit: milliseconds
                  queries:
                    - expr: histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))
                  thresholds:
                    steps: [{value: 2, color: red}, {value: 1, color: bleu}]
        """,
    )
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(tmp_path))
    errors = {(e.line, e.field): e.message for e in caught.value.errors}
    assert "unknown key 'titel'; did you mean 'title'?" in errors[(8, "spec.rows[0].panels[0].titel")]
    assert "did you mean 'ms'?" in errors[(11, "spec.rows[0].panels[0].unit")]
    assert "invalid PromQL" in errors[(13, "spec.rows[0].panels[0].queries[0].expr")]
    assert "steps must ascend" in errors[(15, "spec.rows[0].panels[0].thresholds.steps[1].value")]
    assert "unknown color 'bleu'" in errors[(15, "spec.rows[0].panels[0].thresholds.steps[1].color")]
    assert errors[(8, "spec.rows[0].panels[0].title")] == "required"


def test_grafana_variables_are_accepted_in_spec_queries(tmp_path: Path) -> None:
    write_board(
        tmp_path,
        """\
        apiVersion: slogen/v1
        kind: Dashboard
        metadata: {uid: demo, title: Demo}
        spec:
          rows:
            - title: A
              panels:
                - title: Rate
                  description: requests per second of the demo service
                  type: stat
                  unit: "suffix: req/s"
                  queries: [{expr: 'sum(rate(x{job="$job"}[$__rate_interval]))'}]
        """,
    )
    (built,) = build_dashboards(compile_specs(load_specs(str(tmp_path))))
    assert built.spec.uid == "demo"  # no SLOs, so no SLO dashboard either


def test_duplicate_dashboard_uids_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = "apiVersion: slogen/v1\nkind: Dashboard\nmetadata: {uid: same, title: T}\nspec: {generate: slos}\n"
    (tmp_path / "a.yaml").write_text(doc, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(doc, encoding="utf-8")
    assert main(["validate", "-i", str(tmp_path)]) == EXIT_INVALID
    assert "dashboard uid 'same' is already used by" in capsys.readouterr().err


def test_wrong_api_version_is_reported_as_a_dashboard_error(tmp_path: Path) -> None:
    doc = "apiVersion: slogen/v2\nkind: Dashboard\nmetadata: {uid: x, title: X}\nspec: {generate: slos}\n"
    (tmp_path / "a.yaml").write_text(doc, encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(tmp_path))
    (error,) = caught.value.errors
    assert (error.line, error.field) == (1, "apiVersion") and "expected slogen/v1" in error.message


# ----------------------------------------------------------------------------------------------------------
# The SLO overview and the templated detail view: the same size whatever the number of SLOs


def many_slos_spec(count: int) -> str:
    body = "".join(
        f"  - name: slo-{i:05d}\n    objective: {99 + (i % 9) / 10}\n    sli:\n      events:\n"
        f'        error_query: sum(rate(req_total{{route="r{i}",code=~"5.."}}[{{{{.window}}}}]))\n'
        f'        total_query: sum(rate(req_total{{route="r{i}"}}[{{{{.window}}}}]))\n'
        f"    alerting: {{name: Slo{i:05d}Burn}}\n"
        for i in range(count)
    )
    return f"version: prometheus/v1\nservice: svc\nslos:\n{body}"


def views(tmp_path: Path, count: int) -> dict[str, str]:
    root = tmp_path / f"n{count}"
    root.mkdir()
    (root / "svc.yaml").write_text(many_slos_spec(count), encoding="utf-8")
    return render_dashboards(compile_specs(load_specs(str(root))))


def test_overview_and_detail_do_not_grow_with_the_number_of_slos(tmp_path: Path) -> None:
    small, large = views(tmp_path, 5), views(tmp_path, 1000)
    assert set(small) == set(large) == {"slo-overview.json", "slo-detail.json"}
    for name in small:
        assert small[name] == large[name], f"{name} depends on the number of SLOs"
        assert len(json.loads(small[name])["panels"]) < 20


def test_every_view_query_is_filtered_by_the_service_and_slo_variables(boards: dict[str, dict[str, Any]]) -> None:
    assert [v["name"] for v in boards["slo-overview"]["templating"]["list"]] == ["service", "slo"]
    assert [v["name"] for v in boards["slo-detail"]["templating"]["list"]] == ["service", "slo", "endpoint"]
    for uid in ("slo-overview", "slo-detail"):
        for panel in panels(boards[uid]):
            for expr in exprs(panel):
                for selector in re.findall(r"(?:slo:\w+:\w+|sloth_slo_info|ALERTS|)\{[^}]*\}", expr):
                    if "vector(0)" in selector:
                        continue
                    assert 'sloth_service=~"$service"' in selector and 'sloth_slo=~"$slo"' in selector, (
                        f"{uid} / {panel['title']}: {selector}"
                    )


def test_overview_table_joins_the_slo_queries_sorts_by_budget_and_links_to_the_detail_view(
    boards: dict[str, dict[str, Any]],
) -> None:
    table = by_title(boards["slo-overview"], "Every SLO, worst error budget first")
    assert [t["refId"] for t in table["targets"]] == ["A", "B", "C", "D"]
    assert all(t["format"] == "table" and t["instant"] for t in table["targets"])
    assert [t["id"] for t in table["transformations"]] == ["merge", "organize", "sortBy"]
    organize = table["transformations"][1]["options"]
    assert organize["renameByName"]["Value #C"] == "Budget remaining"
    assert table["transformations"][2]["options"]["sort"] == [{"desc": False, "field": "Budget remaining"}]
    links = [
        prop["value"][0]["url"]
        for o in table["fieldConfig"]["overrides"]
        for prop in o["properties"]
        if prop["id"] == "links"
    ]
    assert links == [
        "/d/slo-detail/slo-detail?var-service=${__data.fields.sloth_service}"
        "&var-slo=${__data.fields.sloth_slo}&${__url_time_range}"
    ]
    assert "slo-detail" in boards  # the link's target exists


def test_detail_view_draws_the_thresholds_of_every_window_catalog_of_the_run(tmp_path: Path) -> None:
    (tmp_path / "checkout.yaml").write_text(SMALL_SPEC, encoding="utf-8")  # a 28d and a 30d SLO
    built = {b.spec.uid: b for b in build_dashboards(compile_specs(load_specs(str(tmp_path))))}
    burn = by_title(json.loads(json.dumps(built["slo-detail"].model)), "Burn rate per window")
    assert [v for _, v in steps(burn)][1:] == [0.9333, 1.0, 2.8, 3.0, 5.6, 6.0, 13.44, 14.4]
    (query,) = exprs(burn)
    assert query.startswith('{__name__=~"slo:sli_error:ratio_rate.+", ')


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs it")
def test_detail_view_group_variable_filters_the_grouped_series_and_keeps_the_metadata(
    boards: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The repo's grouped SLO (one per endpoint) beside an ungrouped one, as recorded series on promtool: "All"
    shows both SLOs' groups, one endpoint shows that group only, and the per-SLO metadata (objective, no group
    label) stays visible whatever the endpoint."""
    detail = boards["slo-detail"]
    variable = next(v for v in detail["templating"]["list"] if v["name"] == "endpoint")
    assert variable["definition"].startswith("label_values(slo:current_burn_rate:ratio{")
    grouped = {"sloth_id": "api-errors", "sloth_service": "api", "sloth_slo": "errors"}
    plain = {"sloth_id": "api-latency", "sloth_service": "api", "sloth_slo": "latency"}

    def series(name: str, labels: dict[str, str], value: float) -> dict[str, str]:
        text = ", ".join(f'{k}="{v}"' for k, v in labels.items())
        return {"series": f"{name}{{{text}}}", "values": f"{value}x5"}

    inputs = [
        series("slo:period_error_budget_remaining:ratio", {**grouped, "endpoint": "/predict"}, 0.25),
        series("slo:period_error_budget_remaining:ratio", {**grouped, "endpoint": "/health"}, 0.75),
        series("slo:period_error_budget_remaining:ratio", plain, 0.5),
        series("slo:period_burn_rate:ratio", {**grouped, "endpoint": "/predict"}, 2),
        series("slo:period_burn_rate:ratio", {**grouped, "endpoint": "/health"}, 1),
        series("slo:period_burn_rate:ratio", plain, 0.5),
        series("slo:error_budget:ratio", grouped, 0.01),
        series("slo:error_budget:ratio", plain, 0.05),
        series("slo:objective:ratio", grouped, 0.99),
        series("slo:objective:ratio", plain, 0.95),
    ]
    budget = exprs(by_title(detail, "Error budget remaining"))[0]
    sli = exprs(by_title(detail, "SLI over the period"))[0]
    objective = exprs(by_title(detail, "Objective"))[0]

    def at(expr: str, endpoint: str) -> str:
        return expr.replace("$service", ".*").replace("$slo", ".*").replace("$endpoint", endpoint)

    def sample(labels: dict[str, str], value: float) -> dict[str, Any]:
        return {"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "value": value}

    budget_all = [
        sample({"__name__": "slo:period_error_budget_remaining:ratio", **grouped, "endpoint": e}, v)
        for e, v in (("/health", 0.75), ("/predict", 0.25))
    ] + [sample({"__name__": "slo:period_error_budget_remaining:ratio", **plain}, 0.5)]
    checks = [
        {"expr": at(budget, ".*"), "exp_samples": budget_all},
        {"expr": at(budget, "/predict"), "exp_samples": budget_all[1:2]},
        {"expr": at(sli, "/predict"), "exp_samples": [sample({**grouped, "endpoint": "/predict"}, 0.98)]},
        {
            "expr": at(objective, "/predict"),  # the metadata has no group label: never filtered out
            "exp_samples": [
                sample({"__name__": "slo:objective:ratio", **grouped}, 0.99),
                sample({"__name__": "slo:objective:ratio", **plain}, 0.95),
            ],
        },
    ]
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": inputs,
                "promql_expr_test": [{"eval_time": "2m", **check} for check in checks],
            }
        ],
    }
    path = tmp_path / "detail_test.yaml"
    path.write_text(yaml.safe_dump(test))
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
