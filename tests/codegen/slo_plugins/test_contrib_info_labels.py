"""sloth.dev/contrib/info_labels/v1: the cases of Sloth's plugin_test.go, plus promtool on a real plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codegen.plan import RecordingRule, RuleGroup
from codegen.slo_plugins.api import PluginConfigError
from codegen.slo_plugins.contrib import CONTRIB_FACTORIES
from codegen.slo_plugins.contrib.info_labels import SLO_PLUGIN_ID
from tests.codegen.slo_plugins.helpers import (
    EVENTS_SPEC,
    PROMTOOL,
    UTILS,
    default_rules,
    empty_rules,
    promtool_check,
    request,
    slo_from,
)

FACTORY = CONTRIB_FACTORIES[SLO_PLUGIN_ID]
LABELS = {"plugin_🦥_label_1": "🦥_1", "plugin_🦥_label_2": "🦥_2", "plugin_🦥_label_3": "🦥_3"}
BASE = (("k1", "v1"), ("k2", "v2"))


def _meta() -> RuleGroup:
    return RuleGroup("meta", (RecordingRule("something", "", BASE), RecordingRule("sloth_slo_info", "", BASE)))


@pytest.mark.parametrize("config", [None, {}, {"labels": {}}, {"metricName": "x"}])
def test_a_config_without_labels_fails(config: Any) -> None:
    with pytest.raises(PluginConfigError, match="at least one label"):
        FACTORY(config, UTILS)


@pytest.mark.parametrize("config", [{"labels": ["a"]}, {"labels": {"a": 1}}, {"labels": {"a": "b"}, "metricName": 3}])
def test_a_config_of_the_wrong_type_fails(config: Any) -> None:
    with pytest.raises(PluginConfigError):
        FACTORY(config, UTILS)


@pytest.mark.parametrize(
    ("config", "target"),
    [
        ({"labels": LABELS}, "sloth_slo_info"),
        ({"metricName": "something", "labels": LABELS}, "something"),
        ({"METRICNAME": "something", "Labels": LABELS}, "something"),  # Go's encoding/json folds key case
    ],
)
def test_labels_are_added_to_the_info_metric_only(config: dict[str, Any], target: str, tmp_path: Path) -> None:
    slo = slo_from(EVENTS_SPEC, tmp_path)
    rules = empty_rules()
    rules.meta_recordings = _meta()
    FACTORY(config, UTILS).process(request(slo), rules)
    by_record = {r.record: dict(r.labels) for r in rules.meta_recordings.rules if isinstance(r, RecordingRule)}
    for record, labels in by_record.items():
        assert labels == ({**dict(BASE), **LABELS} if record == target else dict(BASE))


def test_a_missing_info_metric_is_ignored_without_error(tmp_path: Path) -> None:
    rules = empty_rules()
    FACTORY({"labels": LABELS}, UTILS).process(request(slo_from(EVENTS_SPEC, tmp_path)), rules)
    assert rules.groups() == []


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing")
def test_promtool_accepts_the_plan(tmp_path: Path) -> None:
    slo = slo_from(EVENTS_SPEC, tmp_path)
    rules = default_rules(slo)
    FACTORY({"labels": {"team": "a", "tier": "1"}}, UTILS).process(request(slo), rules)
    info = next(r for r in rules.meta_recordings.rules if isinstance(r, RecordingRule) and r.record == "sloth_slo_info")
    assert ("team", "a") in info.labels and ("tier", "1") in info.labels
    result = promtool_check(rules, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
