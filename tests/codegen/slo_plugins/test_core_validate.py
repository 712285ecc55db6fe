"""``sloth.dev/core/validate/v1``: Sloth's plugin_test.go cases plus one per rule Sloth's validation checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from codegen.model import Alerting, AlertOptions, EventsSLI, PluginChainSpec, PluginRef, RawSLI
from codegen.slo_plugins.api import PluginProcessError
from tests.codegen.slo_plugins.slos import as_dicts, run, slo

ID = "sloth.dev/core/validate/v1"
GOOD = slo(
    EventsSLI(
        'sum(rate(grpc_server_handled_requests_count{job="myapp",code=~"Internal|Unavailable"}[{{ .window }}]))',
        'sum(rate(grpc_server_handled_requests_count{job="myapp"}[{{ .window }}]))',
    ),
    name="test.slo-0_1",
    objective=99.99,
    labels=(("category", "test"), ("owner", "myteam")),
    alerting=Alerting(
        name="testAlert",
        page=AlertOptions(
            labels=(("channel", "#a-myteam"), ("severity", "slack"), ("tier", "1")),
            annotations=(("message", "This is very important."), ("runbook", "http://whatever.com")),
        ),
        ticket=AlertOptions(
            labels=(("channel", "#a-not-so-important"), ("severity", "slack"), ("tier", "1")),
            annotations=(("message", "This is not very important."), ("runbook", "http://whatever.com")),
        ),
    ),
)


def test_a_correct_slo_does_not_fail_and_adds_no_rules() -> None:
    rules = run(ID, GOOD)
    assert rules.groups() == []


def test_an_invalid_slo_fails() -> None:
    with pytest.raises(PluginProcessError, match='invalid slo "-": invalid SLO ID'):
        run(ID, replace(GOOD, service="", name=""))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "-bad"}, "invalid SLO name: name must start and end with an alphanumeric"),
        ({"service": "bad service"}, "invalid SLO ID"),
        ({"objective": 0.0}, "objective must >0 and <=100"),
        ({"objective": 100.5}, "objective must >0 and <=100"),
        ({"labels": (("__name__", "x"),)}, "__name__"),
        ({"labels": (("k", ""),)}, "value is required"),
        ({"sli": EventsSLI("sum(rate(x[{{.window}}]))", "sum(rate(x[{{.window}}]))")}, "can't be the same"),
        ({"sli": RawSLI("sum(rate(x[5m]))")}, "template must contain the {{ .window }} variable"),
        ({"sli": RawSLI("sum(rate(x[{{.window}}])")}, "sli raw query expression"),
        ({"alerting": Alerting(ticket=AlertOptions(disabled=True))}, "page alert: alert name is required"),
        ({"alerting": replace(GOOD.alerting, ticket=AlertOptions(annotations=(("a", ""),)))}, "ticket alert"),
        ({"plugins": PluginChainSpec((), override_previous=True)}, "override plugins is set but no plugins"),
        ({"plugins": PluginChainSpec((PluginRef(""),))}, "plugin ID is required"),
    ],
)
def test_each_sloth_rule_is_checked(change: dict[str, object], message: str) -> None:
    with pytest.raises(PluginProcessError, match=message.replace("(", r"\(").replace("{", r"\{").replace("}", r"\}")):
        run(ID, replace(GOOD, **change))  # type: ignore[arg-type]


def test_override_with_spec_level_plugins_is_valid() -> None:
    declared = PluginChainSpec((PluginRef("sloth.dev/core/noop/v1"),), override_previous=True)
    assert as_dicts(run(ID, replace(GOOD, spec_plugins=declared)).sli_recordings.rules) == []
