"""``sloth.dev/core/sli_rules/v1``: Sloth's plugin_test.go table (SLO id derived here: ``test-svc-test-name``)."""

from __future__ import annotations

from typing import Any

import pytest

from codegen.model import EventsSLI, RawSLI
from codegen.slo_plugins.api import PluginConfigError, PluginProcessError
from codegen.slo_plugins.registry import builtin_registry
from tests.codegen.slo_plugins.slos import SLOTH_IDS, UTILS, as_dicts, catalog, run, slo

ID = "sloth.dev/core/sli_rules/v1"
FILTER = '{sloth_id="test-svc-test-name", sloth_service="test-svc", sloth_slo="test-name"}'
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def events_rule(window: str) -> dict[str, Any]:
    return {
        "record": f"slo:sli_error:ratio_rate{window}",
        "expr": f'(rate(my_metric[{window}]{{error="true"}}))\n/\n(rate(my_metric[{window}]))\n',
        "labels": {"kind": "test", **SLOTH_IDS, "sloth_window": window},
    }


def optimized_30d(base: str) -> dict[str, Any]:
    selector = f"slo:sli_error:ratio_rate{base}{FILTER}"
    return {
        "record": "slo:sli_error:ratio_rate30d",
        "expr": f"sum_over_time({selector}[30d])\n/ ignoring (sloth_window)\ncount_over_time({selector}[30d])\n",
        "labels": {"kind": "test", **SLOTH_IDS, "sloth_window": "30d"},
    }


def test_events_sli_with_mwmb_windows_creates_the_recording_rules() -> None:
    rules = run(ID, slo(), {"disableOptimized": False}).sli_recordings.rules
    assert as_dicts(rules) == [*(events_rule(w) for w in WINDOWS), optimized_30d("5m")]
    assert [getattr(r, "window", None) for r in rules] == [*WINDOWS, "30d"]
    assert [r.role for r in rules] == ["sli"] * 7 + ["sli_period"]


def test_events_sli_non_optimized_evaluates_the_raw_queries_over_the_period() -> None:
    rules = run(ID, slo(), {"disableOptimized": True}).sli_recordings.rules
    assert as_dicts(rules) == [events_rule(w) for w in (*WINDOWS, "30d")]
    assert rules[-1].role == "sli_period"


def test_raw_sli_creates_the_recording_rules() -> None:
    rules = run(ID, slo(RawSLI("rate(my_metric[{{.window}}])"))).sli_recordings.rules
    expected = [
        {
            "record": f"slo:sli_error:ratio_rate{w}",
            "expr": f"(rate(my_metric[{w}]))",
            "labels": {"kind": "test", **SLOTH_IDS, "sloth_window": w},
        }
        for w in WINDOWS
    ]
    assert as_dicts(rules) == [*expected, optimized_30d("5m")]


def test_duplicated_windows_appear_once_and_sorted() -> None:
    hour = 3600
    windows = catalog([(3 * hour, 2 * hour), (3 * hour, hour), (hour, 2 * hour), (2 * hour, hour)])
    rules = run(ID, slo(windows=windows)).sli_recordings.rules
    assert as_dicts(rules) == [events_rule("1h"), events_rule("2h"), events_rule("3h"), optimized_30d("3h")]


@pytest.mark.parametrize(
    "error_query",
    ['rate(my_metric[{{}.window}}]{error="true"})', 'rate(my_metric[{{.Window}}]{error="true"})'],
    ids=["invalid template", "wrong variable"],
)
def test_a_template_that_does_not_render_fails(error_query: str) -> None:
    target = slo(EventsSLI(error_query, "rate(my_metric[{{.window}}])"))
    with pytest.raises(PluginProcessError, match="could not render SLI expression template"):
        run(ID, target)


def test_optimizing_the_period_with_itself_fails() -> None:
    day = 86400
    windows = catalog([(30 * day, 31 * day), (day, 2 * day), (day, 2 * day), (day, 2 * day)])
    with pytest.raises(PluginProcessError, match="can't optimize"):
        run(ID, slo(windows=windows))


def test_the_plugin_replaces_the_sli_group_rules() -> None:
    first = run(ID, slo(), {"disableOptimized": True})
    again = run(ID, slo(), None, rules=first)
    assert as_dicts(again.sli_recordings.rules)[-1] == optimized_30d("5m")
    assert len(again.sli_recordings.rules) == 8


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"disableOptimized": "yes"}, "'disableOptimized' must be bool"),
        ({"disableOptimised": True}, "unknown config key.*disableOptimised.*valid keys: disableOptimized"),
        ([True], "config must be a mapping"),
    ],
)
def test_invalid_config_is_rejected(config: Any, message: str) -> None:
    with pytest.raises(PluginConfigError, match=message):
        builtin_registry().factory(ID)(config, UTILS)
