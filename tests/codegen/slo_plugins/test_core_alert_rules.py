"""``sloth.dev/core/alert_rules/v1``: Sloth's plugin_test.go cases (page and ticket, each alone), on the built-in
30d windows (Sloth's table injects burn factors; here they follow from the catalog: 14.4, 6, 3, 1)."""

from __future__ import annotations

from typing import Any

from codegen.model import Alerting, AlertOptions
from tests.codegen.slo_plugins.slos import as_dicts, run, slo

ID = "sloth.dev/core/alert_rules/v1"
FILTER = '{sloth_id="test-svc-test", sloth_service="test-svc", sloth_slo="test"}'
BUDGET = "0.0009999999999999432"


def expr(quick: tuple[str, str, str], slow: tuple[str, str, str]) -> str:
    def check(window: str, factor: str) -> str:
        return f"max(slo:sli_error:ratio_rate{window}{FILTER} > ({factor} * {BUDGET})) without (sloth_window)"

    def pair(short: str, long: str, factor: str) -> str:
        return f"(\n    {check(short, factor)}\n    and\n    {check(long, factor)}\n)"

    return f"{pair(*quick)}\nor\n{pair(*slow)}\n"


PAGE_EXPR = expr(("5m", "1h", "14.4"), ("30m", "6h", "6"))
TICKET_EXPR = expr(("2h", "1d", "3"), ("6h", "3d", "1"))


def expected(severity: str, index: str, page_expr: str) -> dict[str, Any]:
    return {
        "alert": "something",
        "expr": page_expr,
        "labels": {"custom-label": f"test{index}", "sloth_severity": severity},
        "annotations": {
            "custom-annot": f"test{index}",
            "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
            "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn "
            "rate is too fast.",
        },
    }


def alerting(page: bool = True, ticket: bool = True) -> Alerting:
    return Alerting(
        name="something",
        page=AlertOptions(not page, (("custom-label", "test1"),), (("custom-annot", "test1"),)),
        ticket=AlertOptions(not ticket, (("custom-label", "test2"),), (("custom-annot", "test2"),)),
    )


def test_page_and_ticket_alerts() -> None:
    rules = run(ID, slo(name="test", alerting=alerting())).alerts.rules
    assert as_dicts(rules) == [expected("page", "1", PAGE_EXPR), expected("ticket", "2", TICKET_EXPR)]
    assert [r.role for r in rules] == ["burn_page", "burn_ticket"]
    assert all(r.for_ is None for r in rules)  # type: ignore[union-attr]  # ``for`` is alert_routing's


def test_disabled_ticket_creates_only_the_page_alert() -> None:
    rules = run(ID, slo(name="test", alerting=alerting(ticket=False))).alerts.rules
    assert as_dicts(rules) == [expected("page", "1", PAGE_EXPR)]


def test_disabled_page_creates_only_the_ticket_alert() -> None:
    rules = run(ID, slo(name="test", alerting=alerting(page=False))).alerts.rules
    assert as_dicts(rules) == [expected("ticket", "2", TICKET_EXPR)]


def test_spec_labels_override_sloth_severity_and_annotations_override_defaults() -> None:
    spec = Alerting(
        name="something",
        labels=(("sloth_severity", "custom"),),
        annotations=(("summary", "mine"),),
        ticket=AlertOptions(disabled=True),
    )
    (rule,) = run(ID, slo(name="test", alerting=spec)).alerts.rules
    assert dict(rule.labels)["sloth_severity"] == "custom"
    assert dict(rule.annotations)["summary"] == "mine"  # type: ignore[union-attr]
