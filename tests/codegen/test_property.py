"""The class is closed: for any spec over the whole grammar, slogen either writes rules promtool accepts (and
tests promtool passes), or writes nothing and says what is wrong, file and field, without a traceback.

Specs are generated as data (names, labels, annotations and queries holding quotes, backslashes, newlines,
braces, Go template fragments and non-ASCII text; every SLI type; every alert option; threshold alerts; several
documents and files) and dumped to YAML; the real CLI entry point compiles them with random flags.

CI runs the ``slogen-ci`` profile (a fixed set of examples, under a minute). To search harder:
``SLOGEN_HYPOTHESIS_PROFILE=slogen-deep .venv/bin/pytest tests/codegen/test_property.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen.cli import main
from codegen.promql_check import string_literal
from tests.codegen.clirun import needs_promtool, promtool

settings.register_profile(
    "slogen-ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("slogen-deep", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
PROFILE = settings.get_profile(os.environ.get("SLOGEN_HYPOTHESIS_PROFILE", "slogen-ci"))

# ---------------------------------------------------------------------------------------------------------------
# The grammar

HOSTILE_CHARS = list("ab z09_-.\"'\\\n\t{}$|()#:,=~!`é€😀\u2028")
text = st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=14)


def rarely(usual: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` in a benign run; in a hostile run (half of them, drawn once per example) ``usual`` or
    ``hostile`` at each choice. Benign runs still hold hostile text in every string."""
    return st.shared(st.booleans(), key="hostile-run").flatmap(lambda h: st.one_of(usual, hostile) if h else usual)


GOOD_TEMPLATES = [
    "{{ $labels.sloth_slo }}",
    "{{ $value | humanizePercentage }}",
    '{{ printf "%.2f" $value }}',
    "{{ if gt $value 1.0 }}high{{ else }}low{{ end }}",
    "{{- .Labels.sloth_service -}}",
    "{{ with $labels.team }}{{ . }}{{ end }}",
    "{{/* a comment */}}",
    "{{ range $i, $e := $labels }}{{ $i }}{{ end }}",
    '{{"{{"}}',
    "}}",
]
BAD_TEMPLATES = ["{{", "{{ end }}", "{{ nosuch }}", "{{ $undefined }}", "{{ .Labels.a-b }}", '{{ "unterminated }}']
template_text = st.lists(
    st.one_of(text, st.sampled_from(GOOD_TEMPLATES), rarely(st.just(""), st.sampled_from(BAD_TEMPLATES))),
    min_size=1,
    max_size=3,
).map("".join)
annotation_values = rarely(template_text.filter(bool), st.just(""))
names = rarely(
    st.sampled_from(["api", "svc-1", "a.b_c", "x9", "latency", "errors", "Fresh.ness", "q_1"]),
    st.text("ab-_.Z9 /", min_size=1, max_size=6),
)
label_keys = rarely(
    st.sampled_from(["team", "tier", "x_1", "severity", "sloth_severity", "category"]),
    st.sampled_from(["bad-key", "sloth_id", "__name__"]),
)
label_values = st.one_of(text.filter(bool), template_text.filter(bool), st.integers(0, 99), st.booleans())
labels = st.dictionaries(label_keys, label_values, max_size=3)
durations = rarely(st.sampled_from(["1m", "5m", "10m", "1h"]), st.sampled_from(["0s", "5x", "9999999999999s"]))
metrics = st.sampled_from(["http_requests_total", "errors_total", "up", "lag_seconds"])


@st.composite
def selectors(draw: st.DrawFn) -> str:
    """A vector selector whose label values carry anything (escaped as PromQL strings)."""
    matchers = draw(st.dictionaries(st.sampled_from(["job", "code", "path"]), text, max_size=2))
    body = ",".join(f"{k}={string_literal(v)}" for k, v in matchers.items())
    return f"{draw(metrics)}{{{body}}}"


@st.composite
def ratio_queries(draw: st.DrawFn) -> str:
    good = f"sum(rate({draw(selectors())}[{{{{.window}}}}]))"
    query: str = draw(
        rarely(st.just(good), st.sampled_from([f"scalar({good})", good + " # comment", "sum(rate(x[5m]))"]))
    )
    return query


@st.composite
def instant_queries(draw: st.DrawFn) -> str:
    selector = draw(selectors())
    usual = st.sampled_from([selector, f"{selector} or up", f"max by (job) ({selector})"])
    query: str = draw(rarely(usual, st.sampled_from(["1", "time()", selector + " # c"])))
    return query


@st.composite
def slis(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["events", "raw", "latency", "timeslice"]))
    if kind == "events":
        return {"events": {"error_query": draw(ratio_queries()), "total_query": draw(ratio_queries())}}
    if kind == "raw":
        return {"raw": {"error_ratio_query": draw(ratio_queries()) + " / 2"}}
    if kind == "latency":
        matcher = draw(st.dictionaries(st.sampled_from(["job", "path"]), text, max_size=2))
        parts = [f"{k}{draw(st.sampled_from(['=', '!=', '=~', ' = ']))}{string_literal(v)}" for k, v in matcher.items()]
        matchers = draw(st.sampled_from([",", ", ", " ,"])).join(parts)
        matchers += draw(st.sampled_from(["", ",", " "])) if parts else ""
        matchers = draw(rarely(st.just(matchers), st.sampled_from(['job="x"} or vector(1) or m{a="b"', "job=x"])))
        latency: dict[str, Any] = {
            "histogram": draw(rarely(st.sampled_from(["http_request_duration_seconds", "h"]), st.just("bad-name"))),
            "threshold": draw(rarely(st.sampled_from([0.25, 1, 2.5, float("inf")]), st.sampled_from([0, 0.3]))),
            "matchers": matchers,
        }
        if draw(st.booleans()):
            latency["buckets"] = [0.1, 0.25, 0.5, 1, 2.5, float("inf")]
        return {"latency": latency}
    timeslice: dict[str, Any] = {
        "query": draw(instant_queries()),
        "bad_when": draw(rarely(st.sampled_from(["< 1", "> 30", "== 0", ">= 1e3"]), st.just("<> 1"))),
    }
    if draw(st.booleans()):
        timeslice["missing_is_bad"] = True
        timeslice["up_query"] = draw(rarely(st.sampled_from(['up{job="api"}', "up"]), st.sampled_from(["1", "up # c"])))
    return {"timeslice": timeslice}


@st.composite
def alert_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["disable"] = draw(st.booleans())
    if draw(st.booleans()):
        options["labels"] = draw(labels)
    if draw(st.booleans()):
        options["annotations"] = draw(
            st.dictionaries(st.sampled_from(["summary", "hint"]), annotation_values, max_size=2)
        )
    if draw(st.booleans()):
        options["for"] = draw(durations)
    return options


@st.composite
def alertings(draw: st.DrawFn) -> dict[str, Any]:
    alerting: dict[str, Any] = {"name": draw(rarely(st.sampled_from(["ApiBurn", "Other_2"]), st.just("bad name")))}
    if draw(st.booleans()):
        alerting["labels"] = draw(labels)
    if draw(st.booleans()):
        alerting["annotations"] = draw(
            st.dictionaries(st.sampled_from(["summary", "x"]), annotation_values, max_size=2)
        )
    for key in ("page_alert", "ticket_alert"):
        if draw(st.booleans()):
            alerting[key] = draw(alert_options())
    if draw(st.booleans()):
        no_data = draw(alert_options())
        alerting["no_data_alert"] = no_data
    return alerting


@st.composite
def slos(draw: st.DrawFn) -> dict[str, Any]:
    slo: dict[str, Any] = {
        "name": draw(names),
        "objective": draw(rarely(st.sampled_from([99.9, 95, 99, 50, 100, 1e-5, 99.99]), st.sampled_from([0, 101]))),
        "sli": draw(slis()),
    }
    if draw(st.booleans()):
        slo["description"] = draw(template_text)
    if draw(st.booleans()):
        slo["labels"] = draw(labels)
    if draw(st.booleans()):
        slo["period"] = draw(rarely(st.sampled_from(["30d", "28d", "4w"]), st.sampled_from(["7d", "300y"])))
    slo["alerting"] = draw(
        rarely(alertings(), st.just({"page_alert": {"disable": True}, "ticket_alert": {"disable": True}}))
    )
    return slo


@st.composite
def threshold_alerts(draw: st.DrawFn) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "name": draw(rarely(st.sampled_from(["HighLatency", "Down"]), st.just("x y"))),
        "expr": draw(rarely(st.sampled_from(["up == 0", f"{draw(selectors())} > 1", "1"]), st.just("up[5m]"))),
        "annotations": {"summary": draw(annotation_values)},
    }
    if draw(st.booleans()):
        alert["severity"] = draw(rarely(st.sampled_from(["critical", "warning", "info"]), st.just("page")))
    if draw(st.booleans()):
        alert["for"] = draw(durations)
    if draw(st.booleans()):
        alert["labels"] = draw(labels)
    return alert


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "prometheus/v1",
        "service": draw(names),
        "slos": draw(st.lists(slos(), min_size=1, max_size=2)),
    }
    if draw(st.booleans()):
        doc["labels"] = draw(labels)
    if draw(st.integers(0, 3)) == 0:
        doc["threshold_alerts"] = draw(st.lists(threshold_alerts(), min_size=1, max_size=2))
    return doc


@st.composite
def runs(draw: st.DrawFn) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    files = draw(
        st.dictionaries(
            st.sampled_from(["a.yaml", "team/b.yml", "c.yaml"]),
            st.lists(documents(), min_size=1, max_size=2),
            min_size=1,
            max_size=2,
        )
    )
    flags: list[str] = []
    for flag in ("--sloth-compat", "--disable-alerts", "--disable-recordings"):
        if draw(st.integers(0, 4)) == 0:
            flags.append(flag)
    if draw(st.booleans()):
        flags += ["-l", draw(st.sampled_from(["env=prod", 'team=a"b', "region=eu{{x}}"]))]
    if draw(st.integers(0, 3)) == 0:
        flags += ["--runbook-base-url", draw(st.sampled_from(["http://x/{{ y }}", "https://r.example/run book"]))]
    return files, flags


# ---------------------------------------------------------------------------------------------------------------
# The property

FILE_LEVEL = ("invalid YAML", "no spec documents")  # errors about a whole file name no field


def compile_run(root: Path, files: dict[str, list[dict[str, Any]]], flags: list[str]) -> tuple[int, str, Path]:
    src, out = root / "slo", root / "out"
    for relative, docs in files.items():
        path = src / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False), encoding="utf-8")
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = main(["generate", "-i", str(src), "-o", str(out), "--tests-out", str(out / "tests"), *flags])
    return code, stderr.getvalue(), out


@pytest.mark.slow  # 40 generated specs through slogen and promtool: ~14 s
@needs_promtool
@PROFILE
@given(runs())
def test_exit_0_means_promtool_accepts_and_failure_means_a_clear_error_and_no_files(
    run: tuple[dict[str, list[dict[str, Any]]], list[str]],
) -> None:
    files, flags = run
    with tempfile.TemporaryDirectory(prefix="slogen-property-") as temp:
        code, err, out = compile_run(Path(temp), files, flags)
        assert "Traceback" not in err and "internal error" not in err, err
        if code == 0:
            rules = sorted(str(p) for p in out.rglob("*.y*ml") if "tests" not in p.relative_to(out).parts)
            if rules:
                checked = promtool("check", "rules", *rules)
                assert checked.returncode == 0, (err, checked.stdout + checked.stderr)
            tests = sorted(str(p) for p in (out / "tests").rglob("*_test.yaml")) if (out / "tests").exists() else []
            if tests:
                tested = promtool("test", "rules", *tests)
                assert tested.returncode == 0, tested.stdout + tested.stderr
            return
        assert code in (1, 2), err
        assert not out.exists(), "a failed run wrote files"
        lines = err.strip().splitlines()
        assert lines and lines[-1].startswith("slogen: "), err
        for line in lines[:-1]:  # error|warning: <file>:<line>: [slo "x"] field <path>: <message>
            kind = "warning: " if line.startswith("warning: ") else "error: "
            assert line.startswith(kind) and ("/slo/" in line or line.startswith(f"{kind}--")), line
            assert " field " in line or any(k in line for k in FILE_LEVEL), line


def test_the_grammar_reaches_both_outcomes() -> None:
    """Guards the property against a generator that only ever produces invalid (or only valid) specs."""
    outcomes: set[bool] = set()

    @settings(max_examples=25, deadline=None, derandomize=True, database=None)
    @given(runs())
    def collect(run: tuple[dict[str, list[dict[str, Any]]], list[str]]) -> None:
        with tempfile.TemporaryDirectory() as temp:
            code, err, _ = compile_run(Path(temp), *run)
            assert "Traceback" not in err and "internal error" not in err, err
            outcomes.add(code == 0)

    collect()
    assert outcomes == {True, False}
