"""Sloth v0.16's own integration suite and examples, as data: slogen --sloth-compat must reproduce them.

Each generate case runs with the flags Sloth's ``generate_test.go`` gives it (plugins from ``examples/plugins``,
as Sloth's ``SLOTH_PLUGINS_PATH=./plugins``), each validate case as ``validate_test.go`` runs it, and the examples
as ``scripts/examplesgen.sh`` generates them. ``compare.diff_rule_files`` decides equality (whitespace in
expressions and the ``sloth_version`` label value aside) and prints a readable diff on failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codegen.cli import main
from tests.codegen.sloth_golden.compare import diff_rule_files, render_expected

HERE = Path(__file__).parent
REPO = HERE.parents[2]
TESTDATA = HERE / "integration" / "testdata"
WINDOWS = HERE / "integration" / "windows"
EXAMPLES = HERE / "examples"
PLUGINS = REPO / "examples" / "plugins"

# Cases that cannot pass yet, with the reason; strict, so a case that starts passing must be moved out.
KNOWN_FAILURES: dict[str, str] = {}

GENERATE: dict[str, tuple[str, list[str]]] = {
    "base": ("out-base.yaml.tpl", ["--input", "in-base.yaml"]),
    "base-k8s": ("out-base-k8s.yaml.tpl", ["--input", "in-base-k8s.yaml"]),
    "base-no-alerts": ("out-base-no-alerts.yaml.tpl", ["--input", "in-base.yaml", "--disable-alerts"]),
    "base-no-recordings": ("out-base-no-recordings.yaml.tpl", ["--input", "in-base.yaml", "--disable-recordings"]),
    "base-extra-labels": (
        "out-base-extra-labels.yaml.tpl",
        ["--input", "in-base.yaml", "-l", "exk1=exv1", "-l", "exk2=exv2"],
    ),
    "sli-plugin": ("out-sli-plugin.yaml.tpl", ["--input", "in-sli-plugin.yaml"]),
    "slo-plugin": ("out-slo-plugin.yaml.tpl", ["--input", "in-slo-plugin.yaml"]),
    "slo-plugin-k8s": ("out-slo-plugin-k8s.yaml.tpl", ["--input", "in-slo-plugin-k8s.yaml"]),
    "multifile": ("out-multifile.yaml.tpl", ["--input", "in-multifile.yaml"]),
    "multifile-k8s": ("out-multifile-k8s.yaml.tpl", ["--input", "in-multifile-k8s.yaml"]),
    "openslo": ("out-openslo.yaml.tpl", ["--input", "in-openslo.yaml"]),
    "base-28d": ("out-base-28d.yaml.tpl", ["--default-slo-period", "28d", "--input", "in-base.yaml"]),
    "base-custom-windows-7d": (
        "out-base-custom-windows-7d.yaml.tpl",
        ["--default-slo-period", "7d", "--input", "in-base.yaml", "--slo-period-windows-path", str(WINDOWS)],
    ),
}

VALIDATE: dict[str, tuple[list[str], bool]] = {  # args below testdata/, and whether Sloth fails
    "good": (["--input", "validate/good", "--ignore-slo-duplicates"], False),
    "bad": (["--input", "validate/bad"], True),
    "all": (["--input", "validate"], True),
    "all-exclude-bad": (["--input", "validate", "--fs-exclude", "bad", "--ignore-slo-duplicates"], False),
    "all-include-good": (["--input", "validate", "--fs-include", "good", "--ignore-slo-duplicates"], False),
    "none": (["--input", "validate", "--fs-exclude", ".*"], True),
    "exclude-wins-over-include": (
        ["--input", "validate", "--fs-exclude", "bad", "--fs-include", ".*-aa.*", "--ignore-slo-duplicates"],
        False,
    ),
    "duplicates": (["--input", "validate_with_duplicates"], True),
    "duplicates-ignored": (["--input", "validate_with_duplicates", "--ignore-slo-duplicates"], False),
    "duplicates-prom": (["--input", "validate_with_duplicates/prom"], True),
    "duplicates-k8s": (["--input", "validate_with_duplicates/k8s"], True),
    "duplicates-openslo": (["--input", "validate_with_duplicates/openslo"], True),
    "duplicates-prom-multi": (["--input", "validate_with_duplicates/bad-prom-multi-duplicates.yaml"], True),
}

EXAMPLE_OUTPUTS = sorted(p.name for p in (EXAMPLES / "_gen").iterdir())


def _mark(case: str) -> list[pytest.MarkDecorator]:
    reason = KNOWN_FAILURES.get(case)
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


def _run(args: list[str], cwd: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    old = Path.cwd()
    os.chdir(cwd)  # Sloth's tests run from the testdata's parent with relative inputs: paths in regexes match
    try:
        code = main(args)
    finally:
        os.chdir(old)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("expected", "args"),
    [pytest.param(*GENERATE[c], id=f"generate-{c}", marks=_mark(f"generate-{c}")) for c in GENERATE],
)
def test_generate_reproduces_sloths_golden_output(
    expected: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["generate", "--sloth-compat", "-p", str(PLUGINS), *args], TESTDATA, capsys)
    assert code == 0, err
    diff = diff_rule_files(render_expected((TESTDATA / expected).read_text()), out)
    assert not diff, "\n".join(diff)


def test_generate_with_an_invalid_version_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["generate", "--sloth-compat", "--input", "in-invalid-version.yaml"], TESTDATA, capsys)
    assert code == 1 and "version" in err and out == ""


@pytest.mark.parametrize(
    ("args", "fails"),
    [pytest.param(*VALIDATE[c], id=f"validate-{c}", marks=_mark(f"validate-{c}")) for c in VALIDATE],
)
def test_validate_behaves_as_sloths_validate_test(
    args: list[str], fails: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["validate", "--sloth-compat", "-p", str(PLUGINS), *args], TESTDATA.parent / "testdata", capsys)
    assert (code != 0) == fails, err


@pytest.fixture(scope="module")
def examples_generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """``examplesgen.sh``: the whole examples directory in one run, as Sloth generates its ``_gen/``."""
    out = tmp_path_factory.mktemp("examples_gen")
    old = Path.cwd()
    os.chdir(HERE)
    try:
        args = ["generate", "--sloth-compat", "-i", "examples", "-o", str(out), "-p", str(PLUGINS)]
        code = main([*args, "--extra-labels", "cmd=examplesgen.sh", "-e", "_gen|windows"])
    finally:
        os.chdir(old)
    return out, code, ""


@pytest.mark.parametrize(
    "name", [pytest.param(n, id=f"example-{n}", marks=_mark(f"example-{n}")) for n in EXAMPLE_OUTPUTS]
)
def test_examples_reproduce_their_gen_output(name: str, examples_generated: tuple[Path, int, str]) -> None:
    out, code, _ = examples_generated
    assert code == 0, "generating the examples failed (see the captured stderr)"
    produced = out / name
    assert produced.is_file(), f"{name} was not generated"
    diff = diff_rule_files((EXAMPLES / "_gen" / name).read_text(), produced.read_text())
    assert not diff, "\n".join(diff)
