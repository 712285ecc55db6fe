"""sloth.dev/contrib/rule_intervals/v1: the cases of Sloth's plugin_test.go, plus promtool on a real plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codegen.slo_plugins.api import PluginConfigError
from codegen.slo_plugins.contrib import CONTRIB_FACTORIES
from codegen.slo_plugins.contrib.rule_intervals import SLO_PLUGIN_ID
from tests.codegen.slo_plugins.helpers import (
    EVENTS_SPEC,
    PROMTOOL,
    UTILS,
    default_rules,
    empty_rules,
    promtool_check,
    request,
    rule_file,
    slo_from,
)

FACTORY = CONTRIB_FACTORIES[SLO_PLUGIN_ID]


@pytest.mark.parametrize(
    "config",
    [
        {"interval": {"sliError": "43s", "metadata": "44s", "alert": "45s"}},
        None,
        {},
        {"interval": {"default": "0"}},
        {"interval": {"default": "1 minute"}},
        {"interval": {"default": 60}},
        {"interval": "1m"},
    ],
)
def test_a_config_without_a_valid_default_fails(config: Any) -> None:
    with pytest.raises(PluginConfigError):
        FACTORY(config, UTILS)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ({"default": "42s", "sliError": "43s", "metadata": "44s", "alert": "45s"}, ("43s", "44s", "45s")),
        ({"default": "42s"}, ("42s", "42s", "42s")),
        ({"default": "90s", "alert": "1500ms"}, ("1m30s", "1m30s", "1s500ms")),  # Prometheus' duration text
    ],
)
def test_intervals_per_rule_type_fall_back_to_the_default(
    interval: dict[str, str], expected: tuple[str, str, str], tmp_path: Path
) -> None:
    rules = empty_rules()
    FACTORY({"interval": interval}, UTILS).process(request(slo_from(EVENTS_SPEC, tmp_path)), rules)
    assert (rules.sli_recordings.interval, rules.meta_recordings.interval, rules.alerts.interval) == expected


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing")
def test_promtool_accepts_the_plan(tmp_path: Path) -> None:
    slo = slo_from(EVENTS_SPEC, tmp_path)
    rules = default_rules(slo)
    FACTORY({"interval": {"default": "2m", "alert": "30s"}}, UTILS).process(request(slo), rules)
    assert [g.get("interval") for g in rule_file(rules)["groups"]] == ["2m", "2m", "30s"]
    result = promtool_check(rules, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
