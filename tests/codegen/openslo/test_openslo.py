"""OpenSLO ``openslo/v1alpha`` kind SLO, read as Sloth v0.16 reads it: Sloth's golden outputs reproduced, what Sloth
drops silently named (an error by default, a warning under --sloth-compat), promtool accepts the rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen.cli import main
from codegen.errors import SpecError, SpecErrors
from codegen.model import CompileOptions
from codegen.parse import load_specs
from tests.codegen import sloth_semantic

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES_LABELS = (("cmd", "examplesgen.sh"),)  # Sloth generates its examples with -l cmd=examplesgen.sh
PROMTOOL = shutil.which("promtool")

BASE = """\
apiVersion: openslo/v1alpha
kind: SLO
metadata:
  name: slo1
  displayName: Integration test SLO1
spec:
  service: svc01
  description: "this is SLO1."
  budgetingMethod: Occurrences
  objectives:
    - ratioMetrics:
        good:
          source: prometheus
          queryType: promql
          query: sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))
        total:
          source: prometheus
          queryType: promql
          query: sum(rate(http_requests_total[{{.window}}]))
      target: 0.999
  timeWindows:
    - count: 30
      unit: Day
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(text)
    return path


def errors_of(path: Path, sloth_compat: bool = False) -> list[SpecError]:
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(path), CompileOptions(sloth_compat=sloth_compat))
    return caught.value.errors


def test_sloth_integration_case() -> None:
    got = sloth_semantic.generate(GOLDEN / "in-openslo.yaml")
    assert sloth_semantic.groups(got) == sloth_semantic.groups((GOLDEN / "out-openslo.yaml.tpl").read_text())


@pytest.mark.parametrize("name", ["openslo-getting-started.yml", "openslo-kubernetes-apiserver.yml"])
def test_sloth_examples(name: str) -> None:
    got = sloth_semantic.generate(GOLDEN / name, extra_labels=EXAMPLES_LABELS)
    assert sloth_semantic.groups(got) == sloth_semantic.groups((GOLDEN / f"gen-{name}").read_text())


def test_ids_names_objective_period_and_no_alerts() -> None:
    specs = load_specs(str(GOLDEN / "openslo-kubernetes-apiserver.yml"))
    slos = specs.slos
    assert [s.id for s in slos] == [
        "k8s-apiserver-requests-availability-openslo-0",
        "k8s-apiserver-requests-latency-openslo-0",
        "k8s-apiserver-requests-latency-openslo-1",
    ]
    assert [s.objective for s in slos] == [0.999 * 100, 0.99 * 100, 0.999 * 100]
    assert {s.period for s in slos} == {30 * 86400}
    assert not any(s.alerting.enabled or not s.alerting.no_data.disabled for s in slos)
    assert {s.spec_kind for s in slos} == {"openslo/v1alpha"}


def test_sloth_validate_inputs() -> None:
    """good-openslo validates; so does bad-openslo (a 28-day window, which v0.16's built-in windows cover);
    the same SLO in two files is a duplicate, as in Sloth's validate_with_duplicates case."""
    assert len(load_specs(str(GOLDEN / "good-openslo.yaml")).slos) == 1
    bad = load_specs(str(GOLDEN / "bad-openslo.yaml")).slos
    assert [s.period for s in bad] == [28 * 86400]
    errors = errors_of(GOLDEN / "duplicates")
    assert [(Path(e.path).name, e.slo, e.message.split(" already")[0]) for e in errors] == [
        ("bad-openslo-1-original.yaml", "slo1-0", 'SLO duplicated: ID "svc01-slo1-0"')
    ]


DROPPED = (
    BASE.replace("budgetingMethod: Occurrences", "budgetingMethod: Timeslices")
    .replace(
        "  timeWindows:\n    - count: 30\n      unit: Day\n",
        "  indicator:\n    thresholdMetric: {source: prometheus, queryType: promql, query: up}\n"
        "  timeWindows:\n    - count: 30\n      unit: Day\n      isRolling: false\n",
    )
    .replace("  displayName: Integration test SLO1\n", "  displayName: x\n  labels: {team: a}\n")
    .replace(
        "      target: 0.999\n", "      target: 0.999\n      op: lte\n      value: 1\n      timeSliceTarget: 0.9\n"
    )
)
DROPPED_FIELDS = {
    "spec.budgetingMethod",
    "spec.indicator",
    "spec.timeWindows[0].isRolling",
    "metadata.labels",
    "spec.objectives[0].op",
    "spec.objectives[0].value",
    "spec.objectives[0].timeSliceTarget",
}


def test_what_sloth_drops_is_an_error_by_default(tmp_path: Path) -> None:
    errors = errors_of(write(tmp_path, DROPPED))
    assert {e.field for e in errors} == DROPPED_FIELDS
    assert all(e.line for e in errors)


def test_what_sloth_drops_is_a_warning_under_sloth_compat(tmp_path: Path) -> None:
    warnings: list[SpecError] = []
    specs = load_specs(str(write(tmp_path, DROPPED)), CompileOptions(sloth_compat=True), warnings=warnings)
    assert {w.field for w in warnings} == DROPPED_FIELDS
    assert all("Sloth" in w.message for w in warnings)
    assert [s.id for s in specs.slos] == ["svc01-slo1-0"]


def test_calendar_window_is_named(tmp_path: Path) -> None:
    text = BASE.replace(
        "      unit: Day\n", "      unit: Day\n      calendar: {startTime: 2020-01-21 12:30:00, timeZone: UTC}\n"
    )
    assert [e.field for e in errors_of(write(tmp_path, text))] == ["spec.timeWindows[0].calendar"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        # a v1alpha body under openslo/v1 is read by the v1 reader, which names the v1alpha-only keys
        (("apiVersion: openslo/v1alpha", "apiVersion: openslo/v1"), "spec.timeWindows", "did you mean 'timeWindow'"),
        (("kind: SLO", "kind: Service"), "kind", "unsupported OpenSLO kind 'Service'"),
        (("unit: Day", "unit: Week"), "spec.timeWindows[0].unit", "only days based time windows"),
        (("count: 30", "count: 7"), "spec.timeWindows[0].count", "no alert windows for SLO period 1w"),
        (("      target: 0.999\n", ""), "spec.objectives[0].target", "target is required"),
        (("target: 0.999", "target: 1.5"), "spec.objectives[0].target", "target must be >0 and <=1"),
        (
            (
                "queryType: promql\n          query: sum(rate(http_requests_total{",
                "queryType: sql\n          query: sum(rate(http_requests_total{",
            ),
            "spec.objectives[0].ratioMetrics.good.queryType",
            "unsupported 'good' indicator query type",
        ),
        (
            (
                "source: prometheus\n          queryType: promql\n          query: sum(rate(http_requests_total[",
                "source: datadog\n          queryType: promql\n          query: sum(rate(http_requests_total[",
            ),
            "spec.objectives[0].ratioMetrics.total.source",
            "'total' source is required",
        ),
        (
            ("[{{.window}}]))\n        total", "[5m]))\n        total"),
            "spec.objectives[0].ratioMetrics.good.query",
            "{{.window}}",
        ),
        (("    - ratioMetrics:", "    - ratio:"), "spec.objectives[0].ratio", "unknown key"),
        (("  service: svc01\n", ""), "spec.service", "required"),
    ],
)
def test_invalid_documents(tmp_path: Path, change: tuple[str, str], field: str, message: str) -> None:
    assert change[0] in BASE
    errors = errors_of(write(tmp_path, BASE.replace(*change)))
    assert any(e.field == field and message in e.message for e in errors), errors


def test_two_time_windows(tmp_path: Path) -> None:
    text = BASE + "    - count: 28\n      unit: Day\n"
    assert [e.message for e in errors_of(write(tmp_path, text))] == ["only 1 time window is supported"]


def test_missing_ratio_metrics_is_named(tmp_path: Path) -> None:
    text = (
        BASE.split("    - ratioMetrics:")[0] + "    - target: 0.9\n  timeWindows:\n    - count: 30\n      unit: Day\n"
    )
    errors = errors_of(write(tmp_path, text))
    assert [(e.field, e.slo) for e in errors] == [("spec.objectives[0].ratioMetrics", "slo1-0")]
    assert "missing ratioMetrics" in errors[0].message


def test_without_time_window_the_default_period_applies(tmp_path: Path) -> None:
    text = BASE.split("  timeWindows:")[0]
    specs = load_specs(str(write(tmp_path, text)), default_period="28d")
    assert [s.period for s in specs.slos] == [28 * 86400]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")
def test_promtool_accepts_both_modes(tmp_path: Path) -> None:
    files = []
    for compat in (True, False):
        for name in ("in-openslo.yaml", "openslo-kubernetes-apiserver.yml"):
            text = sloth_semantic.generate(GOLDEN / name, sloth_compat=compat)
            for index, doc in enumerate(d for d in yaml.safe_load_all(text) if d):
                path = tmp_path / f"{compat}-{index}-{name}"
                path.write_text(yaml.safe_dump(doc))
                files.append(str(path))
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "check", "rules", *files], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_prints_the_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["generate", "--sloth-compat", "-i", str(write(tmp_path, DROPPED)), "-o", str(tmp_path / "out.yaml")]) == 0
    )
    err = capsys.readouterr().err
    assert sorted(
        line.split(" field ")[1].split(":")[0] for line in err.splitlines() if line.startswith("warning:")
    ) == sorted(DROPPED_FIELDS)
    assert main(["generate", "-i", str(write(tmp_path, DROPPED)), "-o", str(tmp_path / "out2.yaml")]) == 1
