"""docs/slo.md figures against an independent computation, runbook anchors for every alert, and the docs site.

The expected numbers here are computed from first principles (period × budget, the SRE workbook's 2/5/10/10%
tiers, a second-by-second simulation of the alert windows), not by calling the renderer's arithmetic.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from codegen.compiler import compile_specs
from codegen.conventions import render_window
from codegen.docs import render_slo_doc, time_to_fire
from codegen.durations import format_duration
from codegen.lowering import event_templates
from codegen.model import SLO, AlertTier, SpecSet
from codegen.parse import load_specs
from codegen.pipeline import Layout, render_all

REPO = Path(__file__).resolve().parents[2]
DAY = 86400
WORKBOOK = {
    "page-quick": (2, 3600, 300),
    "page-slow": (5, 6 * 3600, 1800),
    "ticket-quick": (10, DAY, 2 * 3600),
    "ticket-slow": (10, 3 * DAY, 6 * 3600),
}  # budget %, long, short
UNIT_SECONDS = {"d": DAY, "h": 3600, "m": 60, "s": 1}


@pytest.fixture(scope="module")
def repo_specs() -> SpecSet:
    return load_specs(str(REPO / "slo"))


@pytest.fixture(scope="module")
def repo_doc(repo_specs: SpecSet) -> str:
    return render_slo_doc(compile_specs(repo_specs), "slo")


def seconds(text: str) -> float:
    """``1d 12h`` / ``43m 12s`` / ``51.84 s`` back to seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([dhms])\b", text)
    assert parts, text
    return sum(float(value) * UNIT_SECONDS[unit] for value, unit in parts)


def resolution(text: str) -> float:
    """The smallest unit shown: the doc keeps two units, so a value is exact to within that unit."""
    if re.fullmatch(r"\d+\.\d+ s", text):
        return 0.01
    return float(min(UNIT_SECONDS[u] for _, u in re.findall(r"(\d+)([dhms])", text)))


def section(doc: str, slo_id: str) -> str:
    start = doc.index(f"\n## {slo_id}\n")
    end = doc.find("\n## ", start + 1)
    return doc[start:end]


def tier_rows(doc: str, slo_id: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in section(doc, slo_id).splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0].split(" ")[0] in WORKBOOK:
            rows[cells[0].split(" ")[0]] = cells
    assert len(rows) == 4, slo_id
    return rows


# ----------------------------------------------------------------------------------------------------------
# Known figures (the examples)


def test_99_9_percent_over_30d(repo_doc: str) -> None:
    text = section(repo_doc, "volatility-api-api-availability")
    assert "30d × 0.1% = **43m 12s**" in text
    page_quick = tier_rows(repo_doc, "volatility-api-api-availability")["page-quick"]
    # 1h × (14.4 × 0.001) = 51.84 s; the short window (5m × 0.0144 = 4.32 s) is over the line sooner
    assert page_quick[2:] == ["1h / 5m", "14.4×", "1.44%", "2% (51.84 s)", "51.84 s", "30m"]


def test_95_percent_latency_slo_counts_requests(repo_doc: str) -> None:
    text = section(repo_doc, "volatility-api-prediction-latency")
    assert "30d × 5% = **1d 12h**" in text
    assert "per 1,000,000 requests: 50,000 may be slower than 0.8 s" in text
    rows = tier_rows(repo_doc, "volatility-api-prediction-latency")
    assert rows["page-quick"][5:] == ["2% (43m 12s)", "43m 12s", "n/a (2× would exceed 100% errors)"]
    assert rows["ticket-slow"][2:5] == ["3d / 6h", "1×", "5%"]


def test_99_percent_events_slo(repo_doc: str) -> None:
    text = section(repo_doc, "volatility-api-api-errors")
    assert "30d × 1% = **7h 12m**" in text and "per 1,000,000 events: 10,000 may fail" in text


# ----------------------------------------------------------------------------------------------------------
# Every figure, for objectives and periods the repository does not use


ODD_SPEC = """\
version: prometheus/v1
service: shop
slos:
{slos}
"""
ODD_SLO = """\
  - name: {name}
    objective: {objective}
    period: {period}
    sli:
      events:
        error_query: sum(rate(errors_total[{{{{.window}}}}]))
        total_query: sum(rate(requests_total[{{{{.window}}}}]))
    alerting:
      name: Slo{index}Burn
"""
ODD = [("slo-a", 99.95, "30d"), ("slo-b", 97.5, "28d"), ("slo-c", 99.0, "28d"), ("slo-d", 80.0, "30d")]


def expected_tiers(objective: float, period: int) -> dict[str, tuple[float, float, float | None, float | None]]:
    """tier -> (burn factor, budget % consumed, seconds to fire at 100% errors, at 2× the factor)."""
    budget = 1 - objective / 100
    out: dict[str, tuple[float, float, float | None, float | None]] = {}
    for name, (percent, long, _short) in WORKBOOK.items():
        factor = percent / 100 * period / long
        threshold = factor * budget
        at_full = long * threshold if threshold < 1 else None
        at_double = long / 2 if 2 * threshold <= 1 else None
        out[name] = (factor, factor * long / period * 100, at_full, at_double)
    return out


def test_every_figure_matches_an_independent_computation(tmp_path: Path) -> None:
    slos = "".join(ODD_SLO.format(name=n, objective=o, period=p, index=i) for i, (n, o, p) in enumerate(ODD))
    (tmp_path / "shop.yaml").write_text(ODD_SPEC.format(slos=slos), encoding="utf-8")
    specs = load_specs(str(tmp_path))
    doc = render_slo_doc(compile_specs(specs), str(tmp_path))
    checked = 0
    for name, objective, period_text in ODD:
        period = 28 * DAY if period_text == "28d" else 30 * DAY
        text = section(doc, f"shop-{name}")
        budget_shown = re.search(r"= \*\*([^*]+)\*\*", text)
        assert budget_shown is not None
        assert abs(seconds(budget_shown.group(1)) - period * (1 - objective / 100)) <= resolution(budget_shown.group(1))
        rows = tier_rows(doc, f"shop-{name}")
        for tier, (factor, consumed, at_full, at_double) in expected_tiers(objective, period).items():
            cells = rows[tier]
            assert float(cells[3].rstrip("×")) == pytest.approx(factor, abs=1e-4)
            assert float(cells[5].split("%")[0]) == pytest.approx(consumed) == WORKBOOK[tier][0]
            if at_full is None:
                assert cells[6].startswith("never")
            else:
                assert abs(seconds(cells[6]) - at_full) <= resolution(cells[6]), (name, tier, cells[6])
            if at_double is None:
                assert cells[7].startswith("n/a")
            else:
                assert abs(seconds(cells[7]) - at_double) <= resolution(cells[7]), (name, tier, cells[7])
            checked += 1
    assert checked == 16
    # 80% over 30d: the fast page would need 14.4 × 20% = 288% errors, so it can never fire
    assert tier_rows(doc, "shop-slo-d")["page-quick"][6] == "never (threshold above 100% errors)"


def simulate_time_to_fire(tier: AlertTier, budget: float, error_ratio: float, limit: int) -> int | None:
    """Second by second: the first t at which both windows' average error ratio exceeds the threshold."""
    threshold = tier.burn_factor * budget
    for t in range(1, limit + 1):
        long_avg = error_ratio * min(t, tier.long_window) / tier.long_window
        short_avg = error_ratio * min(t, tier.short_window) / tier.short_window
        if long_avg > threshold and short_avg > threshold:
            return t
    return None


@pytest.mark.parametrize("ratio", [1.0, 0.5, 0.0288, 0.0144])
def test_time_to_fire_agrees_with_a_simulation(repo_specs: SpecSet, ratio: float) -> None:
    slo: SLO = next(s for s in repo_specs.slos if s.objective == 99.9)
    tier = slo.windows.page_quick
    budget = slo.error_budget_ratio
    computed = time_to_fire(tier, budget, ratio)
    simulated = simulate_time_to_fire(tier, budget, ratio, 2 * tier.long_window)
    if simulated is None:
        assert computed is None  # at exactly the threshold the rule's `>` never holds
    else:
        assert computed is not None and simulated - 1 <= computed <= simulated


# ----------------------------------------------------------------------------------------------------------
# Content and anchors


def test_every_slo_and_threshold_alert_is_documented(repo_specs: SpecSet, repo_doc: str) -> None:
    assert repo_doc.startswith("<!-- Generated by slogen")
    plans = {plan.slo.id: plan for plan in compile_specs(repo_specs).plans}
    for slo in repo_specs.slos:
        text = section(repo_doc, slo.id)
        rule = plans[slo.id].sli_rule("5m")
        assert rule is not None and rule.expr.strip() in text  # the recorded 5m SLI, whatever its shape
        for template in event_templates(slo.sli) or ():  # and the SLI's own queries (in the 5m tiles if tiled)
            assert render_window(template, "5m").strip() in text
        assert f"{slo.objective:g}% good over a rolling {format_duration(slo.period)}" in text
        assert f"#{(slo.alerting.name or '').lower()})" in text
    for alert in repo_specs.threshold_alerts:
        assert f"`{alert.name}`" in repo_doc and alert.expr in repo_doc
    assert "MODEL_VARIANT=baseline" in repo_doc and "runbook.md#rollback" in repo_doc


def github_slug(heading: str) -> str:
    """GitHub's (and MkDocs' toc) anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return re.sub(r"[ ]+", "-", text)


def runbook_anchors() -> set[str]:
    text = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")
    return {github_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def test_every_generated_runbook_url_has_a_section(repo_specs: SpecSet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    layout = Layout("slo", True, "alerts", "alerts/tests", "dashboards", "docs/slo.md", "docs/dashboards.md")
    outputs = render_all(load_specs("slo"), layout).files
    base = repo_specs.options.runbook_base_url
    urls: set[str] = set()
    alert_names: set[str] = set()
    for path, text in outputs.items():
        if path.startswith("alerts/") and "/tests/" not in path:
            for group in yaml.safe_load(text)["groups"]:
                for rule in group["rules"]:
                    if "alert" in rule:
                        alert_names.add(rule["alert"])
                        urls.add(rule["annotations"]["runbook_url"])
        urls |= set(re.findall(re.escape(base) + r"#[\w-]+", text))
    assert {"HighLatency", "ApiDown", "ConsumerLagging", "ApiErrorBudgetBurnNoData"} <= alert_names
    assert {f"{base}#{name.lower()}" for name in alert_names} <= urls
    anchors = runbook_anchors()
    missing = sorted(u for u in urls if u.split("#", 1)[1] not in anchors)
    assert not missing, f"runbook.md has no section for: {missing}"


def test_runbook_covers_the_required_topics() -> None:
    anchors = runbook_anchors()
    assert {
        "ports",
        "startup",
        "health-checks",
        "broker-down",
        "model-not-loaded",
        "grafana-no-data",
        "recovery",
        "rollback",
        "shutdown",
    } <= anchors
    text = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")
    assert "MODEL_VARIANT=baseline .venv/bin/python -m services.api" in text
    assert "MODEL_VARIANT=ml .venv/bin/python -m services.consumer" in text


def test_committed_docs_are_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    layout = Layout("slo", True, "alerts", "alerts/tests", "dashboards", "docs/slo.md", "docs/dashboards.md")
    outputs = render_all(load_specs("slo"), layout).files
    for path in ("docs/slo.md", "docs/dashboards.md"):
        assert (REPO / path).read_text(encoding="utf-8") == outputs[path], f"{path} is stale: run make generate"


# ----------------------------------------------------------------------------------------------------------
# The site


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    command = [
        str(mkdocs if mkdocs.exists() else shutil.which("mkdocs")),
        "build",
        "--strict",
        "--site-dir",
        str(tmp_path / "site"),
    ]
    result = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=170,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "site" / "runbook" / "index.html").read_text(encoding="utf-8")
    for anchor in ("highlatency", "apierrorbudgetburnnodata", "consumerlagging", "rollback"):
        assert f'id="{anchor}"' in html
    readme = (tmp_path / "site" / "readme" / "index.html").read_text(encoding="utf-8")
    assert "slogen" in readme
    assert (tmp_path / "site" / "slo" / "index.html").is_file()
    assert (tmp_path / "site" / "dashboards" / "index.html").is_file()
