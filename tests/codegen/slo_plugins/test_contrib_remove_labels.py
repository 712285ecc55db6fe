"""sloth.dev/contrib/remove_labels/v1: the cases of Sloth's plugin_test.go, plus promtool on a real plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codegen.plan import RecordingRule, RuleGroup
from codegen.slo_plugins.api import PluginConfigError
from codegen.slo_plugins.contrib import CONTRIB_FACTORIES
from codegen.slo_plugins.contrib.remove_labels import SLO_PLUGIN_ID
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
IDS = {"sloth_service": "some_service", "sloth_slo": "some_slo", "sloth_id": "some_service_some_slo"}
KEEP = {"keep_this_label": "some_value", "and_this_one_too": "some_value"}
CUSTOM = {"🦥_label_1": "🦥_1", "🦥_label_2": "🦥_2"}


def _rule(record: str, *label_sets: dict[str, str]) -> RecordingRule:
    merged: dict[str, str] = {}
    for labels in label_sets:
        merged.update(labels)
    return RecordingRule(record, "", tuple(sorted(merged.items())))


def _plan(extra: dict[str, str]) -> tuple[RuleGroup, RuleGroup]:
    sli = RuleGroup(
        "sli",
        (
            _rule("slo:sli_error:ratio_rate5m", IDS, {"sloth_window": "5m"}, extra, CUSTOM),
            _rule("slo:sli_error:ratio_rate1h", IDS, {"sloth_window": "1h"}, extra, CUSTOM),
        ),
    )
    meta = RuleGroup(
        "meta", (_rule("slo:objective:ratio", IDS, extra, CUSTOM), _rule("sloth_slo_info", IDS, extra, CUSTOM))
    )
    return sli, meta


def _labels(group: RuleGroup) -> dict[str, dict[str, str]]:
    return {r.record: dict(r.labels) for r in group.rules if isinstance(r, RecordingRule)}


@pytest.mark.parametrize(
    ("config", "extra", "objective_kept"),
    [
        ({}, {}, {}),  # custom labels removed from all but sloth_slo_info
        ({"preserveLabels": ["keep_this_label", "and_this_one_too"]}, KEEP, {}),
        ({"preserveLabels": list(KEEP), "skipMetrics": ["slo:objective:ratio"]}, KEEP, CUSTOM),
    ],
)
def test_custom_labels_are_removed(
    config: dict[str, Any], extra: dict[str, str], objective_kept: dict[str, str], tmp_path: Path
) -> None:
    rules = empty_rules()
    rules.sli_recordings, rules.meta_recordings = _plan(extra)
    FACTORY(config, UTILS).process(request(slo_from(EVENTS_SPEC, tmp_path)), rules)
    assert _labels(rules.sli_recordings) == {
        "slo:sli_error:ratio_rate5m": {**IDS, "sloth_window": "5m", **extra},
        "slo:sli_error:ratio_rate1h": {**IDS, "sloth_window": "1h", **extra},
    }
    assert _labels(rules.meta_recordings) == {
        "slo:objective:ratio": {**IDS, **extra, **objective_kept},
        "sloth_slo_info": {**IDS, **extra, **CUSTOM},
    }


def test_sloth_window_is_not_preserved_on_metadata(tmp_path: Path) -> None:
    rules = empty_rules()
    rules.meta_recordings = RuleGroup("meta", (_rule("slo:objective:ratio", IDS, {"sloth_window": "x"}),))
    FACTORY({"preserveLabels": ["sloth_window"]}, UTILS).process(request(slo_from(EVENTS_SPEC, tmp_path)), rules)
    assert _labels(rules.meta_recordings) == {"slo:objective:ratio": IDS}


@pytest.mark.parametrize("config", [{"preserveLabels": "team"}, {"skipMetrics": [1]}, []])
def test_a_config_of_the_wrong_type_fails(config: Any) -> None:
    with pytest.raises(PluginConfigError):
        FACTORY(config, UTILS)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing")
def test_promtool_accepts_the_plan(tmp_path: Path) -> None:
    slo = slo_from(EVENTS_SPEC, tmp_path)
    rules = default_rules(slo)
    FACTORY({"preserveLabels": ["global01k1"]}, UTILS).process(request(slo), rules)
    for rule in rules.sli_recordings.rules:
        assert {k for k, _ in rule.labels} == {"sloth_id", "sloth_service", "sloth_slo", "sloth_window", "global01k1"}
    result = promtool_check(rules, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
