"""Sloth's input flags and --sloth-compat reading rules, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.cli import main
from codegen.cli_sloth import SlothFlagError, env_name, parse_slo_plugin_flag

SPEC = """version: "prometheus/v1"
service: "svc"
slos:
  - name: "{name}"
    objective: {objective}
    sli: {{raw: {{error_ratio_query: "sum(rate(e[{{{{.window}}}}]))"}}}}
    alerting: {{page_alert: {{disable: true}}, ticket_alert: {{disable: true}}}}
"""


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "slo"
    (root / "team-a").mkdir(parents=True)
    (root / "team-b").mkdir()
    (root / "team-a" / "a.yaml").write_text(SPEC.format(name="aa", objective=99))
    (root / "team-b" / "b.YML").write_text(SPEC.format(name="bb", objective=99))
    return root


def test_fs_exclude_and_include_filter_walked_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path)
    assert main(["validate", "-i", str(root), "-n", "team-", "-e", "team-b"]) == 0
    assert "1 SLO(s) in 1 file(s)" in capsys.readouterr().out
    assert main(["validate", "-i", str(root)]) == 0  # .YML is a spec file, as in Sloth
    assert "2 SLO(s) in 2 file(s)" in capsys.readouterr().out
    assert main(["validate", "-i", str(root), "-e", ".*"]) == 1
    assert "0 slo specs have been discovered" in capsys.readouterr().err


def test_flags_come_from_sloth_environment_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path)
    monkeypatch.setenv("SLOTH_FS_EXCLUDE", "team-a")
    assert main(["validate", "-i", str(root)]) == 0
    assert "1 SLO(s) in 1 file(s)" in capsys.readouterr().out
    assert main(["validate", "-i", str(root), "-e", "nothing"]) == 0  # the flag replaces the variable
    assert "2 SLO(s) in 2 file(s)" in capsys.readouterr().out
    monkeypatch.setenv("SLOTH_DISABLE_DEFAULT_SLO_PLUGINS", "maybe")
    assert main(["validate", "-i", str(root)]) == 2
    assert "SLOTH_DISABLE_DEFAULT_SLO_PLUGINS" in capsys.readouterr().err


def test_env_names_follow_kingpin_default_envars() -> None:
    assert env_name("fs-exclude") == "SLOTH_FS_EXCLUDE"
    assert env_name("plugins-path") == "SLOTH_PLUGINS_PATH"
    assert env_name("ignore-slo-duplicates") == "SLOTH_IGNORE_SLO_DUPLICATES"


def test_a_bad_regex_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-i", str(_tree(tmp_path)), "-n", "(unclosed"]) == 2
    assert "invalid include regex" in capsys.readouterr().err


def test_slo_plugin_json_reads_like_go() -> None:
    ref = parse_slo_plugin_flag('{"ID": "x/y", "Priority": -5, "config": {"a": 1}, "other": true}')
    assert (ref.id, ref.priority, ref.config) == ("x/y", -5, {"a": 1})
    for bad in ("{", "[]", '{"priority": 1}', '{"id": "x", "priority": "1"}'):
        with pytest.raises(SlothFlagError):
            parse_slo_plugin_flag(bad)


def test_duplicate_ids_fail_validate_unless_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(SPEC.format(name="aa", objective=99) + "---\n" + SPEC.format(name="aa", objective=99))
    assert main(["validate", "--sloth-compat", "-i", str(path)]) == 1
    assert "SLO duplicated" in capsys.readouterr().err
    assert main(["validate", "--sloth-compat", "-i", str(path), "--ignore-slo-duplicates"]) == 0


def test_sloth_compat_reads_what_sloth_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    text = SPEC.format(name="aa", objective="99.9e0").replace("slos:", "SLOs:").replace("sli:", "sli:", 1)
    spec.write_text(text.replace("    alerting:", "    pageAlert: {disable: true}\n    alerting:"))
    assert main(["validate", "-i", str(spec)]) == 1  # strict by default
    err = capsys.readouterr().err
    assert "unknown key 'SLOs'" in err
    assert main(["generate", "--sloth-compat", "-i", str(spec)]) == 0
    captured = capsys.readouterr()
    assert "sloth_objective: '99.9'" in captured.out or 'sloth_objective: "99.9"' in captured.out
    assert "unknown key 'pageAlert' is ignored, as Sloth ignores it" in captured.err


REPO = Path(__file__).resolve().parents[2]


def test_run_wide_slo_plugins_and_plugin_files_reach_the_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(name="aa", objective=99))
    intervals = '{"id": "sloth.dev/contrib/rule_intervals/v1", "config": {"interval": {"default": "2m"}}}'
    info = '{"id": "integration-tests/plugin1", "config": {"labels": {"from_p": "yes"}}}'
    args = ["generate", "--sloth-compat", "-i", str(spec), "-p", str(REPO / "examples" / "plugins")]
    assert main([*args, "-s", intervals, "-s", info]) == 0
    out = capsys.readouterr().out
    assert out.count("interval: 2m") == 2  # the SLI and metadata groups (alerts are disabled)
    assert 'from_p: "yes"' in out or "from_p: 'yes'" in out


def test_disable_default_slo_plugins_runs_only_the_declared_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(name="aa", objective=99))
    monkeypatch.setenv("SLOTH_SLO_PLUGINS", '{"id": "sloth.dev/core/sli_rules/v1"}\n')
    assert main(["generate", "--sloth-compat", "-i", str(spec), "--disable-default-slo-plugins"]) == 0
    out = capsys.readouterr().out
    assert "slo:sli_error:ratio_rate5m" in out and "sloth_slo_info" not in out


def test_an_unknown_slo_plugin_id_is_an_error_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(name="aa", objective=99))
    assert main(["generate", "-i", str(spec), "-s", '{"id": "nope/v1"}']) == 1
    assert "nope/v1" in capsys.readouterr().err


METRICSQL = """version: "prometheus/v1"
service: "svc"
{plugins}slos:
  - name: "aa"
    objective: 99
    sli:
      events:
        error_query: 1 - histogram_share(0.2, sum by (vmrange) (rate(d_bucket[{{{{.window}}}}])))
        total_query: vector(1)[{{{{.window}}}}]
    alerting: {{page_alert: {{disable: true}}, ticket_alert: {{disable: true}}}}
"""
VM_CHAIN = """slo_plugins:
  overridePrevious: true
  chain:
    - id: sloth.dev/contrib/validate_victoria_metrics/v1
    - id: sloth.dev/core/sli_rules/v1
    - id: sloth.dev/core/metadata_rules/v1
    - id: sloth.dev/core/alert_rules/v1
"""


def test_under_sloth_compat_the_chain_chooses_the_query_dialect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    promql = tmp_path / "promql.yaml"
    promql.write_text(METRICSQL.format(plugins=""))
    assert main(["generate", "--sloth-compat", "-i", str(promql)]) == 1  # core validate parses PromQL
    assert "invalid SLI" in capsys.readouterr().err
    assert main(["generate", "-i", str(promql)]) == 1  # strict mode: at parse time, with the line
    metricsql = tmp_path / "metricsql.yaml"
    metricsql.write_text(METRICSQL.format(plugins=VM_CHAIN))
    assert main(["generate", "--sloth-compat", "-i", str(metricsql)]) == 0
    assert "histogram_share(0.2" in capsys.readouterr().out


def test_filters_apply_to_a_file_input_in_validate_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(name="aa", objective=99))
    assert main(["validate", "-i", str(spec), "-e", "s.yaml"]) == 1  # Sloth's validate walks a file input too
    assert "0 slo specs" in capsys.readouterr().err
    assert main(["generate", "-i", str(spec), "-e", "s.yaml"]) == 0  # its generate reads a file input as is


def test_utf8_label_names_are_read_under_sloth_compat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(name="aa", objective=99).replace("slos:", 'labels: {"team.name": sre}\nslos:'))
    assert main(["validate", "-i", str(spec)]) == 1
    assert "invalid label key 'team.name'" in capsys.readouterr().err
    assert main(["generate", "--sloth-compat", "-i", str(spec)]) == 0
    captured = capsys.readouterr()
    assert "team.name: sre" in captured.out and "Sloth accepts UTF-8 names" in captured.err
