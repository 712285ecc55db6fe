"""``sloth.dev/core/noop/v1`` and ``sloth.dev/core/debug/v1``: no rule changes; debug logs what it is asked to."""

from __future__ import annotations

import logging

import pytest

from codegen.plan import RecordingRule, RuleGroup, SLORules
from codegen.slo_plugins.api import PluginConfigError
from codegen.slo_plugins.registry import builtin_registry
from tests.codegen.slo_plugins.slos import UTILS, run, slo


def plan() -> SLORules:
    rule = RecordingRule("x", "vector(1)", ())
    return SLORules(RuleGroup("a", (rule,)), RuleGroup("b", ()), RuleGroup("c", ()))


@pytest.mark.parametrize("config", [None, {}, {"anything": 1}])
def test_noop_changes_nothing_whatever_the_config(config: object) -> None:
    before = plan()
    assert run("sloth.dev/core/noop/v1", slo(), config, rules=plan()) == before


def test_debug_logs_message_request_and_result(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=UTILS.logger.name)
    out = run("sloth.dev/core/debug/v1", slo(), {"msg": "Hello world", "request": True, "result": True}, rules=plan())
    assert out == plan()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "Hello world"
    assert "PluginRequest(" in messages[1] and "test-name" in messages[1]
    assert "SLORules(" in messages[2]


def test_debug_without_config_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=UTILS.logger.name)
    run("sloth.dev/core/debug/v1", slo(), None)
    assert caplog.records == []


def test_debug_rejects_a_non_string_message() -> None:
    with pytest.raises(PluginConfigError, match="'msg' must be str"):
        builtin_registry().factory("sloth.dev/core/debug/v1")({"msg": 3}, UTILS)
