"""``slogen convert`` round trips on every example: convert X to Y, compile both, compare the rule groups.

Semantic comparison (group names and intervals; rule names, ``expr`` modulo whitespace, ``for``, labels,
annotations). The only differences allowed are named and asserted:

- ``--to slogen``: the converted spec is ``prometheus/v1``, so ``sloth_slo_info``'s ``sloth_mode``/``sloth_spec``
  labels say so when X was Kubernetes or OpenSLO. Nothing else.
- ``--to sloth``: Y compiled (as Sloth would, ``--sloth-compat``) equals X compiled with its SLOs lowered
  (``convert.sloth.lower_slo``); lowering changes the rules of exactly the timeslice and slice-ratio SLOs (a
  subquery instead of the recorded indicator) and the SLOs whose windows are not the run's default catalog (their
  own period or ``alert_windows``); latency, native-latency and grouped SLOs compile identically.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.conventions import LABEL_MODE, LABEL_SPEC, MODE_PROM
from codegen.convert import Conversion, Target, convert_specs
from codegen.convert.sloth import lower_sli, lower_slo
from codegen.durations import parse_duration
from codegen.errors import SpecErrors
from codegen.model import CompileOptions, RawSLI, SliceRatioSLI, SpecSet, TimesliceSLI, WindowCatalog
from codegen.parse import load_specs
from codegen.windows import load_catalogs
from tests.codegen.convert.roundtrip import GOLDEN, REPO, Run, compiled, load, relabel, with_slos
from tests.codegen.openslo_v1.test_openslo_v1_data import EXPECTED as OPENSLO_V1_VENDORED

AS_PROMETHEUS_V1 = {LABEL_MODE: MODE_PROM, LABEL_SPEC: "prometheus/v1"}
_SKIP_GOLDEN = ("in-invalid-version.yaml",)  # an input Sloth itself refuses


def _golden_runs() -> list[Run]:
    runs = [Run(REPO / "slo"), Run(Path(__file__).parent / "examples")]
    examples = GOLDEN / "examples"
    runs += [Run(p, sloth_compat=True) for p in sorted(examples.glob("*.y*ml"))]
    testdata = GOLDEN / "integration" / "testdata"
    runs += [Run(p, sloth_compat=True) for p in sorted(testdata.glob("in-*.yaml")) if p.name not in _SKIP_GOLDEN]
    runs += [Run(p, sloth_compat=True) for p in sorted((testdata / "validate" / "good").glob("*.yaml"))]
    runs.append(
        Run(
            testdata / "in-base.yaml",
            sloth_compat=True,
            windows=GOLDEN / "integration" / "windows",
            default_period="7d",
        )
    )
    openslo = REPO / "tests" / "codegen" / "openslo" / "golden"
    runs += [Run(openslo / n, sloth_compat=True) for n in ("openslo-getting-started.yml", "good-openslo.yaml")]
    openslo_v1 = REPO / "tests" / "codegen" / "openslo_v1"
    runs.append(Run(openslo_v1 / "examples"))  # objects referenced across files
    pyrra = REPO / "tests" / "codegen" / "pyrra" / "golden" / "examples"
    runs += [Run(p) for p in sorted(pyrra.glob("*.yaml"))]  # one by one: several repeat an SLO ID
    for name, refusals in sorted(OPENSLO_V1_VENDORED.items()):
        if not refusals and load_specs(str(openslo_v1 / "golden" / name)).slos:
            runs.append(Run(openslo_v1 / "golden" / name))
    return runs


RUNS = _golden_runs()


def _id(run: Run) -> str:
    name = str(run.path.relative_to(REPO))
    return f"{name}@{run.default_period}" if run.windows else name


def default_windows(run: Run) -> WindowCatalog:
    catalogs, errors = load_catalogs(str(run.windows) if run.windows else None)
    assert not errors
    return catalogs[parse_duration(run.default_period)]


def convert(run: Run, specs: SpecSet, target: Target, out: Path) -> tuple[Conversion, Path]:
    """Convert and write the files as the CLI would (a directory input mirrors into ``out``)."""
    catalogs, _ = load_catalogs(str(run.windows) if run.windows else None)
    result = convert_specs(specs, target, catalogs, parse_duration(run.default_period))
    assert result.files, "nothing converted"
    for relative, text in result.files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return result, out if run.path.is_dir() else out / next(iter(result.files))


@pytest.mark.parametrize("run", RUNS, ids=_id)
def test_to_slogen_keeps_the_compiled_rules(run: Run, tmp_path: Path) -> None:
    x = load(run)
    _, y_path = convert(run, x, "slogen", tmp_path)
    y = load(run, y_path)  # read back with no warning
    options = CompileOptions(sloth_compat=run.sloth_compat)
    expected = compiled(x, options)
    if all(s.spec_kind == "prometheus/v1" for s in x.slos):
        assert relabel(expected, AS_PROMETHEUS_V1) == expected  # the only allowed difference does not apply
    assert compiled(y, options) == relabel(expected, AS_PROMETHEUS_V1)
    if not run.sloth_compat:  # our own specs: slogen's whole chain (NaN guards, routing, `for`, no-data) too
        assert compiled(y) == relabel(compiled(x), AS_PROMETHEUS_V1)


@pytest.mark.parametrize("run", RUNS, ids=_id)
def test_to_sloth_compiles_like_the_lowered_slos(run: Run, tmp_path: Path) -> None:
    x = load(run)
    result, y_path = convert(run, x, "sloth", tmp_path)
    y = load(run, y_path, sloth_compat=True)  # Sloth reads it without a single warning
    if not run.sloth_compat:
        load(run, y_path, sloth_compat=False)  # and so does slogen's strict reader
    windows = default_windows(run)
    warnings: list[str] = []
    lowered = with_slos(x, lambda slo: lower_slo(slo, windows, warnings))
    as_sloth = CompileOptions(sloth_compat=True)
    after = relabel(compiled(lowered, as_sloth), AS_PROMETHEUS_V1)
    assert compiled(y, as_sloth) == after
    before = relabel(compiled(x, as_sloth), AS_PROMETHEUS_V1)
    changed = {slo_id for slo_id in before if before[slo_id] != after[slo_id]}
    # grouping changes none of these rules: the user's queries keep their `by`, and the lowering writes it into
    # ours (latency, native latency, timeslice); what Sloth lacks is the per-group no-data alert and metadata
    expected = {s.id for s in x.slos if isinstance(s.sli, TimesliceSLI | SliceRatioSLI) or s.windows != windows}
    assert changed == expected
    assert set(warnings) <= set(result.warnings)
    for slo in x.slos:  # a grouped SLO's lowered queries still aggregate by its labels (what Sloth can keep)
        sli, _ = lower_sli(slo.sli, slo.grouping)
        text = sli.error_ratio_query if isinstance(sli, RawSLI) else f"{sli.error_query} {sli.total_query}"
        assert all(label in text for label in slo.grouping), (slo.id, text)


def test_to_sloth_warns_for_each_loss_in_our_specs(tmp_path: Path) -> None:
    run = Run(REPO / "slo")
    result, _ = convert(run, load(run), "sloth", tmp_path)
    text = "\n".join(result.warnings)
    assert "'volatility-api-api-availability': sli.timeslice lowered to a raw SLI" in text
    assert "'volatility-model-feature-drift': period 4w: Sloth has one period per run" in text
    assert "'volatility-model-feature-drift': alerting.page_alert.for 30m" in text
    assert "no-data alert (PredictionLatencyBudgetBurnNoData) has no Sloth form" in text
    assert "threshold_alerts (HighLatency, HighErrorRate, ApiDown)" in text
    assert "'volatility-api-api-errors-by-endpoint': grouping ['endpoint']: Sloth has no grouped SLOs" in text
    assert len(result.warnings) == len(set(result.warnings))


def test_converted_spec_is_refused_when_changed(tmp_path: Path) -> None:
    """The comparison can fail: a converted spec with one objective changed compiles to different rules."""
    run = Run(REPO / "slo")
    x = load(run)
    _, y_path = convert(run, x, "slogen", tmp_path)
    target = y_path / "volatility-api.yaml"
    target.write_text(target.read_text().replace("objective: 99\n", "objective: 99.5\n"))
    assert compiled(load(run, y_path)) != compiled(x)


def test_unreadable_output_is_caught(tmp_path: Path) -> None:
    run = Run(REPO / "slo")
    _, y_path = convert(run, load(run), "slogen", tmp_path)
    target = y_path / "volatility-api.yaml"
    target.write_text(target.read_text().replace("bad_when:", "bad_if:"))
    with pytest.raises(SpecErrors):
        load(run, y_path)
