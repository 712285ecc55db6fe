"""``slogen convert`` on the command line: outputs, warnings, exit codes, all-or-nothing writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen.cli import main
from codegen.exit_codes import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from tests.codegen.convert.roundtrip import REPO

SLO_DIR = REPO / "slo"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A copy of slo/ (its dashboards too) to convert."""
    return Path(shutil.copytree(SLO_DIR, tmp_path / "slo"))


def test_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    for flag in ("--input", "--to", "--out", "--sloth-compat", "--default-slo-period", "--slo-period-windows-path"):
        assert flag in text


@pytest.mark.parametrize(
    "argv",
    [
        ["convert", "-i", "slo"],  # no --to
        ["convert", "-i", "slo", "--to", "pyrra"],
        ["convert", "-i", "slo", "--to", "sloth", "-o", "slo"],  # onto its input
        ["convert", "-i", "slo/volatility-api.yaml", "--to", "sloth", "-o", "slo/volatility-api.yaml"],
        ["convert", "-i", "slo/volatility-api.yaml", "--to", "sloth", "-o", "slo"],  # a file into a directory
    ],
)
def test_usage_errors_exit_2(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("SLOTH_INPUT", raising=False)
    before = {p: p.read_bytes() for p in SLO_DIR.glob("*.yaml")}
    assert main(argv) == EXIT_USAGE
    assert {p: p.read_bytes() for p in SLO_DIR.glob("*.yaml")} == before


def test_file_to_stdout_with_warnings_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "-i", str(SLO_DIR / "volatility-model.yaml"), "--to", "sloth"]) == EXIT_OK
    out, err = capsys.readouterr()
    doc = yaml.safe_load(out)
    assert doc["version"] == "prometheus/v1" and "period" not in doc["slos"][0]
    assert "raw" in doc["slos"][0]["sli"] and "threshold_alerts" not in doc
    assert "warning: " in err and "period 4w: Sloth has one period per run" in err


def test_directory_mirrors_into_directory_and_is_deterministic(src: Path, tmp_path: Path) -> None:
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["convert", "-i", str(src), "--to", "openslo", "-o", str(out)]) == EXIT_OK
    written = sorted(p.relative_to(outs[0]).as_posix() for p in outs[0].rglob("*.yaml"))
    assert written == ["volatility-api.yaml", "volatility-consumer.yaml", "volatility-model.yaml"]  # no dashboards
    for name in written:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
        assert all(d["apiVersion"] == "openslo/v1" for d in yaml.safe_load_all((outs[0] / name).read_text()))


def test_invalid_input_exits_1_and_writes_nothing(
    src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = src / "volatility-api.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9", "objective: 120"))
    out = tmp_path / "out"
    assert main(["convert", "-i", str(src), "--to", "slogen", "-o", str(out)]) == EXIT_INVALID
    assert "objective must >0 and <=100" in capsys.readouterr().err
    assert not out.exists()


def test_what_the_target_cannot_hold_exits_1_and_writes_nothing(
    src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An objective of 100% has no OpenSLO target (it must be below 1): refused, naming the SLO."""
    spec = src / "volatility-api.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9", "objective: 100"))
    out = tmp_path / "out"
    assert main(["convert", "-i", str(src), "--to", "openslo", "-o", str(out)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "'volatility-api-api-availability': objective 100" in err and "nothing was written" in err
    assert not out.exists()


def test_sloth_compat_reads_what_only_sloth_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Sloth's victoria-metrics example needs Sloth's reading (MetricsQL, alert names Prometheus 2 refuses)."""
    example = REPO / "tests" / "codegen" / "sloth_golden" / "examples" / "victoria-metrics.yml"
    assert main(["convert", "-i", str(example), "--to", "slogen"]) == EXIT_INVALID
    capsys.readouterr()
    assert main(["convert", "-i", str(example), "--to", "slogen", "--sloth-compat"]) == EXIT_OK
    assert "histogram_share" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing: `make test` installs it")
@pytest.mark.parametrize("target", ["slogen", "sloth", "openslo"])
def test_converted_specs_generate_rules_promtool_accepts(src: Path, tmp_path: Path, target: str) -> None:
    converted, rules = tmp_path / "converted", tmp_path / "rules"
    assert main(["convert", "-i", str(src), "--to", target, "-o", str(converted)]) == EXIT_OK
    compat = ["--sloth-compat"] if target == "sloth" else []
    assert main(["generate", "-i", str(converted), "-o", str(rules), *compat]) == EXIT_OK
    files = sorted(str(p) for p in rules.glob("*.yaml"))
    assert len(files) == 3
    checked = subprocess.run(["promtool", "check", "rules", *files], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
