"""-p/--plugins-path: plugin files are found recursively, loaded, and every bad file is an error naming it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from codegen.plan import RecordingRule, RuleGroup, SLORules
from codegen.plugin_files import PluginFileError, discover_plugin_files, load_plugin_dirs
from codegen.slo_plugins.api import PluginUtils

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SLO = REPO / "examples" / "plugins" / "slo" / "plugin1" / "plugin.py"
SLO_FILE = """
SLO_PLUGIN_VERSION = "prometheus/slo/v1"
SLO_PLUGIN_ID = "{id}"

class P:
    def process(self, request, rules):
        pass

def new_plugin(config, utils):
    return P()
"""


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_slo_plugin_files_are_found_recursively_and_loaded(tmp_path: Path) -> None:
    _write(tmp_path, "a/deep/er/plugin.py", SLO_FILE.format(id="team/a"))
    _write(tmp_path, "b/plugin.py", SLO_FILE.format(id="team/b"))
    _write(tmp_path, "b/helper.py", "raise RuntimeError('not a plugin file, never imported')")
    _write(tmp_path, ".hidden/plugin.py", "raise RuntimeError('hidden directories are skipped')")
    loaded = load_plugin_dirs([str(tmp_path)])
    assert sorted(loaded.slo) == ["team/a", "team/b"]
    assert loaded.sources["slo:team/a"].endswith("a/deep/er/plugin.py")


def test_the_example_slo_plugin_adds_its_labels_to_the_info_metric() -> None:
    loaded = load_plugin_dirs([str(EXAMPLE_SLO.parent)])
    plugin = loaded.slo["integration-tests/plugin1"]({"labels": {"k1": "v1"}}, PluginUtils(logging.getLogger("t")))
    info = RecordingRule("sloth_slo_info", "vector(1)", (("sloth_id", "s-x"),))
    rules = SLORules(RuleGroup("s", ()), RuleGroup("m", (info,)), RuleGroup("a", ()))
    plugin.process(None, rules)  # type: ignore[arg-type]  # this plugin reads only the plan
    assert rules.meta_recordings.rules[0].labels == (("k1", "v1"), ("sloth_id", "s-x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import not_a_module_anywhere\n", "failed to import: ModuleNotFoundError"),
        ("def broken(:\n", "failed to import: SyntaxError"),
        ("X = 1\n", "not a plugin file"),
        (SLO_FILE.format(id="x").replace("prometheus/slo/v1", "prometheus/slo/v2"), "unsupported SLO_PLUGIN_VERSION"),
        (SLO_FILE.format(id=""), "SLO_PLUGIN_ID must be a non-empty string"),
        (SLO_FILE.format(id="x").replace("def new_plugin", "def other"), "must define new_plugin"),
    ],
)
def test_a_bad_plugin_file_is_an_error_naming_it(text: str, message: str, tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad/plugin.py", text)
    with pytest.raises(PluginFileError, match=message) as exc:
        load_plugin_dirs([str(tmp_path)])
    assert str(bad) in str(exc.value)


def test_a_duplicate_id_is_an_error_naming_both_files(tmp_path: Path) -> None:
    first = _write(tmp_path, "one/plugin.py", SLO_FILE.format(id="team/same"))
    second = _write(tmp_path, "two/plugin.py", SLO_FILE.format(id="team/same"))
    with pytest.raises(PluginFileError, match="already loaded") as exc:
        load_plugin_dirs([str(tmp_path)])
    assert str(first) in str(exc.value) and str(second) in str(exc.value)


def test_the_same_id_in_two_plugin_paths_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "p1", "x/plugin.py", SLO_FILE.format(id="team/same"))
    _write(tmp_path / "p2", "x/plugin.py", SLO_FILE.format(id="team/same"))
    with pytest.raises(PluginFileError, match="already loaded"):
        load_plugin_dirs([str(tmp_path / "p1"), str(tmp_path / "p2")])


def test_a_missing_plugins_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PluginFileError, match="not a directory"):
        discover_plugin_files([str(tmp_path / "nope")])


def test_the_documented_slo_plugin_example_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from codegen.cli import main

    readme = (REPO / "examples" / "plugins" / "README.md").read_text()
    section = readme[readme.index("# Python SLO plugins") :]
    code = section[
        section.index("```python\n") + len("```python\n") : section.index("```\n", section.index("```python"))
    ]
    _write(tmp_path / "plugins", "owner/plugin.py", code)
    spec = _write(
        tmp_path,
        "spec.yaml",
        'version: "prometheus/v1"\nservice: svc\nslos:\n  - name: aa\n    objective: 99\n'
        '    sli: {raw: {error_ratio_query: "rate(e[{{.window}}])"}}\n'
        "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n"
        "    plugins: {chain: [{id: my_team/owner_label, config: {owner: sre}}]}\n",
    )
    assert main(["generate", "--sloth-compat", "-i", str(spec), "-p", str(tmp_path / "plugins")]) == 0
    assert "owner: sre" in capsys.readouterr().out
