"""Every invalid spec gets a precise error (file, line, SLO, field, message) and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.cli import main
from codegen.errors import SpecError, SpecErrors
from codegen.parse import load_specs

EV = (
    'error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))\n'
    "        total_query: sum(rate(http_requests_total[{{.window}}]))"
)


def spec(
    slo_body: str = "", top: str = "", sli: str = f"events:\n        {EV}", alerting: str = "name: MyAlert"
) -> str:
    """A valid prometheus/v1 spec; each argument replaces one part."""
    body = slo_body or (
        f"  - name: requests\n    objective: 99.9\n    sli:\n      {sli}\n    alerting:\n      {alerting}\n"
    )
    return f'version: "prometheus/v1"\nservice: "myservice"\n{top}slos:\n{body}'


K8S = """apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: svc
spec:
  service: svc01
  slos:
    - name: slo1
      objective: 99
      sli:
        events:
          errorQuery: sum(rate(a[{{.window}}]))
          totalQuery: sum(rate(b[{{.window}}]))
      alerting:
        name: A
        pageAlert:
          disabel: true
"""

# (id, spec text, expected field, expected message fragment, expected line or None)
CASES: list[tuple[str, str, str, str, int | None]] = [
    ("wrong-version", spec().replace("prometheus/v1", "prometheus/v2"), "version", "invalid spec version", 1),
    ("missing-version-k8s-kind", "apiVersion: sloth.slok.dev/v1\nkind: Foo\n", "kind", "unsupported kind", 2),
    ("openslo-v1", "apiVersion: openslo/v1\nkind: SLO\n", "metadata.name", "SLO name None: required", 1),
    ("openslo-empty", "apiVersion: openslo/v1alpha\nkind: SLO\n", "metadata", "required", 1),
    ("no-service", spec().replace('service: "myservice"\n', ""), "service", "invalid SLO service: required", None),
    ("bad-service", spec().replace('"myservice"', '"my service"'), "service", "name must start and end", 2),
    ("service-trailing-dash", spec().replace('"myservice"', '"svc-"'), "service", "name must start and end", 2),
    ("no-slos", 'version: "prometheus/v1"\nservice: s1\nslos: []\n', "slos", "at least one SLO is required", 3),
    ("slos-not-list", 'version: "prometheus/v1"\nservice: s1\nslos: {a: 1}\n', "slos", "at least one SLO", 3),
    (
        "no-name",
        spec().replace("  - name: requests\n    objective", "  - objective"),
        "slos[0].name",
        "invalid SLO name: required",
        None,
    ),
    ("bad-name", spec().replace("name: requests", "name: req/s"), "slos[0].name", "name must start and end", 4),
    ("objective-zero", spec().replace("99.9", "0"), "slos[0].objective", "objective must >0 and <=100", 5),
    ("objective-101", spec().replace("99.9", "101"), "slos[0].objective", "objective must >0 and <=100", 5),
    ("objective-negative", spec().replace("99.9", "-5"), "slos[0].objective", "objective must >0", 5),
    ("objective-string", spec().replace("99.9", '"high"'), "slos[0].objective", "must be a number", 5),
    (
        "objective-missing",
        spec().replace("    objective: 99.9\n", ""),
        "slos[0].objective",
        "objective is required",
        None,
    ),
    (
        "no-sli",
        spec().replace("    sli:\n      events:\n        " + EV + "\n", ""),
        "slos[0].sli",
        "at least one SLI type is required",
        None,
    ),
    (
        "two-slis",
        spec(sli=f"events:\n        {EV}\n      raw:\n        error_ratio_query: x[{{{{.window}}}}]"),
        "slos[0].sli",
        "only one SLI type is allowed",
        6,
    ),
    (
        "same-queries",
        spec(
            sli="events:\n        error_query: sum(rate(a[{{.window}}]))\n"
            "        total_query: sum(rate(a[{{.window}}]))"
        ),
        "slos[0].sli.events",
        "both error and total queries can't be the same",
        7,
    ),
    (
        "missing-window-error",
        spec(sli="events:\n        error_query: sum(rate(a[5m]))\n        total_query: sum(rate(b[{{.window}}]))"),
        "slos[0].sli.events.error_query",
        "must contain the {{ .window }} variable",
        8,
    ),
    (
        "missing-window-total",
        spec(sli="events:\n        error_query: sum(rate(a[{{.window}}]))\n        total_query: sum(rate(b[5m]))"),
        "slos[0].sli.events.total_query",
        "must contain the {{ .window }} variable",
        9,
    ),
    (
        "missing-total",
        spec(sli="events:\n        error_query: sum(rate(a[{{.window}}]))"),
        "slos[0].sli.events.total_query",
        "query template is required",
        None,
    ),
    (
        "bad-promql",
        spec(
            sli="events:\n        error_query: sum(rate(a[{{.window}}])\n        total_query: sum(rate(b[{{.window}}]))"
        ),
        "slos[0].sli.events.error_query",
        "invalid PromQL",
        8,
    ),
    (
        "range-vector-raw",
        spec(sli="raw:\n        error_ratio_query: a[{{.window}}]"),
        "slos[0].sli.raw.error_ratio_query",
        "not a range vector",
        8,
    ),
    (
        "raw-no-window",
        spec(sli="raw:\n        error_ratio_query: sum(rate(a[5m]))"),
        "slos[0].sli.raw.error_ratio_query",
        "{{ .window }}",
        8,
    ),
    (
        "sli-plugin",
        spec(sli="plugin:\n        id: sloth-common/x"),
        "slos[0].sli.plugin.id",
        "unknown SLI plugin id 'sloth-common/x'; the SLI plugins that exist: sloth-common/coredns/availability",
        8,
    ),
    ("unknown-sli-key", spec(sli=f"event:\n        {EV}"), "slos[0].sli.event", "did you mean 'events'?", 7),
    (
        "unknown-slo-key",
        spec().replace("objective:", "objectiv: 1\n    objective:"),
        "slos[0].objectiv",
        "did you mean 'objective'?",
        5,
    ),
    ("unknown-top-key", spec(top="lables: {a: b}\n"), "lables", "did you mean 'labels'?", 3),
    (
        "unknown-alert-key",
        spec(alerting="name: A\n      page_alrt: {disable: true}"),
        "slos[0].alerting.page_alrt",
        "did you mean 'page_alert'?",
        12,
    ),
    ("bad-label-key", spec(top="labels:\n  bad-key: v\n"), "labels.bad-key", "invalid label key", 4),
    ("name-label", spec(top="labels:\n  __name__: v\n"), "labels.__name__", "__name__ is not allowed", 4),
    ("reserved-spec-label", spec(top="labels:\n  sloth_id: x\n"), "labels.sloth_id", "'sloth_id' is reserved", 4),
    (
        "reserved-slo-label",
        spec().replace("    objective: 99.9\n", "    objective: 99.9\n    labels: {sloth_window: 5m}\n"),
        "slos[0].labels.sloth_window",
        "'sloth_window' is reserved",
        6,
    ),
    (
        "reserved-alert-label",
        spec(alerting="name: A\n      labels: {sloth_slo: other}"),
        "slos[0].alerting.labels.sloth_slo",
        "'sloth_slo' is reserved",
        12,
    ),
    ("empty-label-value", spec(top='labels:\n  team: ""\n'), "labels.team", "label value is required", 4),
    ("labels-not-mapping", spec(top="labels: [a, b]\n"), "labels", "must be a mapping", 3),
    (
        "bad-annotation-key",
        spec(alerting="name: A\n      annotations:\n        9x: y"),
        "slos[0].alerting.annotations.9x",
        "invalid annotation key",
        13,
    ),
    (
        "empty-annotation",
        spec(alerting="name: A\n      annotations:\n        runbook: ''"),
        "slos[0].alerting.annotations.runbook",
        "annotation value is required",
        13,
    ),
    (
        "missing-alert-name",
        spec(alerting="labels: {a: b}"),
        "slos[0].alerting.name",
        "page alert: alert name is required",
        None,
    ),
    (
        "missing-alert-name-ticket",
        spec(alerting="page_alert: {disable: true}"),
        "slos[0].alerting.name",
        "ticket alert: alert name is required",
        None,
    ),
    ("bad-alert-name", spec(alerting="name: my alert"), "slos[0].alerting.name", "invalid alert name", 11),
    (
        "disable-not-bool",
        spec(alerting='name: A\n      page_alert: {disable: "yes"}'),
        "slos[0].alerting.page_alert.disable",
        "must be true or false",
        12,
    ),
    (
        "bad-for",
        spec(alerting="name: A\n      page_alert: {for: 5 minutes}"),
        "slos[0].alerting.page_alert.for",
        "invalid duration",
        12,
    ),
    (
        "bad-period",
        spec().replace("    objective: 99.9\n", "    objective: 99.9\n    period: 45d\n"),
        "slos[0].period",
        "no alert windows for SLO period 45d",
        6,
    ),
    (
        "unparsable-period",
        spec().replace("    objective: 99.9\n", "    objective: 99.9\n    period: month\n"),
        "slos[0].period",
        "invalid duration",
        6,
    ),
    (
        "latency-not-boundary",
        spec(sli="latency:\n        histogram: h_seconds\n        threshold: 0.7\n        buckets: [0.1, 0.5, 0.8, 1]"),
        "slos[0].sli.latency.threshold",
        "not a bucket boundary (nearest: 0.8)",
        9,
    ),
    (
        "latency-bucket-suffix",
        spec(sli="latency:\n        histogram: h_seconds_bucket\n        threshold: 0.5"),
        "slos[0].sli.latency.histogram",
        "give the histogram's base name",
        8,
    ),
    (
        "latency-no-threshold",
        spec(sli="latency:\n        histogram: h_seconds"),
        "slos[0].sli.latency.threshold",
        "threshold must be a positive number",
        None,
    ),
    (
        "latency-unsorted-buckets",
        spec(sli="latency:\n        histogram: h\n        threshold: 1\n        buckets: [1, 0.5]"),
        "slos[0].sli.latency.buckets",
        "strictly increasing",
        10,
    ),
    (
        "latency-bad-matchers",
        spec(sli="latency:\n        histogram: h\n        threshold: 1\n        matchers: 'job=api'"),
        "slos[0].sli.latency.matchers",
        "invalid label matchers",
        10,
    ),
    (
        "timeslice-bad-condition",
        spec(sli="timeslice:\n        query: up\n        bad_when: above 30"),
        "slos[0].sli.timeslice.bad_when",
        "invalid condition",
        9,
    ),
    (
        "timeslice-missing-up",
        spec(sli="timeslice:\n        query: g\n        bad_when: '> 1'\n        missing_is_bad: true"),
        "slos[0].sli.timeslice.up_query",
        "required when missing_is_bad",
        None,
    ),
    (
        "timeslice-window-template",
        spec(sli="timeslice:\n        query: rate(g[{{.window}}])\n        bad_when: '> 1'"),
        "slos[0].sli.timeslice.query",
        "drop {{.window}}",
        8,
    ),
    (
        "duplicate-slo-id",
        spec(
            slo_body=(
                f"  - name: aa\n    objective: 99\n    sli:\n      events:\n        {EV}\n    alerting: {{name: A}}\n"
                f"  - name: aa\n    objective: 98\n    sli:\n      events:\n        {EV}\n    alerting: {{name: B}}\n"
            )
        ),
        "slos[1].name",
        'SLO ID "myservice-aa" is repeated',
        11,
    ),
    (
        "duplicate-yaml-key",
        spec().replace("    objective: 99.9\n", "    objective: 99.9\n    objective: 99\n"),
        "slos[0].objective",
        "duplicate key 'objective'",
        6,
    ),
    ("invalid-yaml", 'version: "prometheus/v1"\nservice: [unclosed\n', "", "invalid YAML", 3),
    ("not-a-mapping", "- just\n- a list\n", "", "must be a YAML mapping", 1),
    (
        "slo-plugin-without-id",
        spec(top="slo_plugins: {chain: [{priority: 1}]}\n"),
        "slo_plugins.chain[0].id",
        "plugin ID is required",
        3,
    ),
    (
        "threshold-bad-expr",
        spec() + "threshold_alerts:\n  - name: X\n    expr: rate(x[5m]\n    annotations: {summary: s}\n",
        "threshold_alerts[0].expr",
        "invalid PromQL",
        14,
    ),
    (
        "threshold-no-summary",
        spec() + "threshold_alerts:\n  - name: X\n    expr: up == 0\n",
        "threshold_alerts[0].annotations",
        "summary annotation is required",
        None,
    ),
    (
        "threshold-bad-severity",
        spec() + "threshold_alerts:\n  - name: X\n    expr: up == 0\n    severity: page\n"
        "    annotations: {summary: s}\n",
        "threshold_alerts[0].severity",
        "severity must be one of",
        15,
    ),
    (
        "threshold-name-clash",
        spec() + "threshold_alerts:\n  - name: MyAlert\n    expr: up == 0\n    annotations: {summary: s}\n",
        "threshold_alerts.name",
        "already used by myservice-requests",
        13,
    ),
    ("k8s-unknown-camel-key", K8S, "spec.slos[0].alerting.pageAlert.disabel", "did you mean 'disable'?", 17),
    (
        "k8s-empty-service",
        K8S.replace("service: svc01", 'service: ""'),
        "spec.service",
        "invalid SLO service: required",
        6,
    ),
    ("k8s-no-metadata-name", K8S.replace("  name: svc\n", "  namespace: x\n"), "metadata.name", "required", None),
]


@pytest.mark.parametrize(("spec_text", "field", "fragment", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_is_reported_precisely(
    tmp_path: Path, spec_text: str, field: str, fragment: str, line: int | None
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec_text)
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(path))
    matching = [e for e in caught.value.errors if fragment in e.message]
    assert matching, f"no error containing {fragment!r} in:\n{caught.value}"
    error = matching[0]
    assert error.path == str(path)
    assert error.field == field, str(error)
    if line is not None:
        assert error.line == line, str(error)


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_error_names_slo_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(spec().replace("99.9", "101"))
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(path))
    assert (
        str(caught.value.errors[0]) == f'{path}:5: slo "requests" field slos[0].objective: objective must >0 and <=100'
    )


def test_all_errors_of_a_run_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(spec().replace("99.9", "101"))
    (tmp_path / "b.yaml").write_text(spec(alerting="labels: {a: b}").replace("myservice", "other"))
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(tmp_path))
    assert {Path(e.path).name for e in caught.value.errors} == {"a.yaml", "b.yaml"}


def test_duplicate_slo_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(spec())
    (tmp_path / "b.yaml").write_text(spec())
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(tmp_path))
    (error,) = caught.value.errors
    assert error.path.endswith("b.yaml") and "already exists in" in error.message and "a.yaml:4" in error.message


def test_nothing_is_written_when_any_spec_is_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "slo", tmp_path / "alerts"
    src.mkdir()
    (src / "good.yaml").write_text(spec())
    (src / "bad.yaml").write_text(spec().replace("myservice", "other").replace("99.9", "0"))
    code = main(["generate", "-i", str(src), "-o", str(out), "--tests-out", str(out / "tests")])
    assert code == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert "bad.yaml:5" in err and "nothing was written" in err


def test_error_order_is_stable() -> None:
    a = SpecError("b.yaml", 3, None, "x", "m")
    b = SpecError("a.yaml", 9, None, "x", "m")
    assert SpecErrors([a, b]).errors == [b, a]
