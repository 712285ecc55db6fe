"""The tiled SLI recordings (codegen.exact_rules): shape, names, and exactness proven on promtool's engine.

The promtool scenarios run the tiled rules and, as the control, today's default rules on the same raw counters:
31 days of 10x day/night traffic with errors concentrated at night, an idle stretch, a missing error series, and an
error burst for the page alert's firing minute. The control must fail the exactness check on the period SLI (it
averages 5m ratios), which proves the check can fail.
"""

from __future__ import annotations

import dataclasses
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from codegen.compiler import compile_specs
from codegen.durations import format_duration, parse_duration
from codegen.exact_rules import BASE_TILE, EXACT, SMOOTH, Tile, needed_levels, plan_window
from codegen.model import SLO, CompileOptions, EventsSLI, PluginRef
from codegen.parse import load_specs
from codegen.plan import RecordingRule, RuleGroup, SLOPlan
from codegen.rulefiles import groups_dict
from codegen.slo_plugins import chain
from codegen.slo_plugins.api import PluginConfigError
from codegen.slo_plugins.chain import Chain
from codegen.slo_plugins.registry import builtin_registry
from codegen.slo_plugins.slogen.exact_sli import SLO_PLUGIN_ID
from codegen.windows import parse_alert_windows
from codegen.yamlfmt import dump

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs it")
TOTAL_5M, ERRORS_5M = "slo:sli_total:tile5m", "slo:sli_errors:tile5m"

# The default chain without the tiles (Sloth's core plugins + NaN-safe ratios + routing + no-data), declared
# explicitly so the control stays the same whatever the default slot holds; "exact" adds the tiles at the end.
BEFORE = tuple(i for i in chain.default_ids(CompileOptions()) if i != SLO_PLUGIN_ID)


def chain_options(exact: bool, config: Any = None, **options: Any) -> CompileOptions:
    refs = tuple(PluginRef(i) for i in BEFORE) + ((PluginRef(SLO_PLUGIN_ID, config),) if exact else ())
    return CompileOptions(disable_default_plugins=True, slo_plugins=refs, **options)


SPEC = """version: "prometheus/v1"
service: "shop"
labels: {team: t}
slos:
  - name: checkout
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="shop",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="shop"}[{{.window}}]))
    alerting: {name: CheckoutBurn}
  - name: latency
    objective: 99.5
    sli:
      latency: {histogram: http_request_duration_seconds, threshold: 0.5, matchers: 'job="shop"'}
    alerting: {name: LatencyBurn}
  - name: ratio
    objective: 99
    sli:
      raw:
        error_ratio_query: 1 - sum(rate(ok_total[{{.window}}])) / sum(rate(all_total[{{.window}}]))
    alerting: {name: RatioBurn}
  - name: lag
    objective: 99
    sli:
      timeslice: {query: 'lag_seconds{job="c"}', bad_when: "> 30", missing_is_bad: true, up_query: 'up{job="c"}'}
    alerting: {name: LagBurn}
"""


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "shop.yaml"
    path.write_text(SPEC)
    return path


def compile_plans(path: Path, options: CompileOptions) -> dict[str, SLOPlan]:
    return {plan.slo.name: plan for plan in compile_specs(load_specs(str(path), options)).plans}


@pytest.fixture(scope="module")
def exact(spec_path: Path) -> dict[str, SLOPlan]:
    return compile_plans(spec_path, chain_options(True))


@pytest.fixture(scope="module")
def before(spec_path: Path) -> dict[str, SLOPlan]:
    return compile_plans(spec_path, chain_options(False))


@pytest.fixture(scope="module")
def slos(exact: dict[str, SLOPlan]) -> dict[str, SLO]:
    return {name: plan.slo for name, plan in exact.items()}


def records(group: RuleGroup) -> dict[str, RecordingRule]:
    return {r.record: r for r in group.rules if isinstance(r, RecordingRule)}


# ---------------------------------------------------------------------------------------------------------------
# Unit tests of the tiling and the plugin


@pytest.mark.parametrize("smooth_long", [False, True])
@pytest.mark.parametrize("window", ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "4w", "30d", "90d", "1h35m"])
def test_tiles_partition_the_window_exactly(window: str, smooth_long: bool) -> None:
    seconds = parse_duration(window)
    planned = plan_window(seconds, smooth_long)
    assert planned is not None
    family, tiles = planned
    assert family is (SMOOTH if smooth_long and seconds >= 86400 else EXACT)
    covered = 0
    for tile in tiles:  # contiguous, no gap and no overlap, ending now
        assert tile.offset == covered
        covered += tile.size
    assert covered == seconds
    assert len(tiles) <= 20  # a handful of samples per window, not one per evaluation


@pytest.mark.parametrize("smooth_long", [False, True])
def test_tiles_of_the_usual_windows(slos: dict[str, SLO], smooth_long: bool) -> None:
    family, tiles = plan_window(parse_duration("30d"), smooth_long) or (None, [])
    assert family is (SMOOTH if smooth_long else EXACT)
    assert [(t.size, t.offset) for t in tiles] == [
        (604800, 0),
        (604800, 604800),
        (604800, 1209600),
        (604800, 1814400),
        (86400, 2419200),
        (86400, 2505600),
    ]
    family, tiles = plan_window(parse_duration("6h"), smooth_long) or (None, [])
    assert family is EXACT and [(t.size, t.offset) for t in tiles] == [(21600, 0)]
    assert plan_window(parse_duration("2h"), smooth_long) == (EXACT, (Tile(3600, 0), Tile(3600, 3600)))
    assert plan_window(parse_duration("7m"), smooth_long) is None  # not whole 5m tiles
    slo = slos["checkout"]
    windows = [*slo.windows.windows(), slo.period]
    if smooth_long:  # rate tiles: 1h and 6h exact for the alert windows, the smooth ladder for 1d, 3d and 30d
        assert needed_levels(windows, smooth_long) == {EXACT: (300, 3600, 21600), SMOOTH: (3600, 21600, 86400, 604800)}
    else:
        assert needed_levels(windows) == {EXACT: (300, 3600, 21600, 86400, 604800)}


def test_ratio_rules_keep_sloth_names_and_labels(spec_path: Path) -> None:
    ours = compile_plans(spec_path, chain_options(True, extra_labels=(("env", "prod"),)))
    theirs = compile_plans(spec_path, chain_options(False, extra_labels=(("env", "prod"),)))
    for name, plan in ours.items():
        group, old = plan.sli_recordings, theirs[name].sli_recordings
        sloth_records = {r.record: r.labels for r in old.rules if isinstance(r, RecordingRule)}
        mine = {record: r.labels for record, r in records(group).items() if record in sloth_records}
        assert mine == sloth_records, name  # every series of the old group, same labels
        assert group.name == old.name
        assert [(r.record, r.role, r.window) for r in plan.sli_rules()] == [
            (r.record, r.role, r.window) for r in theirs[name].sli_rules()
        ]
        assert plan.meta_recordings == theirs[name].meta_recordings and plan.alerts == theirs[name].alerts
        for record, rule in records(group).items():
            if record.startswith(("slo:sli_errors:", "slo:sli_total:")):
                period = dict(old.rules[-1].labels)
                assert dict(rule.labels) == {k: v for k, v in period.items() if k != "sloth_window"}
                assert ("env", "prod") in rule.labels
                assert "sloth_window" not in dict(rule.labels)  # tiles of any size add up


def test_only_the_base_tiles_read_raw_data(exact: dict[str, SLOPlan]) -> None:
    group = exact["checkout"].sli_recordings
    raw = [r.record for r in group.rules if isinstance(r, RecordingRule) and "http_requests_total" in r.expr]
    assert raw == [TOTAL_5M, ERRORS_5M]
    for rule in group.rules:  # the rest reads recorded tiles: instant selectors, or one hour of 5m tiles
        assert isinstance(rule, RecordingRule)
        if rule.record not in raw:
            ranges = re.findall(r"(\w+:\w+:\w+)\{[^}]*\}\[([^\]]+)\]", rule.expr)
            assert ranges == (
                [(rule.record.replace("smooth1h", "tile5m"), "59m59s")] if "smooth1h" in rule.record else []
            )
            assert rule.expr.count("[") == len(ranges), rule.record


def test_every_window_is_tiled_and_nan_guarded(exact: dict[str, SLOPlan]) -> None:
    for rule in exact["latency"].sli_rules():
        assert rule.expr.rstrip().endswith("> 0\n)"), rule.record
        assert "slo:sli_total:" in rule.expr and "rate(" not in rule.expr
        assert "smooth" not in rule.expr, rule.record  # counter increments: exact tiles on every window


def test_raw_sli_keeps_its_query_on_alert_windows_and_tiles_the_period(
    exact: dict[str, SLOPlan], before: dict[str, SLOPlan]
) -> None:
    rules = records(exact["ratio"].sli_recordings)
    old = records(before["ratio"].sli_recordings)
    assert rules["slo:sli_error:ratio_rate1h"] == old["slo:sli_error:ratio_rate1h"]
    assert "rate(ok_total[1h])" in rules["slo:sli_error:ratio_rate1h"].expr
    period = rules["slo:sli_error:ratio_rate30d"].expr
    assert "tile1w" in period and "ok_total" not in period


def test_timeslice_tiles_count_slices_of_the_recorded_indicator(exact: dict[str, SLOPlan]) -> None:
    rules = exact["lag"].sli_recordings.rules
    assert isinstance(rules[0], RecordingRule) and rules[0].role == "sli_instant"  # still first: the tiles read it
    assert "count_over_time(slo:sli_error:ratio_instant" in records(exact["lag"].sli_recordings)[TOTAL_5M].expr


def test_recordings_another_plugin_rewrote_are_left_alone(tmp_path: Path) -> None:
    """Sloth's denominator-corrected plugin rewrites the alert windows after the core plugin: the tiles keep them
    as written. Its period is the core plugin's optimized average, text for text, so that one is tiled (the
    traffic-weighted ratio that plugin approximates)."""
    spec_path = tmp_path / "events.yaml"
    spec_path.write_text(SPEC.split("  - name: latency")[0])  # that plugin takes events SLIs only
    corrected = PluginRef("sloth.dev/contrib/denominator_corrected_rules/v1")
    base = chain_options(False)
    old = compile_plans(spec_path, dataclasses.replace(base, slo_plugins=(*base.slo_plugins, corrected)))
    ours = compile_plans(
        spec_path, dataclasses.replace(base, slo_plugins=(*base.slo_plugins, corrected, PluginRef(SLO_PLUGIN_ID)))
    )
    assert old["checkout"].sli_rules() != compile_plans(spec_path, base)["checkout"].sli_rules()  # it did rewrite
    windows = old["checkout"].alert_windows()
    assert [ours["checkout"].sli_rule(w) for w in windows] == [old["checkout"].sli_rule(w) for w in windows]
    period = ours["checkout"].sli_rule("30d")
    assert period is not None and "tile1w" in period.expr


def test_interval_config_is_validated_and_set_on_the_sli_group(spec_path: Path) -> None:
    plan = compile_plans(spec_path, chain_options(True, {"interval": "30s"}))["checkout"]
    assert plan.sli_recordings.interval == "30s"
    assert groups_dict([plan.sli_recordings])[0]["interval"] == "30s"
    assert plan.meta_recordings.interval is None
    registry = builtin_registry()
    chain_ = Chain(registry, CompileOptions())
    for bad, message in (("7m", "does not divide 5m"), ("soon", "invalid duration"), (30, "must be str")):
        with pytest.raises(PluginConfigError, match=message):
            chain_.registry.factory(SLO_PLUGIN_ID)({"interval": bad}, chain_.utils)
    with pytest.raises(PluginConfigError, match="unknown config key"):
        chain_.registry.factory(SLO_PLUGIN_ID)({"intervall": "1m"}, chain_.utils)


@needs_promtool
def test_every_sli_kind_renders_a_valid_rule_file(exact: dict[str, SLOPlan], tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(dump({"groups": groups_dict([g for plan in exact.values() for g in plan.groups()])}))
    assert PROMTOOL is not None
    checked = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# ---------------------------------------------------------------------------------------------------------------
# promtool scenarios


STEP = 5  # minutes between input samples; the skew scenario also evaluates every 5m (it divides 5m)
DAY_START, DAY_END = 6 * 60, 18 * 60  # minutes of the day with day traffic
DAY = {"total": 5000, "errors": 5}  # per step: 0.1% errors at day...
NIGHT = {"total": 500, "errors": 50}  # ...10% at night: the period ratio is 1%, the mean of 5m ratios ~5%
PERIOD = "2d"
MINUTES = 3 * 1440
IDLE = (2 * 1440 + 200, 2 * 1440 + 260)  # no traffic at all in these minutes (day 3's night)


def per_step(kind: str) -> list[int]:
    """Increments of each step (index i: the step ending at minute (i+1) * STEP)."""
    out = []
    for i in range(MINUTES // STEP):
        m = i * STEP
        if IDLE[0] <= m < IDLE[1]:
            out.append(0)
        else:
            out.append((DAY if DAY_START <= m % 1440 < DAY_END else NIGHT)[kind])
    return out


def two_day(slo: SLO) -> SLO:
    """The SLO on a 2d catalog with the workbook's short windows: a 3-day scenario that promtool runs fast (the
    week and month tiles are covered by the unit tests and `make bench-rules`)."""
    spec = {"apiVersion": "sloth.slok.dev/v1", "kind": "AlertWindows", "spec": {"sloPeriod": PERIOD, **WINDOWS}}
    catalog, errors = parse_alert_windows(spec, "<test>")
    assert catalog is not None, errors
    return dataclasses.replace(slo, windows=catalog)


WINDOWS = {
    "page": {
        "quick": {"errorBudgetPercent": 2, "shortWindow": "5m", "longWindow": "1h"},
        "slow": {"errorBudgetPercent": 5, "shortWindow": "30m", "longWindow": "6h"},
    },
    "ticket": {
        "quick": {"errorBudgetPercent": 10, "shortWindow": "2h", "longWindow": "1d"},
        "slow": {"errorBudgetPercent": 10, "shortWindow": "6h", "longWindow": "1d"},
    },
}


def series_values(increments: list[int]) -> str:
    """promtool's expanding notation, one term per constant stretch (``a+bxn``)."""
    terms: list[str] = []
    value, start = 0, 0
    while start < len(increments):
        end = start
        while end < len(increments) and increments[end] == increments[start]:
            end += 1
        step, count = increments[start], end - start
        first = value if not terms else value + step
        terms.append(f"{first}+{step}x{count if not terms else count - 1}")
        value += step * count
        start = end
    return " ".join(terms)


def truth(at_minute: int, window_minutes: int) -> float | None:
    """Errors over requests of the samples in ``(at - window, at]``: the traffic-weighted error ratio."""
    errors, total = per_step("errors"), per_step("total")
    lo, hi = max(0, at_minute - window_minutes) // STEP, at_minute // STEP
    t = sum(total[lo:hi])
    return sum(errors[lo:hi]) / t if t else None


def plan_of(slo: SLO, exact: bool) -> SLOPlan:
    """``slo`` compiled through the chain (with or without the tiles)."""
    from codegen.compiler import compile_slo

    options = chain_options(exact)
    return compile_slo(slo, "prometheus/v1", Chain(builtin_registry(), options))


def rule_file(path: Path, slo: SLO, exact: bool) -> Path:
    plan = plan_of(slo, exact)
    # One group: promtool (like Prometheus) orders groups arbitrarily, so an alert group may read the SLI of the
    # previous evaluation in one run and of this one in the next; within a group the order is fixed.
    rules = [r for g in plan.groups() for r in g.rules]
    path.write_text(dump({"groups": groups_dict([RuleGroup(plan.sli_recordings.name, tuple(rules))])}))
    return path


def within(expr: str, target: float, labels: str) -> dict[str, Any]:
    return {"expr": f"abs({expr} / {target!r} - 1) < bool 0.005", "exp_samples": [{"labels": labels, "value": 1}]}


def skew_test(slo: SLO) -> dict[str, Any]:
    """3 days of 5m samples, evaluated every 5m, checked at three moments of the last day."""
    ids = f'sloth_id="{slo.id}", sloth_service="{slo.service}", sloth_slo="{slo.name}"'
    checks: list[dict[str, Any]] = []
    for at in (2 * 1440 + 14 * 60 + 5, 2 * 1440 + 20 * 60, MINUTES):  # afternoon, night, after the idle stretch
        for window in ("1h", "6h", "1d", PERIOD):
            expected = truth(at, parse_duration(window) // 60)
            assert expected is not None
            labels = f'{{{ids}, sloth_window="{window}", team="t"}}'
            checks.append(
                {"eval_time": f"{at}m", **within(f"slo:sli_error:ratio_rate{window}{{{ids}}}", expected, labels)}
            )
    period = truth(MINUTES, parse_duration(PERIOD) // 60)
    assert period is not None
    remaining = 1 - period / slo.error_budget_ratio  # the metadata rules, unchanged, on the tiled period SLI
    checks.append(
        {
            "eval_time": f"{MINUTES}m",
            "expr": f"abs(slo:period_error_budget_remaining:ratio{{{ids}}} - {remaining!r}) < bool 0.005",
            "exp_samples": [{"labels": f'{{{ids}, sloth_window="{PERIOD}", team="t"}}', "value": 1}],
        }
    )
    idle_at = IDLE[0] + 30
    checks += [
        # no traffic: no sample (not NaN) for the 5m SLI; the longer windows still have one
        {"eval_time": f"{idle_at}m", "expr": f"slo:sli_error:ratio_rate5m{{{ids}}}", "exp_samples": []},
    ]
    for name in [f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "6h", "1d", PERIOD)] + [
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
    ]:  # x != x only for NaN
        checks.append({"eval_time": f"{idle_at}m", "expr": f"{name}{{{ids}}} != {name}{{{ids}}}", "exp_samples": []})
    return {
        "name": "day/night skew: every window and the period equal the traffic-weighted truth",
        "interval": f"{STEP}m",
        "input_series": [
            {"series": 'http_requests_total{job="shop", code="200"}', "values": series_values(_ok())},
            {"series": 'http_requests_total{job="shop", code="500"}', "values": series_values(per_step("errors"))},
        ],
        "promql_expr_test": checks,
    }


def _ok() -> list[int]:
    return [t - e for t, e in zip(per_step("total"), per_step("errors"), strict=True)]


def burst_test(slo: SLO) -> tuple[dict[str, Any], int]:
    """Steady traffic without errors for 3h, then every request fails: the page alert fires in the first minute
    whose 1h window exceeds the page-quick threshold (the 5m window is at 100% by then; the 6h one, 9m of errors in
    3h9m, is still below the page-slow threshold)."""
    quick = slo.windows.page_quick
    limit = quick.burn_factor * slo.error_budget_ratio
    start = 180
    fire = next(m for m in range(1, 61) if m / 60 > limit)
    ids = f'sloth_id="{slo.id}"'
    alerts = f'ALERTS{{alertname="{slo.alerting.name}", {ids}, alertstate="firing", sloth_severity="page"}}'
    test = {
        "name": f"error burst: the page alert fires {fire}m after it starts",
        "interval": "1m",
        "input_series": [
            {"series": 'http_requests_total{job="shop", code="200"}', "values": f"0+100x{start} {start * 100}+0x60"},
            {"series": 'http_requests_total{job="shop", code="500"}', "values": f"0+0x{start} 100+100x59"},
        ],
        "promql_expr_test": [
            {"eval_time": f"{start + fire - 1}m", "expr": f"count({alerts})", "exp_samples": []},
            {
                "eval_time": f"{start + fire}m",
                "expr": f"count({alerts})",
                "exp_samples": [{"labels": "{}", "value": 1}],
            },
        ],
    }
    return test, fire


def missing_errors_test(slo: SLO) -> dict[str, Any]:
    """The error series was never created: zero errors, a ratio of 0 on every window, not an absent SLI."""
    ids = f'sloth_id="{slo.id}", sloth_service="{slo.service}", sloth_slo="{slo.name}"'
    checks = [
        {
            "eval_time": "3h",
            "expr": f"slo:sli_error:ratio_rate{w}{{{ids}}}",
            "exp_samples": [
                {"labels": f'slo:sli_error:ratio_rate{w}{{{ids}, sloth_window="{w}", team="t"}}', "value": 0}
            ],
        }
        for w in ("5m", "1h", "2h", "30d")
    ]
    return {
        "name": "no error series at all: zero errors",
        "interval": "1m",
        "input_series": [{"series": 'http_requests_total{job="shop", code="200"}', "values": "0+10x200"}],
        "promql_expr_test": checks,
    }


def promtool_test(
    tmp_path: Path, rules: Path, interval: str, tests: list[dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{rules.stem}_{interval}_test.yaml"
    path.write_text(dump({"rule_files": [rules.name], "evaluation_interval": interval, "tests": tests}))
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.slow  # 3 days of promtool evaluation: ~6 s
@needs_promtool
def test_tiled_windows_are_exact_under_skew_and_the_default_period_is_not(slos: dict[str, SLO], tmp_path: Path) -> None:
    slo = two_day(slos["checkout"])
    exact = promtool_test(tmp_path, rule_file(tmp_path / "exact.yaml", slo, exact=True), "5m", [skew_test(slo)])
    assert exact.returncode == 0, exact.stdout + exact.stderr
    control = promtool_test(tmp_path, rule_file(tmp_path / "default.yaml", slo, exact=False), "5m", [skew_test(slo)])
    assert control.returncode != 0
    failed = control.stderr + control.stdout
    assert f"ratio_rate{PERIOD}" in failed  # the averaged period SLI is off...
    for window in ("1h", "6h", "1d"):  # ...while the raw windows of the default are exact too
        assert f"ratio_rate{window}{{" not in failed


@needs_promtool
def test_page_alert_fires_at_the_same_minute_as_today_and_zero_traffic_is_not_nan(
    slos: dict[str, SLO], tmp_path: Path
) -> None:
    slo = slos["checkout"]
    burst, fire = burst_test(slo)
    assert 1 < fire < 60
    for exact in (True, False):
        name = "exact" if exact else "default"
        result = promtool_test(tmp_path, rule_file(tmp_path / f"{name}.yaml", slo, exact), "1m", [burst])
        assert result.returncode == 0, name + result.stdout + result.stderr
    result = promtool_test(tmp_path, rule_file(tmp_path / "exact.yaml", slo, True), "1m", [missing_errors_test(slo)])
    assert result.returncode == 0, result.stdout + result.stderr


SPARSE_SCRAPE = 70  # seconds: off the 1m evaluation grid, so tile edges fall between samples as in production
SPARSE_SAMPLES = 26 * 3600 // SPARSE_SCRAPE
SPARSE_ERROR_AT = sorted(random.Random(12).sample(range(1, SPARSE_SAMPLES), 60))  # ~55 errors a day
SPARSE_REQUESTS = 7  # per scrape


def sparse_errors() -> list[int]:
    at = set(SPARSE_ERROR_AT)
    return [1 if i in at else 0 for i in range(1, SPARSE_SAMPLES)]


def sparse_truth(at: int, window: int) -> float:
    """Errors over requests of the increments scraped in ``(at - window, at]`` (samples at k x 70 s)."""
    hi, lo = at // SPARSE_SCRAPE, (at - window) // SPARSE_SCRAPE
    errors = sum(1 for i in SPARSE_ERROR_AT if lo < i <= hi)
    return errors / ((hi - lo) * SPARSE_REQUESTS + errors)  # the total counts both series


def sparse_test(slo: SLO) -> dict[str, Any]:
    """A sparse service scraped every 70 s: every window equals the exact count (to rounding), at moments whose
    windows hold different numbers of errors."""
    ids = f'sloth_id="{slo.id}", sloth_service="{slo.service}", sloth_slo="{slo.name}"'
    checks = []
    for at in (1500 * 60, 1513 * 60, 1531 * 60, 1559 * 60):
        for window in ("30m", "1h", "6h", "1d"):
            expected = sparse_truth(at, parse_duration(window))
            labels = f'{{{ids}, sloth_window="{window}", team="t"}}'
            if expected == 0:
                expr = f"slo:sli_error:ratio_rate{window}{{{ids}}} == bool 0"
            else:
                expr = f"abs(slo:sli_error:ratio_rate{window}{{{ids}}} / {expected!r} - 1) < bool 1e-9"
            checks.append({"eval_time": f"{at // 60}m", "expr": expr, "exp_samples": [{"labels": labels, "value": 1}]})
    requests = [SPARSE_REQUESTS] * (SPARSE_SAMPLES - 1)
    return {
        "name": "sparse errors scraped off the evaluation grid: every window is the exact count",
        "interval": f"{SPARSE_SCRAPE}s",
        "input_series": [
            {"series": 'http_requests_total{job="shop", code="200"}', "values": series_values(requests)},
            {"series": 'http_requests_total{job="shop", code="500"}', "values": series_values(sparse_errors())},
        ],
        "promql_expr_test": checks,
    }


@pytest.mark.slow  # 26 hours of promtool evaluation, twice: ~15 s
@needs_promtool
def test_counter_increment_tiles_are_exact_for_a_sparse_service_and_rate_tiles_are_not(
    slos: dict[str, SLO], tmp_path: Path
) -> None:
    """The total mixes requests with and without errors, so the errors are a share of it as in production. The
    control is the same SLO with ``+ 0`` on its error query: the same numbers, but not a query counter_delta can
    rewrite, so its tiles are ``rate()`` per 5m (and smooth for 1d): off by the intervals that straddle tile edges."""
    slo = two_day(slos["checkout"])
    assert 25 < len(SPARSE_ERROR_AT) * 86400 / (SPARSE_SAMPLES * SPARSE_SCRAPE) < 60
    exact = promtool_test(tmp_path, rule_file(tmp_path / "exact.yaml", slo, exact=True), "1m", [sparse_test(slo)])
    assert exact.returncode == 0, exact.stdout + exact.stderr
    assert isinstance(slo.sli, EventsSLI)
    rated = dataclasses.replace(slo, sli=dataclasses.replace(slo.sli, error_query=f"{slo.sli.error_query} + 0"))
    rules = rule_file(tmp_path / "rated.yaml", rated, exact=True)
    assert "smooth1d" in rules.read_text() and " offset 5m) >= 0" not in rules.read_text()
    control = promtool_test(tmp_path, rules, "1m", [sparse_test(slo)])
    assert control.returncode != 0
    assert "ratio_rate1d{" in control.stdout + control.stderr


def test_base_tile_is_five_minutes() -> None:
    assert format_duration(BASE_TILE) == "5m"


REPO = Path(__file__).resolve().parents[2]


KINDS_UNDER_TEST = ("volatility-api-api-errors", "volatility-consumer-prediction-freshness")  # events, timeslice


@needs_promtool
def test_the_generated_alert_tests_pass_on_the_tiled_rules(tmp_path: Path) -> None:
    """The committed promtool tests of the repo's SLOs (one events and one timeslice SLO, to stay fast), run against
    the SLO's tiled SLI group with the unchanged metadata and alert rules: the tiles stay silent where the tests feed
    the SLI series directly, and every tier still fires."""
    import yaml

    plans = {p.slo.id: p for p in compile_specs(load_specs(str(REPO / "slo"), chain_options(True))).plans}
    for slo_id in KINDS_UNDER_TEST:
        plan = plans[slo_id]
        slo = plan.slo
        assert any(r.record == TOTAL_5M for r in plan.rules() if isinstance(r, RecordingRule))
        (tmp_path / "rules.yaml").write_text(dump({"groups": groups_dict(plan.groups())}))
        body = yaml.safe_load((REPO / "alerts" / "tests" / f"{slo.service}_test.yaml").read_text())
        body["rule_files"] = ["rules.yaml"]
        body["tests"] = [t for t in body["tests"] if t["name"].startswith(f"{slo_id}:")]
        assert len(body["tests"]) >= 5  # one phased test per tier, the below-threshold test, no-data
        (tmp_path / "generated_test.yaml").write_text(dump(body))
        assert PROMTOOL is not None
        result = subprocess.run(
            [PROMTOOL, "test", "rules", str(tmp_path / "generated_test.yaml")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, slo_id + result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Declaring it: -s on the command line, slo_plugins in a spec


def test_opt_in_by_flag_and_by_spec_and_bad_config_is_a_clear_error(
    spec_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from codegen.cli import main

    flag = '{"id": "slogen.dev/exact_sli/v1", "config": {"interval": "1m"}}'
    assert main(["generate", "-i", str(spec_path), "-s", flag]) == 0
    out = capsys.readouterr().out
    assert out.count(f"record: {TOTAL_5M}") == 4 and "interval: 1m" in out
    declared = tmp_path / "declared.yaml"
    declared.write_text(
        SPEC.replace("slos:\n", "slo_plugins:\n  chain:\n    - id: slogen.dev/exact_sli/v1\nslos:\n", 1)
    )
    assert main(["generate", "-i", str(declared)]) == 0
    assert capsys.readouterr().out.count(f"record: {ERRORS_5M}") == 4
    assert (
        main(
            ["generate", "-i", str(spec_path), "-s", '{"id": "slogen.dev/exact_sli/v1", "config": {"interval": "45s"}}']
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "slogen.dev/exact_sli/v1" in err and "45s does not divide 5m" in err


def test_declared_twice_is_the_same_as_once(spec_path: Path) -> None:
    """A second run finds the windows already tiled (no longer the core plugin's text) and changes nothing."""
    once = compile_plans(spec_path, chain_options(True))
    options = chain_options(True)
    twice = compile_plans(
        spec_path, dataclasses.replace(options, slo_plugins=(*options.slo_plugins, PluginRef(SLO_PLUGIN_ID)))
    )
    assert once == twice
