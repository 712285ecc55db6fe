"""``sloth.dev/core/metadata_rules/v1``: Sloth's plugin_test.go table; Sloth's test ``Info`` (version, mode,
spec) becomes ours: the mode follows the spec kind, the version is slogen's."""

from __future__ import annotations

import pytest

from codegen.conventions import VERSION_LABEL_VALUE
from codegen.model import SpecKind
from tests.codegen.slo_plugins.slos import SLOTH_IDS, as_dicts, run, slo

ID = "sloth.dev/core/metadata_rules/v1"
FILTER = '{sloth_id="test-svc-test-name", sloth_service="test-svc", sloth_slo="test-name"}'
LABELS = {"kind": "test", **SLOTH_IDS}


@pytest.mark.parametrize(("kind", "mode"), [("prometheus/v1", "cli-gen-prom"), ("sloth.slok.dev/v1", "cli-gen-k8s")])
def test_slo_with_mwmb_windows_creates_the_metadata_recording_rules(kind: SpecKind, mode: str) -> None:
    rules = run(ID, slo(), spec_kind=kind).meta_recordings.rules
    burn = "\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio" + FILTER + "\n"
    assert as_dicts(rules) == [
        {"record": "slo:objective:ratio", "expr": "vector(0.9990000000000001)", "labels": LABELS},
        {"record": "slo:error_budget:ratio", "expr": "vector(1-0.9990000000000001)", "labels": LABELS},
        {"record": "slo:time_period:days", "expr": "vector(30)", "labels": LABELS},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": "slo:sli_error:ratio_rate5m" + FILTER + burn,
            "labels": LABELS,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": "slo:sli_error:ratio_rate30d" + FILTER + burn,
            "labels": LABELS,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": "1 - slo:period_burn_rate:ratio" + FILTER,
            "labels": LABELS,
        },
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {
                **LABELS,
                "sloth_version": VERSION_LABEL_VALUE,
                "sloth_mode": mode,
                "sloth_spec": kind,
                "sloth_objective": "99.9",
            },
        },
    ]
    assert {r.role for r in rules} == {"meta"}


def test_objective_label_is_plain_decimal_like_go_formatfloat() -> None:
    (info,) = [
        r for r in run(ID, slo(objective=0.00001)).meta_recordings.rules if r.labels and "sloth_mode" in dict(r.labels)
    ]
    assert dict(info.labels)["sloth_objective"] == "0.00001"  # Go's FormatFloat(v, 'f', -1), not 1e-05
