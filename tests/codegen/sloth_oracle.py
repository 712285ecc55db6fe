"""Sloth v0.16's documented output, written from its templates and golden files, independent of ``codegen``.

Used as the oracle for ``--sloth-compat``: if codegen drifts from Sloth, these tests fail.
"""

from __future__ import annotations

import re
from typing import Any

SLOTH_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
TIERS = {  # severity: ((short, long, budget%), (short, long, budget%)) — the SRE workbook
    "page": (("5m", "1h", 2), ("30m", "6h", 5)),
    "ticket": (("2h", "1d", 10), ("6h", "3d", 10)),
}
HOURS = {"5m": 5 / 60, "30m": 0.5, "1h": 1, "2h": 2, "6h": 6, "1d": 24, "3d": 72}


def ids(service: str, slo: str) -> str:
    return f'{{sloth_id="{service}-{slo}", sloth_service="{service}", sloth_slo="{slo}"}}'


def go(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def factor(percent: float, period_hours: float, long_window: str) -> float:
    return percent * period_hours / 100 / HOURS[long_window]


def normalize(expr: str) -> str:
    """Whitespace aside: collapse every run of whitespace."""
    return re.sub(r"\s+", " ", expr).strip()


def sli_group(service: str, slo: str, labels: dict[str, str], sli: dict[str, str], period: str) -> dict[str, Any]:
    rules = []
    base = {**labels, "sloth_id": f"{service}-{slo}", "sloth_service": service, "sloth_slo": slo}
    for window in SLOTH_WINDOWS:
        if "error_ratio_query" in sli:
            expr = "(" + sli["error_ratio_query"].replace("{{.window}}", window) + ")"
        else:
            expr = (
                f"({sli['error_query'].replace('{{.window}}', window)})\n/\n"
                f"({sli['total_query'].replace('{{.window}}', window)})\n"
            )
        rules.append(
            {"record": f"slo:sli_error:ratio_rate{window}", "expr": expr, "labels": {**base, "sloth_window": window}}
        )
    sel = f"slo:sli_error:ratio_rate5m{ids(service, slo)}"
    rules.append(
        {
            "record": f"slo:sli_error:ratio_rate{period}",
            "expr": f"sum_over_time({sel}[{period}])\n/ ignoring (sloth_window)\ncount_over_time({sel}[{period}])\n",
            "labels": {**base, "sloth_window": period},
        }
    )
    return {"name": f"sloth-slo-sli-recordings-{service}-{slo}", "rules": rules}


def meta_group(
    service: str,
    slo: str,
    labels: dict[str, str],
    objective: float,
    period: str,
    days: int,
    mode: str = "cli-gen-prom",
    spec: str = "prometheus/v1",
) -> dict[str, Any]:
    base = {**labels, "sloth_id": f"{service}-{slo}", "sloth_service": service, "sloth_slo": slo}
    i = ids(service, slo)
    obj = go(objective / 100)
    burn = "{r}{i}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{i}\n"
    return {
        "name": f"sloth-slo-meta-recordings-{service}-{slo}",
        "rules": [
            {"record": "slo:objective:ratio", "expr": f"vector({obj})", "labels": base},
            {"record": "slo:error_budget:ratio", "expr": f"vector(1-{obj})", "labels": base},
            {"record": "slo:time_period:days", "expr": f"vector({days})", "labels": base},
            {
                "record": "slo:current_burn_rate:ratio",
                "expr": burn.format(r="slo:sli_error:ratio_rate5m", i=i),
                "labels": base,
            },
            {
                "record": "slo:period_burn_rate:ratio",
                "expr": burn.format(r=f"slo:sli_error:ratio_rate{period}", i=i),
                "labels": base,
            },
            {
                "record": "slo:period_error_budget_remaining:ratio",
                "expr": f"1 - slo:period_burn_rate:ratio{i}",
                "labels": base,
            },
            {
                "record": "sloth_slo_info",
                "expr": "vector(1)",
                "labels": {**base, "sloth_mode": mode, "sloth_objective": go(objective), "sloth_spec": spec},
            },
        ],
    }


def alert_expr(service: str, slo: str, objective: float, severity: str, period_hours: float) -> str:
    budget = go((100 - objective) / 100)
    i = ids(service, slo)
    parts = []
    for short, long, percent in TIERS[severity]:
        f = go(factor(percent, period_hours, long))
        parts.append(
            "(\n"
            f"    max(slo:sli_error:ratio_rate{short}{i} > ({f} * {budget})) without (sloth_window)\n"
            "    and\n"
            f"    max(slo:sli_error:ratio_rate{long}{i} > ({f} * {budget})) without (sloth_window)\n"
            ")"
        )
    return parts[0] + "\nor\n" + parts[1] + "\n"


def alert_rule(
    service: str,
    slo: str,
    objective: float,
    severity: str,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    period_hours: float = 720,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": alert_expr(service, slo, objective, severity, period_hours),
        "labels": {**labels, "sloth_severity": severity},
        "annotations": {
            **annotations,
            "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
            "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn "
            "rate is too fast.",
        },
    }
