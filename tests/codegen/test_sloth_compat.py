"""``--sloth-compat`` output equals what Sloth v0.16 emits (whitespace aside), for every documented case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.cli import main
from tests.codegen import sloth_oracle as sloth

FIXTURES = Path(__file__).parent / "fixtures" / "sloth"
BASE_SLI = {
    "error_query": 'sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))',
    "total_query": 'sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))',
}
RAW_SLI = {
    "error_ratio_query": 'sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}'
    '[{{.window}}]))\n/\nsum(rate(http_request_duration_seconds_count{job="myservice"}'
    "[{{.window}}]))\n"
}


def generate(capsys: pytest.CaptureFixture[str], *args: str) -> list[Any]:
    code = main(["generate", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return [doc for doc in yaml.safe_load_all(out) if doc is not None]


def normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (sloth.normalize(v) if k == "expr" else normalized(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def without_version(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for group in groups:
        for rule in group["rules"]:
            rule.get("labels", {}).pop("sloth_version", None)
    return groups


def base_expected(
    period: str = "30d",
    days: int = 30,
    labels1: dict[str, str] | None = None,
    labels2: dict[str, str] | None = None,
    alerts: bool = True,
    recordings: bool = True,
    mode: str = "cli-gen-prom",
    spec: str = "prometheus/v1",
) -> list[dict[str, Any]]:
    l1 = labels1 if labels1 is not None else {"global01k1": "global01v1", "global02k1": "global02v1"}
    l2 = labels2 if labels2 is not None else {"global01k1": "global01v1", "global03k1": "global03v1"}
    groups: list[dict[str, Any]] = []
    if recordings:
        groups += [
            sloth.sli_group("svc01", "slo1", l1, BASE_SLI, period),
            sloth.meta_group("svc01", "slo1", l1, 99.9, period, days, mode, spec),
        ]
    if alerts:
        hours = days * 24
        groups.append(
            {
                "name": "sloth-slo-alerts-svc01-slo1",
                "rules": [
                    sloth.alert_rule(
                        "svc01",
                        "slo1",
                        99.9,
                        "page",
                        "myServiceAlert",
                        {"alert01k1": "alert01v1", "alert03k1": "alert03v1"},
                        {"alert02k1": "alert02k2"},
                        hours,
                    ),
                    sloth.alert_rule(
                        "svc01",
                        "slo1",
                        99.9,
                        "ticket",
                        "myServiceAlert",
                        {"alert01k1": "alert01v1", "alert04k1": "alert04v1"},
                        {"alert02k1": "alert02k2"},
                        hours,
                    ),
                ],
            }
        )
    if recordings:
        groups += [
            sloth.sli_group("svc01", "slo02", l2, RAW_SLI, period),
            sloth.meta_group("svc01", "slo02", l2, 95, period, days, mode, spec),
        ]
    return groups


def test_events_and_raw_slis_match_sloth(capsys: pytest.CaptureFixture[str]) -> None:
    (doc,) = generate(capsys, "-i", str(FIXTURES / "in-base.yaml"), "--sloth-compat")
    assert normalized(without_version(doc["groups"])) == normalized(base_expected())


def test_exact_sloth_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    """The float texts Sloth prints (Go shortest formatting) appear verbatim."""
    main(["generate", "-i", str(FIXTURES / "in-base.yaml"), "--sloth-compat"])
    out = capsys.readouterr().out
    assert "(14.4 * 0.0009999999999999432)" in out
    assert "vector(0.9990000000000001)" in out and "vector(1-0.95)" in out
    assert "sloth_objective: '99.9'" in out or 'sloth_objective: "99.9"' in out


def test_disabled_alerts_and_recordings(capsys: pytest.CaptureFixture[str]) -> None:
    (doc,) = generate(capsys, "-i", str(FIXTURES / "in-base.yaml"), "--sloth-compat", "--disable-alerts")
    assert normalized(without_version(doc["groups"])) == normalized(base_expected(alerts=False))
    (doc,) = generate(capsys, "-i", str(FIXTURES / "in-base.yaml"), "--sloth-compat", "--disable-recordings")
    assert normalized(doc["groups"]) == normalized(base_expected(recordings=False))


def test_28d_period_uses_4w_and_sloth_factors(capsys: pytest.CaptureFixture[str]) -> None:
    (doc,) = generate(capsys, "-i", str(FIXTURES / "in-base.yaml"), "--sloth-compat", "--default-slo-period", "28d")
    assert normalized(without_version(doc["groups"])) == normalized(base_expected(period="4w", days=28))
    main(["generate", "-i", str(FIXTURES / "in-base.yaml"), "--sloth-compat", "--default-slo-period", "28d"])
    text = capsys.readouterr().out
    for factor in ("13.44", "5.6000000000000005", "2.8000000000000003", "0.9333333333333333"):
        assert f"({factor} * 0.0009999999999999432)" in text


def test_extra_labels_reach_recordings_only_and_override(capsys: pytest.CaptureFixture[str]) -> None:
    (doc,) = generate(
        capsys,
        "-i",
        str(FIXTURES / "in-base.yaml"),
        "--sloth-compat",
        "-l",
        "exk1=exv1",
        "-l",
        "exk2=exv2",
        "-l",
        "global01k1=overridden",
    )
    extra = {"exk1": "exv1", "exk2": "exv2", "global01k1": "overridden"}
    expected = base_expected(
        labels1={"global02k1": "global02v1", **extra}, labels2={"global03k1": "global03v1", **extra}
    )
    assert normalized(without_version(doc["groups"])) == normalized(expected)


def test_multi_document_file_gives_one_document_each(capsys: pytest.CaptureFixture[str]) -> None:
    docs = generate(capsys, "-i", str(FIXTURES / "in-multifile.yaml"), "--sloth-compat")
    assert [[g["name"] for g in d["groups"]] for d in docs] == [
        ["sloth-slo-sli-recordings-svc03-slo1", "sloth-slo-meta-recordings-svc03-slo1", "sloth-slo-alerts-svc03-slo1"],
        ["sloth-slo-sli-recordings-svc02-slo1", "sloth-slo-meta-recordings-svc02-slo1", "sloth-slo-alerts-svc02-slo1"],
    ]
    ticket_only = docs[1]["groups"][2]["rules"]
    assert [r["labels"]["sloth_severity"] for r in ticket_only] == ["ticket"]
    assert sloth.normalize(ticket_only[0]["expr"]) == sloth.normalize(
        sloth.alert_expr("svc02", "slo1", 99.99, "ticket", 720)
    )


def test_multi_document_file_merges_into_one_rule_file_without_compat(capsys: pytest.CaptureFixture[str]) -> None:
    """Prometheus reads only the first YAML document of a rule file, so by default all groups share one."""
    docs = generate(capsys, "-i", str(FIXTURES / "in-multifile.yaml"))
    assert len(docs) == 1 and len(docs[0]["groups"]) == 6


def test_kubernetes_form_emits_prometheus_rule(capsys: pytest.CaptureFixture[str]) -> None:
    (doc,) = generate(capsys, "-i", str(FIXTURES / "in-base-k8s.yaml"), "--sloth-compat")
    assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
    assert doc["metadata"] == {
        "labels": {"app.kubernetes.io/component": "SLO", "app.kubernetes.io/managed-by": "sloth"},
        "name": "svc",
        "namespace": "test-ns",
    }
    expected = base_expected(mode="cli-gen-k8s", spec="sloth.slok.dev/v1")[:3]
    assert normalized(without_version(doc["spec"]["groups"])) == normalized(expected)


def test_kubernetes_metadata_keeps_kubernetes_style_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        (FIXTURES / "in-base-k8s.yaml")
        .read_text()
        .replace(
            "  namespace: test-ns\n",
            "  namespace: test-ns\n  labels:\n    app.kubernetes.io/part-of: volatility\n"
            "  annotations:\n    example.com/owner: sre\n",
        )
    )
    (tmp_path / "k8s.yaml").write_text(text)
    (doc,) = generate(capsys, "-i", str(tmp_path / "k8s.yaml"))
    assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "volatility"
    assert doc["metadata"]["annotations"] == {"example.com/owner": "sre"}


def test_kubernetes_rules_have_sorted_keys() -> None:
    """PrometheusRule objects are written with alphabetical keys, as Sloth's k8s output."""
    from codegen.compiler import compile_specs
    from codegen.model import CompileOptions
    from codegen.parse import load_specs
    from codegen.rulefiles import render_rule_file

    specs = compile_specs(load_specs(str(FIXTURES / "in-base-k8s.yaml"), CompileOptions(sloth_compat=True)))
    text = render_rule_file(specs.files[0], specs.options, "in-base-k8s.yaml")
    alert = yaml.safe_load(text)["spec"]["groups"][2]["rules"][0]
    assert list(alert) == ["alert", "annotations", "expr", "labels"]


def test_custom_alert_windows_replace_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    (doc,) = generate(
        capsys,
        "-i",
        str(FIXTURES / "in-base.yaml"),
        "--sloth-compat",
        "--default-slo-period",
        "7d",
        "--slo-period-windows-path",
        str(FIXTURES / "windows"),
    )
    groups = doc["groups"]
    assert groups[0]["rules"][-1]["record"] == "slo:sli_error:ratio_rate1w"
    assert groups[1]["rules"][2]["expr"] == "vector(7)"
    page, ticket = groups[2]["rules"]
    week = 7 * 24
    for f in (sloth.factor(8, week, "1h"), sloth.factor(12.5, week, "6h")):
        assert f"({sloth.go(f)} * 0.0009999999999999432)" in page["expr"]
    for f in (sloth.factor(20, week, "1d"), sloth.factor(42, week, "3d")):  # 1.4000000000000001 in Go too
        assert f"({sloth.go(f)} * 0.0009999999999999432)" in ticket["expr"]
    # The built-in 30d catalog is gone once a windows path is given.
    assert (
        main(["validate", "-i", str(FIXTURES / "in-base.yaml"), "--slo-period-windows-path", str(FIXTURES / "windows")])
        == 1
    )


def test_period_rules_build_on_the_page_quick_short_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Sloth bases the period SLI and the current burn rate on the page-quick short window
    (`alerts.PageQuick.ShortWindow` in its SLI and metadata rule plugins), not on the smallest window."""
    (tmp_path / "30d.yaml").write_text(
        "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 30d\n  page:\n"
        "    quick: {errorBudgetPercent: 2, shortWindow: 15m, longWindow: 1h}\n"
        "    slow: {errorBudgetPercent: 5, shortWindow: 5m, longWindow: 6h}\n  ticket:\n"
        "    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}\n"
        "    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}\n"
    )
    (doc,) = generate(
        capsys, "-i", str(FIXTURES / "in-base.yaml"), "--sloth-compat", "--slo-period-windows-path", str(tmp_path)
    )
    sli, meta = doc["groups"][0]["rules"], doc["groups"][1]["rules"]
    assert "5m" in [r["labels"]["sloth_window"] for r in sli]  # the 5m window is still recorded
    period = sli[-1]
    assert period["record"] == "slo:sli_error:ratio_rate30d"
    assert "sum_over_time(slo:sli_error:ratio_rate15m{" in period["expr"]
    current = next(r for r in meta if r["record"] == "slo:current_burn_rate:ratio")
    assert current["expr"].startswith("slo:sli_error:ratio_rate15m{")


def test_alert_labels_override_the_generated_severity_as_in_sloth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        'version: "prometheus/v1"\nservice: svc\nslos:\n  - name: s1\n    objective: 99\n    sli:\n      events:\n'
        "        error_query: sum(rate(e[{{.window}}]))\n        total_query: sum(rate(t[{{.window}}]))\n"
        "    alerting:\n      name: A\n      page_alert:\n        labels: {sloth_severity: critical}\n"
    )
    for compat in (["--sloth-compat"], []):
        (doc,) = generate(capsys, "-i", str(spec), *compat)
        page, ticket = doc["groups"][2]["rules"][:2]
        assert (page["labels"]["sloth_severity"], ticket["labels"]["sloth_severity"]) == ("critical", "ticket")


def test_extra_labels_cannot_replace_the_slo_identity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "-i", str(FIXTURES / "in-base.yaml"), "-l", "sloth_id=other"]) == 2
    assert "sloth_id is set from the service and SLO name" in capsys.readouterr().err
