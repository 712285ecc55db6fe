"""The two spec keys ``slogen convert --to slogen`` needs to say everything the model holds: ``alert_windows``
(an SLO's own tiers) and ``sli.slice_ratio`` (OpenSLO's RatioTimeslices)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.errors import SpecErrors
from codegen.model import SliceRatioSLI
from codegen.parse import load_specs

SPEC = """version: prometheus/v1
service: svc
slos:
  - name: s1
    objective: 99
    period: 28d
    sli:
{sli}
    alerting: {{name: SBurn}}
{extra}
"""
EVENTS = """      events:
        error_query: sum(rate(e[{{.window}}]))
        total_query: sum(rate(t[{{.window}}]))"""
WINDOWS = """    alert_windows:
      page:
        quick: {errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}
        slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}
      ticket:
        quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}
        slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}"""


def _load(tmp_path: Path, sli: str = EVENTS, extra: str = "") -> list[str] | tuple[object, ...]:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(sli=sli, extra=extra))
    try:
        return load_specs(str(path)).slos
    except SpecErrors as exc:
        return [f"{e.field}: {e.message}" for e in exc.errors]


def test_alert_windows_replace_the_periods_catalog(tmp_path: Path) -> None:
    (slo,) = _load(tmp_path, extra=WINDOWS)
    tiers = slo.windows.tiers  # type: ignore[attr-defined]
    assert [(t.name, t.budget_percent, t.short, t.long) for t in tiers] == [
        ("page-quick", 2.0, "5m", "1h"),
        ("page-slow", 5.0, "30m", "6h"),
        ("ticket-quick", 10.0, "2h", "1d"),
        ("ticket-slow", 10.0, "6h", "3d"),
    ]
    assert slo.windows.period == 28 * 86400  # type: ignore[attr-defined]


def test_alert_windows_burn_factor_is_exact(tmp_path: Path) -> None:
    """A budget share of 2.083333333333333% over 15m of 1w is 13.999999999999998x; ``burnFactor`` says 14."""
    windows = WINDOWS.replace(
        "{errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}",
        "{errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h, burnFactor: 14}",
    )
    (slo,) = _load(tmp_path, extra=windows)
    assert slo.windows.page_quick.burn_factor == 14.0  # type: ignore[attr-defined]
    assert slo.windows.page_slow.factor is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}", ""), "slos[0].alert_windows.page.slow:"),
        (("shortWindow: 5m", "shortWindow: 2h"), "slos[0].alert_windows.page.quick.shortWindow: short window must"),
        (("      page:", "      pages: {}\n      page:"), "slos[0].alert_windows.pages: unknown key"),
        (
            ("longWindow: 1h}", "longWindow: 1h, burnFactor: -1}"),
            "slos[0].alert_windows.page.quick.burnFactor: must be",
        ),
    ],
)
def test_alert_windows_errors_name_the_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    errors = _load(tmp_path, extra=WINDOWS.replace(*change))
    assert any(str(e).startswith(expected) for e in errors), errors


def test_slice_ratio_sli(tmp_path: Path) -> None:
    sli = """      slice_ratio:
        error_ratio_query: sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))
        slice_window: 5m"""
    (slo,) = _load(tmp_path, sli=sli)
    assert slo.sli == SliceRatioSLI("sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))", "5m")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("        error_ratio_query: sum(rate(e[{{.window}}]))", "slos[0].sli.slice_ratio.slice_window: required"),
        ("        error_ratio_query: sum(rate(e[5m]))\n        slice_window: 5m", "must contain the {{ .window }}"),
        ("        error_ratio_query: sum(rate(e[{{.window}}]))\n        slice_window: soon", "slice_window"),
    ],
)
def test_slice_ratio_errors(tmp_path: Path, body: str, expected: str) -> None:
    errors = _load(tmp_path, sli="      slice_ratio:\n" + body)
    assert any(expected in str(e) for e in errors), errors
