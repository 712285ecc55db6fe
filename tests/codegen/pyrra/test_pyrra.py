"""Pyrra ``ServiceLevelObjective`` in: every example of pyrra-dev/pyrra compiles to rules promtool accepts and
whose generated tests pass, and per indicator type our alerts fire on the burn that fires Pyrra's (its factors
14/7/2/1 over its windows scaled to the SLO window), per group, from the raw metrics up."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen.cli import main
from codegen.durations import parse_duration
from codegen.errors import SpecErrors
from codegen.model import CompileOptions
from codegen.parse import load_specs
from codegen.parse_pyrra import pyrra_catalog

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted((GOLDEN / "examples").glob("*.yaml"))
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs Debian's prometheus")


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=300, check=False, cwd=cwd)


@pytest.mark.slow
def test_every_pyrra_example_compiles_checks_and_its_tests_pass(tmp_path: Path) -> None:
    """One file per run (the Kubernetes and OpenShift manifests repeat SLO names); every file's rules pass
    ``promtool check rules``, and the generated tests of every distinct spec (the manifests repeat whole files)
    pass ``promtool test rules``, in one promtool call each."""
    assert len(EXAMPLES) >= 40
    rules: list[str] = []
    tests: list[str] = []
    seen: set[str] = set()
    for example in EXAMPLES:
        out = tmp_path / example.stem
        code = main(["generate", "-i", str(example), "-o", str(out / "rules.yaml"), "--tests-out", str(out)])
        assert code == 0, example.name
        rules.append(str(out / "rules.yaml"))
        generated = sorted(out.glob("*_test.yaml"))
        assert len(generated) == 1, example.name
        # The manifests repeat one SLO in many files: run the generated tests once per shape (indicator type,
        # grouped or not, window), each shape's tests prove the same generator paths.
        specs = [d["spec"] for d in yaml.safe_load_all(example.read_text()) if d]
        shape = repr(
            [
                (sorted(s["indicator"]), bool(next(iter(s["indicator"].values())).get("grouping")), s["window"])
                for s in specs
            ]
        )
        if shape not in seen:
            seen.add(shape)
            tests.append(str(generated[0]))
    checked = promtool("check", "rules", *rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "lint error" not in checked.stdout + checked.stderr  # e.g. two SLOs' alerts with the same labels
    assert PROMTOOL is not None
    halves = [tests[0::2], tests[1::2]]  # two promtool processes: the test files are independent
    running = [subprocess.Popen([PROMTOOL, "test", "rules", *h], stdout=subprocess.PIPE, text=True) for h in halves]
    for process in running:
        printed, _ = process.communicate(timeout=300)
        assert process.returncode == 0, printed[-4000:]


def test_pyrra_windows_scale_with_the_slo_window_as_pyrra_computes_them() -> None:
    """28d: 5m/1h x14, 30m/6h x7, 2h/1d x2, 6h/4d x1, for 2m/15m/1h/3h; 30d rounds to the minute (64m)."""
    catalog, fors = pyrra_catalog(parse_duration("28d"))
    assert [(t.short, t.long, t.burn_factor) for t in catalog.tiers] == [
        ("5m", "1h", 14.0),
        ("30m", "6h", 7.0),
        ("2h", "1d", 2.0),
        ("6h", "4d", 1.0),
    ]
    assert fors == {"page-quick": 120, "page-slow": 900, "ticket-quick": 3600, "ticket-slow": 10800}
    catalog30, _ = pyrra_catalog(parse_duration("30d"))
    assert (catalog30.page_quick.short, catalog30.page_quick.long) == ("5m", "1h4m")


def _slo(name: str, indicator: dict[str, object], target: str = "99") -> dict[str, object]:
    return {
        "apiVersion": "pyrra.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name, "namespace": "shop", "labels": {"pyrra.dev/team": "checkout"}},
        "spec": {"target": target, "window": "28d", "indicator": indicator},
    }


INDICATORS: dict[str, dict[str, object]] = {
    "ratio": {
        "ratio": {
            "errors": {"metric": 'http_requests_total{job="api",code=~"5.."}'},
            "total": {"metric": 'http_requests_total{job="api"}'},
            "grouping": ["route"],
        }
    },
    "latency": {
        "latency": {
            "success": {"metric": 'http_request_duration_seconds_bucket{job="api",le="0.5"}'},
            "total": {"metric": 'http_request_duration_seconds_count{job="api"}'},
            "grouping": ["route"],
        }
    },
    "bool_gauge": {"bool_gauge": {"metric": 'probe_success{job="probe"}', "grouping": ["route"]}},
}
BUDGET = 0.01  # target 99
MINUTES = 100  # input samples, one a minute
EVAL = "80m"  # past the ticket alert's `for` (1h for 28d)


def _counter_series(kind: str, route: str, error_ratio: float) -> list[dict[str, str]]:
    """Counters that grow 100 requests a minute, ``error_ratio`` of them bad."""
    bad = 100 * error_ratio
    if kind == "ratio":
        return [
            {
                "series": f'http_requests_total{{job="api",route="{route}",code="200"}}',
                "values": f"0+{100 - bad}x{MINUTES}",
            },
            {"series": f'http_requests_total{{job="api",route="{route}",code="500"}}', "values": f"0+{bad}x{MINUTES}"},
        ]
    return [
        {
            "series": f'http_request_duration_seconds_bucket{{job="api",route="{route}",le="0.5"}}',
            "values": f"0+{100 - bad}x{MINUTES}",
        },
        {"series": f'http_request_duration_seconds_count{{job="api",route="{route}"}}', "values": f"0+100x{MINUTES}"},
    ]


def _gauge_series(route: str, zeros_in_ten: int) -> list[dict[str, str]]:
    """``probe_success`` sampled each minute: ``zeros_in_ten`` failed probes in every ten."""
    cycle = ["0"] * zeros_in_ten + ["1"] * (10 - zeros_in_ten)
    values = " ".join((cycle * (MINUTES // 10 + 1))[: MINUTES + 1])
    return [{"series": f'probe_success{{job="probe",route="{route}"}}', "values": values}]


# (scenario, per-kind input of the burning group, severities Pyrra's alerts fire at EVAL for that burn)
SCENARIOS: list[tuple[str, dict[str, float | None], set[str]]] = [
    # 1.05 x 14 x budget: Pyrra's 14x (5m/1h) fires, and with it every slower tier.
    ("above 14x", {"ratio": 0.147, "latency": 0.147, "bool_gauge": 10}, {"critical", "warning"}),
    # 10x budget: Pyrra's 7x (30m/6h) and 2x/1x fire, its 14x does not; our page alert covers both critical tiers.
    ("between 7x and 14x", {"ratio": 0.10, "latency": 0.10, "bool_gauge": 1}, {"critical", "warning"}),
    # 1.5x budget: only Pyrra's 1x (6h/4d) fires: a warning.
    ("between 1x and 2x", {"ratio": 0.015, "latency": 0.015, "bool_gauge": None}, {"warning"}),
    # 0.9x budget: nothing fires.
    ("below 1x", {"ratio": 0.009, "latency": 0.009, "bool_gauge": 0}, set()),
]


@pytest.mark.parametrize("kind", sorted(INDICATORS))
def test_alerts_fire_on_the_burn_that_fires_pyrras_per_group(kind: str, tmp_path: Path) -> None:
    """Raw metrics for two routes: one burns, one is healthy. Our alerts fire with Pyrra's severities for the
    burning route only; below Pyrra's lowest threshold nothing fires."""
    spec = tmp_path / "slo.yaml"
    spec.write_text(yaml.safe_dump(_slo(f"{kind.replace('_', '-')}-slo", INDICATORS[kind])))
    out = tmp_path / "rules.yaml"
    assert main(["generate", "-i", str(spec), "-o", str(out)]) == 0
    tests: list[dict[str, object]] = []
    for name, burns, severities in SCENARIOS:
        burn = burns[kind]
        if burn is None:
            continue
        if kind == "bool_gauge":
            series = _gauge_series("checkout", int(burn)) + _gauge_series("search", 0)
        else:
            series = _counter_series(kind, "checkout", float(burn)) + _counter_series(kind, "search", 0.0)
        tests.append(
            {
                "name": f"{kind}: {name}",
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "eval_time": EVAL,
                        "expr": 'count by (route, severity) (ALERTS{alertname="ErrorBudgetBurn", alertstate="firing"})',
                        "exp_samples": [
                            {"labels": f'{{route="checkout", severity="{s}"}}', "value": 1} for s in sorted(severities)
                        ],
                    }
                ],
            }
        )
    test_file = tmp_path / "scenarios_test.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [out.name], "evaluation_interval": "1m", "tests": tests}))
    result = promtool("test", "rules", test_file.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"spec": {"target": "100"}}, "must be above 0 and below 100"),
        ({"spec": {"target": "abc"}}, "is not a number"),
        ({"spec": {"window": None}}, "required"),
        ({"spec": {"indicator": {}}}, "exactly one indicator is required"),
        ({"spec": {"indicator": {"bool_gauge": {"metric": "sum(up)"}}}}, "must be a vector selector"),
        ({"spec": {"alerting": {"severities": {"fastBurn": "a", "mediumBurn": "b"}}}}, "must be equal"),
        ({"spec": {"indicator": {"latencyNative": {"latency": "fast", "total": {"metric": "h"}}}}}, "200ms"),
        ({"kind": "Nope"}, "unsupported Pyrra kind"),
    ],
)
def test_bad_pyrra_objects_are_errors_naming_the_field(patch: dict[str, object], message: str, tmp_path: Path) -> None:
    doc = _slo("x-slo", INDICATORS["ratio"])
    for key, value in patch.items():
        if isinstance(value, dict):
            target = doc[key]
            assert isinstance(target, dict)
            for inner, inner_value in value.items():
                target[inner] = inner_value
        else:
            doc[key] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecErrors) as raised:
        load_specs(str(path))
    assert message in str(raised.value)
    assert "bad.yaml" in str(raised.value)


def test_a_list_of_objects_and_grouping_refused_under_sloth_compat(tmp_path: Path) -> None:
    items = [_slo("a-slo", INDICATORS["ratio"]), _slo("b-slo", INDICATORS["bool_gauge"])]
    path = tmp_path / "list.yaml"
    path.write_text(
        yaml.safe_dump({"apiVersion": "pyrra.dev/v1alpha1", "kind": "ServiceLevelObjectiveList", "items": items})
    )
    out = tmp_path / "rules.yaml"
    assert main(["generate", "-i", str(path), "-o", str(out)]) == 0
    groups = [g["name"] for g in yaml.safe_load(out.read_text())["groups"]]
    assert "sloth-slo-alerts-shop-a-slo" in groups and "sloth-slo-alerts-shop-b-slo" in groups
    with pytest.raises(SpecErrors, match="Sloth does not read Pyrra objects"):
        load_specs(str(path), CompileOptions(sloth_compat=True))
