"""``slogen convert --to openslo`` on every example: the OpenSLO v1 output follows the spec's rules (as the
go-sdk validates them: there is no JSON schema to check against), and slogen's OpenSLO v1 front end reads it
back into the same SLOs, whose compiled rules equal X's compiled with what OpenSLO keeps.

What OpenSLO v1 does not keep, and so the only differences allowed (each asserted, not ignored): the alert name
(the reader names alerts ``<Service><Name>ErrorBudgetBurn``), the alerts' labels and annotations (plus the
reader's ``openslo_notification_target`` label), the no-data alert's ``for``/labels/annotations, a disabled
severity's windows, the timeslice SLI's ``missing_is_bad``, grouping (the queries we write keep its ``by``),
the latency SLIs' form (written as the events/raw ratio they compile to, so only the no-data alert's presence
query changes), SLO plugins, and ``sloth_mode``/``sloth_spec``.
Burn factors come back through a budget percentage: equal to the last bits of the float.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.convert.openslo import API
from codegen.errors import SpecErrors
from codegen.lowering import event_templates, ratio_template
from codegen.model import NO_PLUGINS, SLO, EventsSLI, LatencySLI, NativeLatencySLI, RawSLI, TimesliceSLI
from codegen.parse_openslo_v1_alerts import SHORT_WINDOW_DIVISOR
from tests.codegen.convert.roundtrip import REPO, Run, compiled, load, with_slos
from tests.codegen.convert.test_roundtrip import RUNS, _id, convert

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SHORTHAND = re.compile(r"^[1-9][0-9]*[mhdw]$")  # the go-sdk's duration shorthand, fixed-length units


def openslo_problems(obj: dict[str, Any]) -> list[str]:
    """The go-sdk's validation rules for the parts of an ``SLO`` object the converter writes."""
    out: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            out.append(what)

    need(obj.get("apiVersion") == API and obj.get("kind") == "SLO", "apiVersion/kind")
    need(bool(DNS_LABEL.match(obj["metadata"]["name"])), "metadata.name is a DNS label")
    spec = obj["spec"]
    need(bool(spec.get("service")), "spec.service required")
    need(len(spec.get("description", "")) <= 1050, "spec.description at most 1050 characters")
    need(spec.get("budgetingMethod") in ("Occurrences", "Timeslices", "RatioTimeslices"), "budgetingMethod")
    windows = spec.get("timeWindow") or []
    need(len(windows) == 1, "exactly one timeWindow")
    need(all(w.get("isRolling") is True and "calendar" not in w for w in windows), "rolling, no calendar")
    need(all(SHORTHAND.match(str(w.get("duration"))) for w in windows), "timeWindow.duration shorthand")
    indicator = spec["indicator"]
    need(bool(DNS_LABEL.match(indicator["metadata"]["name"])), "indicator.metadata.name is a DNS label")
    metrics = [k for k in ("ratioMetric", "thresholdMetric") if k in indicator["spec"]]
    need(len(metrics) == 1, "exactly one of ratioMetric/thresholdMetric")
    sources: list[dict[str, Any]] = []
    if "ratioMetric" in indicator["spec"]:
        ratio = indicator["spec"]["ratioMetric"]
        parts = sorted(k for k in ("good", "bad", "total", "raw") if k in ratio)
        need(parts in (["bad", "total"], ["good", "total"], ["raw"]), "ratioMetric parts")
        need(("rawType" in ratio) == (parts == ["raw"]), "rawType with raw only")
        need(ratio.get("rawType") in (None, "success", "failure"), "rawType")
        sources += [ratio[p]["metricSource"] for p in parts]
    else:
        sources.append(indicator["spec"]["thresholdMetric"]["metricSource"])
    need(all(s["type"] == "Prometheus" and s["spec"]["query"] for s in sources), "Prometheus metricSource")
    for objective in spec["objectives"]:
        need(0 <= objective["target"] < 1, "objectives[].target in [0, 1)")
        threshold = "thresholdMetric" in indicator["spec"]
        need(("op" in objective and "value" in objective) == threshold, "op/value with a thresholdMetric only")
        if spec["budgetingMethod"] != "Occurrences":
            need(SHORTHAND.match(str(objective.get("timeSliceWindow"))) is not None, "timeSliceWindow")
    for policy in spec.get("alertPolicies", []):
        need(policy["kind"] == "AlertPolicy", "inline AlertPolicy")
        need(bool(DNS_LABEL.match(policy["metadata"]["name"])), "AlertPolicy name is a DNS label")
        conditions, targets = policy["spec"]["conditions"], policy["spec"]["notificationTargets"]
        need(len(conditions) == 1, "exactly one condition per AlertPolicy")
        need(len(targets) >= 1, "at least one notification target")
        for condition in conditions:
            need(condition["kind"] == "AlertCondition" and bool(condition["spec"]["severity"]), "AlertCondition")
            c = condition["spec"]["condition"]
            need(c["kind"] == "burnrate" and c["op"] in ("gt", "gte", "lt", "lte"), "burnrate condition")
            need(isinstance(c["threshold"], float | int), "threshold")
            need(all(SHORTHAND.match(str(c[k])) for k in ("lookbackWindow", "alertAfter") if k in c), "durations")
        need(all(t["kind"] == "AlertNotificationTarget" and t["spec"]["target"] for t in targets), "targets")
    return out


def kept_by_openslo(x: SLO, y: SLO) -> SLO:
    """``x`` with only what OpenSLO v1 keeps: ``y``'s alerting and windows (checked against ``x`` separately)."""
    sli = x.sli
    if isinstance(sli, TimesliceSLI):
        sli = replace(sli, missing_is_bad=False, up_query=None)
    if isinstance(sli, LatencySLI):
        sli = EventsSLI(*(event_templates(sli, x.grouping) or ("", "")))
    if isinstance(sli, NativeLatencySLI):
        sli = RawSLI(ratio_template(sli, x.grouping) or "")
    return replace(
        x, name=y.name, sli=sli, grouping=(), alerting=y.alerting, windows=y.windows, spec_kind=y.spec_kind,
        plugins=NO_PLUGINS, spec_plugins=NO_PLUGINS,
    )  # fmt: skip


def assert_alerts_kept(x: SLO, y: SLO) -> None:
    """Tiers, ``for`` and the no-data switch survive (the tiers of an enabled severity, burn factors to ~1 ulp)."""
    for severity in ("page", "ticket"):
        xo, yo = getattr(x.alerting, severity), getattr(y.alerting, severity)
        assert yo.disabled == xo.disabled, severity
        if xo.disabled:
            continue
        assert yo.for_ == xo.for_
        for xt, yt in zip(x.windows.tiers, y.windows.tiers, strict=True):
            if xt.severity == severity:
                assert (yt.name, yt.long_window) == (xt.name, xt.long_window)
                if xt.short_window * SHORT_WINDOW_DIVISOR == xt.long_window:  # else lost (warned): one lookback
                    assert yt.short_window == xt.short_window
                assert math.isclose(yt.burn_factor, xt.burn_factor, rel_tol=1e-12)
    assert y.alerting.no_data.disabled == (x.alerting.no_data.disabled or False)


# Inputs whose OpenSLO output slogen's OpenSLO v1 reader refuses, with the reason (strict: must keep failing).
READER_REFUSES = {
    "victoria-metrics.yml": "MetricsQL queries: the OpenSLO v1 reader checks every query as PromQL",
}


def _marked(run: Run) -> Any:
    reason = READER_REFUSES.get(run.path.name)
    marks = [pytest.mark.xfail(reason=reason, strict=True, raises=SpecErrors)] if reason else []
    return pytest.param(run, marks=marks, id=_id(run))


@pytest.mark.parametrize("run", [_marked(r) for r in RUNS])
def test_to_openslo_reads_back_to_the_same_rules(run: Run, tmp_path: Path) -> None:
    x = load(run)
    result, y_path = convert(run, x, "openslo", tmp_path)
    for text in result.files.values():
        for obj in yaml.safe_load_all(text):
            assert openslo_problems(obj) == [], obj["metadata"]["name"]
    y = load(run, y_path, sloth_compat=False)
    assert len(y.slos) == len(x.slos)
    read_back: dict[str, SLO] = {}
    taken: set[str] = set()
    for sx, sy in zip(x.slos, y.slos, strict=True):  # in order: a name repeated in the run gets its service
        assert sy.name == (f"{sx.service}-{sx.name}" if sx.name in taken else sx.name)
        taken.add(sy.name)
        kept = (sy.service, sy.objective, sy.period, sy.description, sy.labels)
        assert kept == (sx.service, sx.objective, sx.period, sx.description, sx.labels)
        assert_alerts_kept(sx, sy)
        read_back[sx.id] = sy
    expected = with_slos(x, lambda s: kept_by_openslo(s, read_back[s.id]), kind=API)
    assert compiled(y) == compiled(expected, y.options)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A changed burn rate is caught when read back, and a policy with two conditions breaks the spec's rules."""
    run = Run(REPO / "slo")
    x = load(run)
    _, y_path = convert(run, x, "openslo", tmp_path)
    path = y_path / "volatility-api.yaml"
    text = path.read_text()
    path.write_text(text.replace("threshold: 14.4", "threshold: 10.0", 1))
    y = load(run, y_path)
    with pytest.raises(AssertionError):
        assert_alerts_kept(x.slos[0], y.slos[0])
    obj = next(yaml.safe_load_all(text))
    policy = obj["spec"]["alertPolicies"][0]["spec"]
    policy["conditions"] = policy["conditions"] * 2
    obj["spec"]["timeWindow"][0]["duration"] = "1h30m"
    assert openslo_problems(obj) == ["timeWindow.duration shorthand", "exactly one condition per AlertPolicy"]
