"""Generated rules and tests run on Prometheus' own engine (promtool), and the tests catch a broken rule."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")

EXTENSIONS = """version: "prometheus/v1"
service: "ext"
labels: {team: t}
slos:
  - name: latency
    objective: 99
    period: 28d
    sli:
      latency: {histogram: http_request_duration_seconds, threshold: 1, matchers: 'job="x"', buckets: [0.5, 1, 2]}
    alerting:
      name: ExtLatency
      page_alert: {for: 3m}
      ticket_alert: {for: 10m}
  - name: freshness
    objective: 99.5
    sli:
      timeslice: {query: 'lag_seconds{job="c"}', bad_when: "> 30", missing_is_bad: true, up_query: 'up{job="c"}'}
    alerting:
      name: ExtFreshness
      annotations: {value_hint: "{{ $value }}"}
      ticket_alert: {labels: {sloth_severity: slow-burn, severity: info}}  # overridden, as Sloth allows
"""


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False)


def generate(src: Path, out: Path, *flags: str) -> tuple[list[Path], list[Path]]:
    assert main(["generate", "-i", str(src), "-o", str(out), "--tests-out", str(out / "tests"), *flags]) == 0
    return sorted(out.glob("*.yaml")), sorted((out / "tests").glob("*_test.yaml"))


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    src = tmp_path / "slo"
    src.mkdir()
    shutil.copy(FIXTURES / "sloth" / "in-base.yaml", src / "base.yaml")
    shutil.copy(FIXTURES / "sloth" / "in-multifile.yaml", src / "multi.yaml")
    (src / "ext.yaml").write_text(EXTENSIONS)
    return src


@pytest.mark.slow  # a full generation and promtool run per period: >10 s each
@pytest.mark.parametrize(
    "flags",
    [
        (),
        ("--default-slo-period", "28d"),
        ("--default-slo-period", "7d", "--slo-period-windows-path", str(FIXTURES / "sloth" / "windows")),
    ],
    ids=["30d", "28d", "custom-7d"],
)
def test_generated_rules_pass_check_and_their_tests_pass(specs: Path, tmp_path: Path, flags: tuple[str, ...]) -> None:
    if "7d" in flags:
        (specs / "ext.yaml").unlink()  # its 28d SLO needs the built-in catalog, which a windows path replaces
    rules, tests = generate(specs, tmp_path / "out", *flags)
    assert rules and tests
    checked = promtool("check", "rules", *map(str, rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", *map(str, tests))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(tests)


def test_generated_tests_catch_a_wrong_burn_factor(specs: Path, tmp_path: Path) -> None:
    rules, _ = generate(specs, tmp_path / "out")
    base = next(r for r in rules if r.name == "base.yaml")
    base.write_text(base.read_text().replace("(14.4 * 0.0009999999999999432)", "(16 * 0.0009999999999999432)"))
    result = promtool("test", "rules", str(tmp_path / "out" / "tests" / "base_test.yaml"))
    assert result.returncode != 0
    assert "page-quick fires" in result.stdout + result.stderr


def test_generated_tests_catch_a_swapped_window(specs: Path, tmp_path: Path) -> None:
    rules, _ = generate(specs, tmp_path / "out")
    base = next(r for r in rules if r.name == "base.yaml")
    text = base.read_text().replace(
        'ratio_rate6h{sloth_id="svc01-slo1", sloth_service="svc01", sloth_slo="slo1"} > (6 *',
        'ratio_rate2h{sloth_id="svc01-slo1", sloth_service="svc01", sloth_slo="slo1"} > (6 *',
    )
    base.write_text(text)
    result = promtool("test", "rules", str(tmp_path / "out" / "tests" / "base_test.yaml"))
    assert result.returncode != 0
    assert "page-slow" in result.stdout + result.stderr


def test_generated_tests_catch_a_missing_severity_label(specs: Path, tmp_path: Path) -> None:
    rules, _ = generate(specs, tmp_path / "out")
    base = next(r for r in rules if r.name == "base.yaml")
    base.write_text(base.read_text().replace("severity: critical", "severity: page-me"))
    assert promtool("test", "rules", str(tmp_path / "out" / "tests" / "base_test.yaml")).returncode != 0


def test_generated_tests_catch_a_tier_that_fires_on_one_window(specs: Path, tmp_path: Path) -> None:
    """The later phases of a tier's test (one window alone) are checked too, not only the first."""
    rules, _ = generate(specs, tmp_path / "out")
    base = next(r for r in rules if r.name == "base.yaml")
    base.write_text(base.read_text().replace("\n          and\n", "\n          or\n", 1))
    result = promtool("test", "rules", str(tmp_path / "out" / "tests" / "base_test.yaml"))
    assert result.returncode != 0
    assert "page-quick fires" in result.stdout + result.stderr


def test_generated_tests_grow_with_tiers_not_scenarios_times_windows(specs: Path, tmp_path: Path) -> None:
    """Per SLO: one test per tier on its two series, one just below the lowest tier on every window, no-data."""
    _, tests = generate(specs, tmp_path / "out")
    body = yaml.safe_load(next(t for t in tests if t.name == "base_test.yaml").read_text())
    mine = [t for t in body["tests"] if t["name"].startswith("svc01-slo1: ")]
    assert len(mine) == 4 + 1 + 1
    tiers = [t for t in mine if " fires: " in t["name"]]
    assert [len(t["input_series"]) for t in tiers] == [2, 2, 2, 2]
    assert [len(t["alert_rule_test"]) for t in tiers] == [3, 3, 3, 3]
    assert sum(len(t["input_series"]) for t in mine) == 4 * 2 + 7


@pytest.mark.slow  # promtool over every committed rule and test file: tens of seconds
def test_committed_rules_and_all_promtool_tests_pass() -> None:
    rule_files = sorted((REPO / "alerts").glob("*.yaml"))
    test_files = sorted((REPO / "alerts" / "tests").glob("*_test.yaml")) + sorted(
        (REPO / "tests" / "promtool").glob("*_test.yaml")
    )
    assert len(rule_files) >= 2 and len(test_files) >= 3
    assert promtool("check", "rules", *map(str, rule_files)).returncode == 0
    result = promtool("test", "rules", *map(str, test_files))
    assert result.returncode == 0, result.stdout + result.stderr


def test_tests_cover_only_what_prometheus_loads(tmp_path: Path) -> None:
    """No promtool tests for PrometheusRule objects, nor for later documents of a --sloth-compat file."""
    src = tmp_path / "slo"
    src.mkdir()
    shutil.copy(FIXTURES / "sloth" / "in-base-k8s.yaml", src / "k8s.yaml")
    shutil.copy(FIXTURES / "sloth" / "in-multifile.yaml", src / "multi.yaml")
    out = tmp_path / "out"
    assert main(["generate", "-i", str(src), "-o", str(out), "--tests-out", str(out / "tests"), "--sloth-compat"]) == 0
    assert [p.name for p in (out / "tests").glob("*.yaml")] == ["multi_test.yaml"]
    text = (out / "tests" / "multi_test.yaml").read_text()
    assert "svc03-slo1" in text and "svc02-slo1" not in text
    result = promtool("test", "rules", str(out / "tests" / "multi_test.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
