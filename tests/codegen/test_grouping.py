"""Grouped SLOs (``grouping: [label, ...]``) on promtool: one SLO per label value, from the raw metrics up.

Every recording keeps the group label, the burn-rate alerts fire for the burning group only, the metadata rules
(burn rates, budget remaining) join the ungrouped ``vector()`` budget with ``on(ids) group_left`` per group, and
the no-data alert fires for a group that went silent while the others report.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen.cli import main
from codegen.errors import SpecErrors
from codegen.model import CompileOptions
from codegen.parse import load_specs

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")

SPEC = """version: "prometheus/v1"
service: shop
slos:
  - name: latency
    objective: 99
    grouping: [route]
    sli:
      latency: {histogram: http_request_duration_seconds, threshold: 0.5, matchers: 'job="api"'}
    alerting: {name: ShopLatency}
  - name: errors
    objective: 99
    grouping: [route]
    sli:
      events:
        error_query: sum by (route) (rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))
        total_query: sum by (route) (rate(http_requests_total{job="api"}[{{.window}}]))
    alerting: {name: ShopErrors}
  - name: freshness
    objective: 99
    grouping: [route]
    sli:
      timeslice: {query: 'lag_seconds{job="api"}', bad_when: "> 30"}
    alerting: {name: ShopFreshness}
"""


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=300, check=False, cwd=cwd)


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    spec, out = tmp_path / "shop.yaml", tmp_path / "out"  # slogen refuses an output directory holding its input
    spec.write_text(SPEC)
    assert main(["generate", "-i", str(spec), "-o", str(out / "rules.yaml"), "--tests-out", str(out)]) == 0
    return out


@pytest.mark.parametrize("depth", ["check", pytest.param("test", marks=pytest.mark.slow)])
def test_generated_rules_check_and_generated_tests_prove_one_group_fires(compiled: Path, depth: str) -> None:
    """test-fast checks the rules and the tests' shape; the slow twin also runs the generated tests (~7 s of
    promtool; `test_raw_metrics_burn_one_group_and_meta_rules_join_per_group` proves grouping on promtool fast)."""
    checked = promtool("check", "rules", "rules.yaml", cwd=compiled)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    test_file = compiled / "shop_test.yaml"
    names = [t["name"] for t in yaml.safe_load(test_file.read_text())["tests"]]
    assert sum("only the burning group" in n for n in names) == 3, names
    if depth == "check":
        return
    tested = promtool("test", "rules", test_file.name, cwd=compiled)
    assert tested.returncode == 0, tested.stdout[-4000:]


def _histogram(route: str, slow_share: float, minutes: str) -> list[dict[str, str]]:
    slow = 100 * slow_share
    return [
        {
            "series": f'http_request_duration_seconds_bucket{{job="api",route="{route}",le="0.5"}}',
            "values": f"0+{100 - slow}x{minutes}",
        },
        {"series": f'http_request_duration_seconds_count{{job="api",route="{route}"}}', "values": f"0+100x{minutes}"},
    ]


def test_raw_metrics_burn_one_group_and_meta_rules_join_per_group(compiled: Path) -> None:
    """checkout: 20% slow (above the 14.4x page tier), search: none. Alerts, burn rate and budget per route."""
    tests = [
        {
            "name": "one route burns",
            "interval": "1m",
            "input_series": _histogram("checkout", 0.2, "60") + _histogram("search", 0.0, "60"),
            "promql_expr_test": [
                {
                    "eval_time": "40m",
                    "expr": 'count by (route, sloth_severity) (ALERTS{alertname="ShopLatency", alertstate="firing"})',
                    "exp_samples": [
                        {"labels": '{route="checkout", sloth_severity="page"}', "value": 1},
                        {"labels": '{route="checkout", sloth_severity="ticket"}', "value": 1},
                    ],
                },
                {
                    "eval_time": "40m",
                    "expr": 'round(slo:current_burn_rate:ratio{sloth_slo="latency"})',
                    "exp_samples": [
                        {
                            "labels": '{route="checkout", sloth_id="shop-latency", sloth_service="shop", '
                            'sloth_slo="latency", sloth_window="5m"}',
                            "value": 20,
                        },
                        {
                            "labels": '{route="search", sloth_id="shop-latency", sloth_service="shop", '
                            'sloth_slo="latency", sloth_window="5m"}',
                            "value": 0,
                        },
                    ],
                },
                {
                    "eval_time": "40m",
                    "expr": 'count by (route) (slo:period_error_budget_remaining:ratio{sloth_slo="latency"})',
                    "exp_samples": [
                        {"labels": '{route="checkout"}', "value": 1},
                        {"labels": '{route="search"}', "value": 1},
                    ],
                },
            ],
        },
        {
            "name": "one route goes silent: no-data fires for it alone",
            "interval": "1m",
            "input_series": _histogram("checkout", 0.0, "60") + _histogram("search", 0.0, "15"),
            "promql_expr_test": [
                {
                    "eval_time": "45m",
                    "expr": 'count by (route) (ALERTS{alertname="ShopLatencyNoData", alertstate="firing"})',
                    "exp_samples": [{"labels": '{route="search"}', "value": 1}],
                }
            ],
        },
    ]
    path = compiled / "raw_test.yaml"
    path.write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}))
    result = promtool("test", "rules", path.name, cwd=compiled)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('sum by (route) (rate(http_requests_total{job="api"}', 'sum(rate(http_requests_total{job="api"}'),
            "does not keep that label",
        ),
        (("grouping: [route]", "grouping: [sloth_id]"), "is set by the generator"),
        (  # the label in a matcher is not the label kept: the aggregation must name it
            (
                'sum by (route) (rate(http_requests_total{job="api"}',
                'sum(rate(http_requests_total{job="api",route="a"}',
            ),
            "does not keep that label",
        ),
        (("grouping: [route]", "grouping: route"), "non-empty list of label names"),
    ],
)
def test_bad_grouping_is_an_error_naming_the_field(edit: tuple[str, str], message: str, tmp_path: Path) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC.replace(*edit))
    with pytest.raises(SpecErrors) as raised:
        load_specs(str(spec))
    assert message in str(raised.value)
    assert "grouping" in str(raised.value)


def test_grouping_is_refused_under_sloth_compat(tmp_path: Path) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC)
    with pytest.raises(SpecErrors, match="Sloth has no grouped SLOs"):
        load_specs(str(spec), CompileOptions(sloth_compat=True))
