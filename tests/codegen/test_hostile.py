"""Hostile input gets a clear error, never a traceback, a wrong rule or a lost file (issue 9, items 8-15).

Every spec here once made slogen crash, overwrite its input, skip input silently, or exit 0 with rules promtool
rejects. Each case now exits 1 (bad spec) or 2 (bad flags) with a message naming the file and field, and writes
nothing; or exits 0 with output that promtool accepts.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import promql_parser
import pytest
import yaml

from codegen import cli
from tests.codegen.clirun import needs_promtool, promtool, run, run_as_nobody, snapshot

EVENTS = (
    "events:\n"
    '        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))\n'
    "        total_query: sum(rate(http_requests_total[{{.window}}]))"
)


def spec(sli: str = EVENTS, alerting: str = "name: MyAlert", extra: str = "", top: str = "", name: str = "req") -> str:
    return (
        f'version: "prometheus/v1"\nservice: "svc"\n{top}slos:\n  - name: {name}\n    objective: 99.9\n{extra}'
        f"    sli:\n      {sli}\n    alerting:\n      {alerting}\n"
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "slo").mkdir()
    return tmp_path


def generate(capsys: pytest.CaptureFixture[str], work: Path, text: str, *flags: str) -> tuple[int, str, Path]:
    """Compile one spec file into ``work/out`` (rules and tests); return exit code, stderr and the output dir."""
    (work / "slo" / "s.yaml").write_text(text, encoding="utf-8")
    out = work / "out"
    result = run(capsys, "generate", "-i", str(work / "slo"), "-o", str(out), "--tests-out", str(out / "tests"), *flags)
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    if result.code != 0:
        assert not out.exists(), "a failed run wrote files"
    return result.code, result.err, out


@pytest.fixture(params=["check", pytest.param("test", marks=pytest.mark.slow)])
def promtool_depth(request: pytest.FixtureRequest) -> str:
    """How far `promtool_accepts` goes: `check` (rules only, ~0.05 s) in test-fast; the slow twin, run by
    `make test`, also runs the generated promtool tests, which take ~2 s per SLO (promtool steps minute by minute)."""
    return str(request.param)


def promtool_accepts(out: Path, depth: str) -> None:
    """promtool accepts the rules and, at depth `test`, the generated tests pass."""
    rules = sorted(str(p) for p in out.glob("*.yaml"))
    checked = promtool("check", "rules", *rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = sorted(str(p) for p in (out / "tests").glob("*_test.yaml"))
    assert depth in ("check", "test"), depth
    if tests and depth == "test":
        tested = promtool("test", "rules", *tests)
        assert tested.returncode == 0, tested.stdout + tested.stderr


# ---------------------------------------------------------------------------------------------------------------
# 8. Outputs never overwrite inputs


def test_output_file_equal_to_the_input_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    src = work / "spec.yaml"
    src.write_text(spec())
    before = src.read_bytes()
    for flags in (["-o", str(src)], ["-o", str(work / "r.yaml"), "--docs-out", str(src)]):
        run(capsys, "generate", "-i", str(src), *flags).assert_clean_error(2, "input")
        assert src.read_bytes() == before
    assert not (work / "r.yaml").exists()


@pytest.mark.parametrize(
    "flags",
    [
        ["-o", "{slo}/alerts"],  # an output inside the input
        ["-o", "{work}/out", "--tests-out", "{slo}/tests"],
        ["-o", "{work}/out", "--dashboards-out", "{slo}"],
        ["-o", "{work}/out", "--docs-out", "{slo}/team/doc.md"],
        ["-o", "{work}"],  # the input inside an output
        ["-o", "{link}/alerts"],  # through a symlink to the input
        ["-o", "{work}/out", "--slo-period-windows-path", "{work}/out/windows"],  # windows are input too
    ],
)
def test_outputs_and_inputs_must_not_overlap(capsys: pytest.CaptureFixture[str], work: Path, flags: list[str]) -> None:
    slo = work / "slo"
    (slo / "team").mkdir()
    (slo / "team" / "s.yaml").write_text(spec())
    (work / "link").symlink_to(slo)
    (work / "out" / "windows").mkdir(parents=True)
    before = snapshot(work)
    argv = [f.format(slo=slo, work=work, link=work / "link") for f in flags]
    run(capsys, "generate", "-i", str(slo), *argv).assert_clean_error(2)
    assert snapshot(work) == before


def test_stdout_output_with_tests_out_is_a_usage_error(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    (work / "slo" / "s.yaml").write_text(spec())
    result = run(capsys, "generate", "-i", str(work / "slo" / "s.yaml"), "--tests-out", str(work / "t"))
    result.assert_clean_error(2, "--tests-out")
    assert result.out == "" and not (work / "t").exists()


def test_two_outputs_on_one_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    """``x_test.yaml`` mirrored from the input and the tests of ``x.yaml`` would be the same file."""
    (work / "slo" / "x.yaml").write_text(spec())
    (work / "slo" / "x_test.yaml").write_text(spec().replace('"svc"', '"svc2"'))
    out = work / "out"
    result = run(capsys, "generate", "-i", str(work / "slo"), "-o", str(out), "--tests-out", str(out))
    result.assert_clean_error(2, "x_test.yaml")
    assert not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# 9. Unreadable input is an error


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A temp dir another user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="slogen-hostile-"))
    path.chmod(0o755)
    yield path
    for sub in [path, *path.rglob("*")]:
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path)


@pytest.mark.parametrize("what", ["directory", "file"])
def test_unreadable_input_is_an_error_not_skipped(shared_dir: Path, what: str) -> None:
    slo, out = shared_dir / "slo", shared_dir / "out"
    (slo / "team").mkdir(parents=True)
    (slo / "a.yaml").write_text(spec())
    (slo / "team" / "b.yaml").write_text(spec().replace('"svc"', '"team"'))
    out.mkdir()
    for path in (slo, slo / "team", out):
        path.chmod(0o777)
    for path in slo.rglob("*.yaml"):
        path.chmod(0o644)
    first = run_as_nobody("generate", "-i", "slo", "-o", "out", cwd=shared_dir)
    assert first.returncode == 0, first.stderr
    assert (out / "team" / "b.yaml").exists()
    (slo / "team" if what == "directory" else slo / "team" / "b.yaml").chmod(0)
    before = snapshot(out)
    for command in ("validate", "generate"):
        argv = ["-i", "slo"] + (["-o", "out"] if command == "generate" else [])
        result = run_as_nobody(command, *argv, cwd=shared_dir)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "team" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(out) == before  # the rules generated for team/ are still there


# ---------------------------------------------------------------------------------------------------------------
# 11. Exit 0 implies promtool accepts: what promtool would reject is a spec error


ANNOTATION_BOMBS = [
    ("annotation", "name: A\n      annotations: {summary: 'x {{ oops'}", "alerting.annotations.summary"),
    ("label", "name: A\n      labels: {team: '{{'}", "alerting.labels.team"),
    ("page label", "name: A\n      page_alert: {labels: {x: '{{ $labels.a '}}", "alerting.page_alert.labels.x"),
    ("undefined function", "name: A\n      annotations: {x: '{{ nosuch 1 }}'}", "alerting.annotations.x"),
    ("undefined variable", "name: A\n      annotations: {x: '{{ $nope }}'}", "alerting.annotations.x"),
    (
        "no-data annotation",
        "name: A\n      no_data_alert: {annotations: {x: '{{end}}'}}",
        "no_data_alert.annotations.x",
    ),
]


@pytest.mark.parametrize(("case", "alerting", "field"), ANNOTATION_BOMBS, ids=[c[0] for c in ANNOTATION_BOMBS])
def test_broken_go_templates_are_spec_errors(
    capsys: pytest.CaptureFixture[str], work: Path, case: str, alerting: str, field: str
) -> None:
    code, err, _ = generate(capsys, work, spec(alerting=alerting))
    assert code == 1 and field in err and "template" in err and "s.yaml" in err, err


def test_broken_template_in_a_threshold_alert_is_a_spec_error(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    text = spec() + "threshold_alerts:\n  - {name: T, expr: up == 0, annotations: {summary: '{{ if }}'}}\n"
    code, err, _ = generate(capsys, work, text)
    assert code == 1 and "threshold_alerts[0].annotations.summary" in err, err


@needs_promtool
@pytest.mark.parametrize(
    "text",
    [
        "The {{ description }} is {{- literal",
        'quotes " and \\ and {{"{{"}} and }} and a\nnewline',
    ],
)
def test_description_and_runbook_url_are_literal_text(
    capsys: pytest.CaptureFixture[str], work: Path, promtool_depth: str, text: str
) -> None:
    extra = f"    description: {yaml.safe_dump(text, default_style=chr(34)).strip()}\n"
    code, err, out = generate(capsys, work, spec(extra=extra), "--runbook-base-url", "http://x/{{ .y }}/{{")
    assert code == 0, err
    promtool_accepts(out, promtool_depth)
    rules = yaml.safe_load((out / "s.yaml").read_text())
    page = next(r for g in rules["groups"] for r in g["rules"] if r.get("labels", {}).get("sloth_severity") == "page")
    assert page["annotations"]["runbook_url"].startswith("http://x/")


@pytest.mark.parametrize(
    ("matchers", "message"),
    [
        ('job="x"} or vector(1) or m{a="b"', "invalid label matchers"),
        ('job="x" or vector(1)', "invalid label matchers"),
        ('job="x",,a="b"', "invalid label matchers"),
        ('le="1"', "le"),
        ('__name__="other"', "__name__"),
        ('job=~"("', "invalid label matchers"),
        ("job=x", "invalid label matchers"),
    ],
)
def test_latency_matchers_are_parsed_as_label_matchers(
    capsys: pytest.CaptureFixture[str], work: Path, matchers: str, message: str
) -> None:
    sli = (
        f"latency: {{histogram: h, threshold: 1, matchers: {yaml.safe_dump(matchers, default_style=chr(34)).strip()}}}"
    )
    code, err, _ = generate(capsys, work, spec(sli=sli))
    assert code == 1 and "latency.matchers" in err and message in err, err


@needs_promtool
def test_latency_matchers_trailing_comma_and_spacing_are_normalised(
    capsys: pytest.CaptureFixture[str], work: Path, promtool_depth: str
) -> None:
    sli = "latency: {histogram: h, threshold: 1, matchers: ' job = \"x\" , path!~`/a.*`, '}"
    code, err, out = generate(capsys, work, spec(sli=sli))
    assert code == 0, err
    assert 'h_count{job="x",path!~`/a.*`}' in (out / "s.yaml").read_text()
    promtool_accepts(out, promtool_depth)


@pytest.mark.parametrize("query", ["1", "time()", "scalar(up)", '"text"', "up[5m]"])
def test_timeslice_query_must_be_an_instant_vector(capsys: pytest.CaptureFixture[str], work: Path, query: str) -> None:
    sli = f"timeslice: {{query: '{query}', bad_when: '< 1'}}"
    code, err, _ = generate(capsys, work, spec(sli=sli))
    assert code == 1 and "timeslice.query" in err, err


@pytest.mark.parametrize(
    ("sli", "field"),
    [
        ("raw: {error_ratio_query: 'scalar(sum(rate(e[{{.window}}])))'}", "raw.error_ratio_query"),
        ("events: {error_query: 'scalar(sum(rate(e[{{.window}}])))', total_query: 'sum(rate(t[{{.window}}]))'}",
         "events.error_query"),
        ("timeslice: {query: 'up', bad_when: '< 1', missing_is_bad: true, up_query: '1'}", "timeslice.up_query"),
    ],
)  # fmt: skip
def test_sli_queries_must_be_instant_vectors(
    capsys: pytest.CaptureFixture[str], work: Path, sli: str, field: str
) -> None:
    code, err, _ = generate(capsys, work, spec(sli=sli))
    assert code == 1 and field in err and "vector" in err, err


@pytest.mark.parametrize(
    "sli",
    [
        "events:\n        error_query: 'sum(rate(e[{{.window}}])) # errors'\n"
        "        total_query: sum(rate(t[{{.window}}]))",
        "raw: {error_ratio_query: 'sum(rate(e[{{.window}}])) # ratio'}",
        "timeslice: {query: 'up # comment', bad_when: '< 1'}",
    ],
)
def test_a_trailing_promql_comment_in_an_sli_query_is_a_spec_error(
    capsys: pytest.CaptureFixture[str], work: Path, sli: str
) -> None:
    code, err, _ = generate(capsys, work, spec(sli=sli))
    assert code == 1 and "comment" in err, err


@pytest.mark.parametrize(
    ("extra", "alerting", "field"),
    [
        ("    period: 300y\n", "name: A", "slos[0].period"),
        ("", "name: A\n      page_alert: {for: 9999999999999s}", "alerting.page_alert.for"),
    ],
)
def test_durations_promtool_calls_out_of_range_are_spec_errors(
    capsys: pytest.CaptureFixture[str], work: Path, extra: str, alerting: str, field: str
) -> None:
    code, err, _ = generate(capsys, work, spec(extra=extra, alerting=alerting))
    assert code == 1 and field in err and "out of range" in err, err


@pytest.mark.parametrize("option", ["page_alert", "ticket_alert", "no_data_alert"])
def test_an_alert_for_longer_than_slogen_can_prove_is_a_spec_error(
    capsys: pytest.CaptureFixture[str], work: Path, option: str
) -> None:
    """A ``for: 3d`` made the generated promtool test take 2.5 minutes (promtool steps through it minute by
    minute); a year would take hours. Exit 0 must mean the tests pass in reasonable time."""
    code, err, _ = generate(capsys, work, spec(alerting=f"name: A\n      {option}: {{for: 1d}}"))
    assert code == 1 and f"alerting.{option}.for" in err and "longer than 6h" in err, err


def test_same_slo_in_two_documents_of_one_file_is_an_error(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    code, err, _ = generate(capsys, work, spec() + "---\n" + spec())
    assert code == 1 and "s.yaml" in err and 'slo "req"' in err and "slos[0].name" in err, err


def test_threshold_alert_groups_of_one_service_in_two_documents_collide(
    capsys: pytest.CaptureFixture[str], work: Path
) -> None:
    alerts = "threshold_alerts:\n  - {name: T, expr: up == 0, annotations: {summary: s}}\n"
    code, err, _ = generate(capsys, work, spec() + alerts + "---\n" + spec(name="other") + alerts)
    assert code == 1 and "threshold_alerts" in err and "svc-threshold-alerts" in err, err


@needs_promtool
def test_slos_sharing_an_alert_name_get_no_data_tests_that_pass(
    capsys: pytest.CaptureFixture[str], work: Path, promtool_depth: str
) -> None:
    """Found by the property test: without input every no-data alert of the file fires, not only the SLO's own."""
    text = spec() + spec(name="other").split("slos:\n", 1)[1].replace("http_requests_total", "other_total")
    code, err, out = generate(capsys, work, text.replace("name: MyAlert", "name: Shared"))
    assert code == 0, err
    promtool_accepts(out, promtool_depth)


@needs_promtool
def test_unpredictable_no_data_annotations_are_still_tested(
    capsys: pytest.CaptureFixture[str], work: Path, promtool_depth: str
) -> None:
    """Found by the property test: a ``$value`` annotation made the no-data test expect no alert at all."""
    alerting = "name: A\n      no_data_alert: {annotations: {value: '{{ $value }}'}}"
    code, err, out = generate(capsys, work, spec(alerting=alerting))
    assert code == 0, err
    promtool_accepts(out, promtool_depth)
    assert 'ALERTS{alertname="ANoData"' in (out / "tests" / "s_test.yaml").read_text()


@needs_promtool
@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ("{slo: '{{ $labels.sloth_slo }}!', gone: '{{/* nothing */}}'}", "slo: req!"),
        ("{team: '{{ $labels.team }}'}", "ALERTS{"),  # a missing label: not predictable, so counted
    ],
)
def test_alert_label_templates_are_expanded_in_expected_alerts(
    capsys: pytest.CaptureFixture[str], work: Path, promtool_depth: str, labels: str, expected: str
) -> None:
    """Found by the property test: alert label values are templates too, expanded before promtool compares."""
    code, err, out = generate(capsys, work, spec(alerting=f"name: A\n      labels: {labels}"))
    assert code == 0, err
    promtool_accepts(out, promtool_depth)
    assert expected in (out / "tests" / "s_test.yaml").read_text()


@needs_promtool
def test_no_data_alert_of_a_selector_with_an_empty_matcher(
    capsys: pytest.CaptureFixture[str], work: Path, promtool_depth: str
) -> None:
    """Found by the property test: ``absent(m{path=""})`` has no ``path`` label, so none may be expected."""
    sli = 'latency: {histogram: h, threshold: 1, matchers: \'path="", job="x"\'}'
    code, err, out = generate(capsys, work, spec(sli=sli))
    assert code == 0, err
    promtool_accepts(out, promtool_depth)


# ---------------------------------------------------------------------------------------------------------------
# 12. User expressions keep their meaning when composed


def _instant_rule(out: Path) -> str:
    rules = yaml.safe_load((out / "s.yaml").read_text())
    return next(
        str(r["expr"]) for g in rules["groups"] for r in g["rules"] if r.get("record") == "slo:sli_error:ratio_instant"
    )


def test_timeslice_query_is_parenthesised_before_the_comparison(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    code, err, out = generate(capsys, work, spec(sli="timeslice: {query: 'a or b', bad_when: '< 1'}"))
    assert code == 0, err
    parsed = promql_parser.parse(_instant_rule(out))
    assert isinstance(parsed, promql_parser.AggregateExpr)  # max(...)
    comparison = parsed.expr
    assert isinstance(comparison, promql_parser.BinaryExpr) and str(comparison.op) in ("<", "TokenType.LSS", "LSS")
    assert "or" in comparison.lhs.prettify()  # (a or b) < bool 1, not a or (b < bool 1)


@needs_promtool
def test_timeslice_or_query_means_what_it_says_on_prometheus(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    code, err, out = generate(capsys, work, spec(sli="timeslice: {query: 'a or b', bad_when: '< 1'}"))
    assert code == 0, err
    (work / "t.yaml").write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(out / "s.yaml")],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": [{"series": "a", "values": "5x10"}],  # a is healthy, b is absent
                        "promql_expr_test": [
                            {
                                "expr": "slo:sli_error:ratio_instant",
                                "eval_time": "5m",
                                "exp_samples": [
                                    {
                                        "labels": 'slo:sli_error:ratio_instant{sloth_id="svc-req", '
                                        'sloth_service="svc", sloth_slo="req"}',
                                        "value": 0,
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        )
    )
    result = promtool("test", "rules", str(work / "t.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_latency_threshold_inf_renders_plus_inf(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    code, err, out = generate(capsys, work, spec(sli="latency: {histogram: h, threshold: .inf}"))
    assert code == 0, err
    text = (out / "s.yaml").read_text()
    assert 'le="+Inf"' in text and 'le="inf"' not in text


# ---------------------------------------------------------------------------------------------------------------
# 13. Escaping in generated promtool tests and headers


LABEL_VALUES = ['say "hi"', "back\\slash", "two\nlines", "tab\tand {braces} and ünïcödé", "{{ not a template }}"]


def test_generated_test_series_escape_label_values(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    labels = "    labels:\n" + "".join(
        f"      k{i}: {yaml.safe_dump(v, default_style=chr(34)).strip()}\n" for i, v in enumerate(LABEL_VALUES)
    )
    code, err, out = generate(capsys, work, spec(extra=labels))
    assert code == 0, err
    tests = yaml.safe_load((out / "tests" / "s_test.yaml").read_text())
    for series in (s["series"] for t in tests["tests"] for s in t["input_series"]):
        parsed = promql_parser.parse(series)
        assert isinstance(parsed, promql_parser.VectorSelector)
        values = {m.name: m.value for m in parsed.matchers.matchers}
        assert [values[f"k{i}"] for i in range(len(LABEL_VALUES))] == LABEL_VALUES


@needs_promtool
def test_generated_tests_with_hostile_label_values_pass_promtool(
    capsys: pytest.CaptureFixture[str], work: Path, promtool_depth: str
) -> None:
    labels = "    labels:\n" + "".join(
        f"      k{i}: {yaml.safe_dump(v, default_style=chr(34)).strip()}\n" for i, v in enumerate(LABEL_VALUES)
    )
    code, err, out = generate(capsys, work, spec(extra=labels))
    assert code == 0, err
    promtool_accepts(out, promtool_depth)


def test_a_newline_in_an_input_file_name_is_rejected(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    (work / "slo" / "evil\nkey: injected.yaml").write_text(spec())
    result = run(capsys, "generate", "-i", str(work / "slo"), "-o", str(work / "out"))
    result.assert_clean_error(1, "\\n")
    assert "\nkey: injected" not in result.err and not (work / "out").exists()


# ---------------------------------------------------------------------------------------------------------------
# 14. Crashes become errors


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nversion: *a{levels - 1}\n"


HOSTILE_YAML = [
    ("billion-laughs", billion_laughs(), "alias"),
    ("nested-450", "x: " + "[" * 450 + "]" * 450 + "\n", "nest"),
    ("nested-999", "x: " + "{a: " * 999 + "1" + "}" * 999 + "\n", "nest"),
    ("nested-block-600", "".join("  " * i + f"k{i}:\n" for i in range(600)) + "  " * 600 + "v\n", "nest"),
    ("custom-tag", spec().replace('"svc"', "!custom svc"), "tag"),
    ("custom-tag-mapping", spec().replace("    sli:\n      events:", "    sli:\n      events: !custom"), "tag"),
    ("bad-float", spec().replace("99.9", '!!float "abc"'), "abc"),
    ("binary", spec().replace('"svc"', "!!binary aGVsbG8="), "tag"),
    ("python-tag", spec().replace('"svc"', "!!python/object:os.system x"), "tag"),
    ("lone-surrogate", spec().replace('"svc"', '"svc"\nlabels: {x: "\\ud800"}'), "unicode"),
    ("not-utf8", None, "UTF-8"),
]


@pytest.mark.parametrize(("case", "text", "message"), HOSTILE_YAML, ids=[c[0] for c in HOSTILE_YAML])
def test_hostile_yaml_gets_a_clear_error(
    capsys: pytest.CaptureFixture[str], work: Path, case: str, text: str | None, message: str
) -> None:
    path = work / "slo" / "s.yaml"
    if text is None:
        path.write_bytes(spec().encode() + b"# caf\xe9\n")
    else:
        path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = run(capsys, "validate", "-i", str(path))
    result.assert_clean_error(1, "s.yaml")
    assert message.lower() in result.err.lower(), result.err
    assert time.monotonic() - started < 10
    assert len(result.err) < 4000  # one clear message, not a dump


WINDOWS_7D = (Path(__file__).parent / "fixtures" / "sloth" / "windows" / "7d.yaml").read_bytes()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.yaml", b"apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\n# caf\xe9\n"),
        ("bomb.yaml", billion_laughs().encode()),
        ("tag.yaml", b"!custom x\n"),
        ("dir.yaml", None),  # a directory is walked like any other, not read as a file
    ],
)
def test_hostile_windows_directory_entries(
    capsys: pytest.CaptureFixture[str], work: Path, name: str, content: bytes | None
) -> None:
    windows = work / "windows"
    windows.mkdir()
    if content is None:
        (windows / name).mkdir()
        (windows / name / "7d.yaml").write_bytes(WINDOWS_7D)
    else:
        (windows / "7d.yaml").write_bytes(WINDOWS_7D)
        (windows / name).write_bytes(content)
    (work / "slo" / "s.yaml").write_text(spec())
    result = run(capsys, "validate", "-i", str(work / "slo"), "--slo-period-windows-path", str(windows),
                 "--default-slo-period", "7d")  # fmt: skip
    if content is None:
        assert result.code == 0, result.err
    else:
        result.assert_clean_error(1, name)


def test_the_last_resort_handler_prints_one_line(
    capsys: pytest.CaptureFixture[str], work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a bug reaches it (every hostile input above is handled before): no traceback even then."""

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cli, "load_specs", boom)
    (work / "slo" / "s.yaml").write_text(spec())
    result = run(capsys, "validate", "-i", str(work / "slo"))
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip().splitlines() == ["slogen: internal error: RuntimeError: simulated bug"]


# ---------------------------------------------------------------------------------------------------------------
# 15. Smaller ones


@pytest.mark.parametrize("objective", ["99.9e0", "1e-5", "9.99E+1", "+99.5"])
def test_yaml_1_2_float_objectives_are_numbers(capsys: pytest.CaptureFixture[str], work: Path, objective: str) -> None:
    code, err, out = generate(capsys, work, spec().replace("99.9", objective))
    assert code == 0, err
    info = next(
        r for g in yaml.safe_load((out / "s.yaml").read_text())["groups"] for r in g["rules"]
        if r.get("record") == "sloth_slo_info"
    )  # fmt: skip
    assert float(info["labels"]["sloth_objective"]) == float(objective)


def test_docs_out_writes_only_the_slo_document(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    (work / "slo" / "s.yaml").write_text(spec())
    (work / "slo" / "board.yaml").write_text(
        "apiVersion: slogen/v1\nkind: Dashboard\nmetadata: {uid: b, title: B}\nspec: {generate: slos}\n"
    )
    docs = work / "docs"
    args = ["generate", "-i", str(work / "slo"), "-o", str(work / "out"), "--docs-out", str(docs / "slo.md")]
    result = run(capsys, *args)
    assert result.code == 0, result.err
    assert sorted(p.name for p in docs.iterdir()) == ["slo.md"]
    result = run(capsys, *args, "--dashboards-docs-out", str(docs / "boards.md"))
    assert result.code == 0, result.err
    assert sorted(p.name for p in docs.iterdir()) == ["boards.md", "slo.md"]


@pytest.mark.parametrize("name", ["Upper", "under_score", "-dash", "dot.", "x" * 254, "a..b"])
def test_kubernetes_metadata_name_is_a_dns_subdomain(capsys: pytest.CaptureFixture[str], work: Path, name: str) -> None:
    text = (
        "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\n"
        f"metadata: {{name: {yaml.safe_dump(name).strip()}}}\nspec:\n  service: svc\n  slos:\n"
        "    - name: s\n      objective: 99\n      sli:\n        events:\n"
        "          errorQuery: sum(rate(a[{{.window}}]))\n          totalQuery: sum(rate(b[{{.window}}]))\n"
        "      alerting: {pageAlert: {disable: true}, ticketAlert: {disable: true}}\n"
    )
    (work / "slo" / "s.yaml").write_text(text)
    run(capsys, "validate", "-i", str(work / "slo")).assert_clean_error(1, "metadata.name", "DNS")


def test_control_characters_in_error_messages_are_escaped(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    text = spec().replace("    objective: 99.9\n", '    objective: 99.9\n    "evil\\e[31mkey\\r\\u2028": 1\n')
    (work / "slo" / "s.yaml").write_text(text)
    result = run(capsys, "validate", "-i", str(work / "slo"))
    result.assert_clean_error(1, "evil")
    assert not any(ch in result.err for ch in "\x1b\r\u2028"), repr(result.err)


def test_empty_documents_are_skipped_like_sloth(capsys: pytest.CaptureFixture[str], work: Path) -> None:
    code, err, out = generate(capsys, work, "---\n---\n" + spec() + "---\n\n---\n# only a comment\n")
    assert code == 0, err
    assert (out / "s.yaml").exists()
