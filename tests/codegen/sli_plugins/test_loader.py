"""``load_sli_plugin_file``: a Python file defining an SLI plugin is loaded, a file defining none gives None, a
malformed one is an error naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.sli_plugins import SLIPluginLoadError, load_sli_plugin_file

GOOD = """
SLI_PLUGIN_VERSION = "prometheus/v1"
SLI_PLUGIN_ID = "{id}"

def generate(meta, labels, options):
    return "{id}" + options.get("x", "")
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name / "plugin.py"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_loads_each_file_as_its_own_module(tmp_path: Path) -> None:
    one = load_sli_plugin_file(write(tmp_path, "a", GOOD.format(id="one")))
    two = load_sli_plugin_file(write(tmp_path, "b", GOOD.format(id="two")))
    assert one is not None and two is not None
    assert (one.id, one.generate({}, {}, {"x": "!"})) == ("one", "one!")
    assert (two.id, two.generate({}, {}, {})) == ("two", "two")


def test_a_file_without_an_sli_plugin_gives_none(tmp_path: Path) -> None:
    slo_plugin = 'SLO_PLUGIN_VERSION = "prometheus/slo/v1"\nSLO_PLUGIN_ID = "x"\ndef new_plugin(config, utils): ...\n'
    assert load_sli_plugin_file(write(tmp_path, "slo", slo_plugin)) is None
    assert load_sli_plugin_file(write(tmp_path, "empty", "")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.format(id="x").replace("prometheus/v1", "prometheus/v2"),
            "unsupported SLI_PLUGIN_VERSION 'prometheus/v2'",
        ),
        (GOOD.format(id=""), "SLI_PLUGIN_ID must be a non-empty string"),
        ('SLI_PLUGIN_VERSION = "prometheus/v1"\n', "SLI_PLUGIN_ID must be a non-empty string, got None"),
        (GOOD.format(id="x").replace("def generate", "def gen"), "must define generate(meta, labels, options)"),
        (GOOD.format(id="x").replace("(meta, labels, options)", "(meta, labels)"), "generate must accept"),
        (GOOD.format(id="x") + "\nimport not_a_module_anywhere\n", "failed to load: ModuleNotFoundError"),
        ("def broken(:\n", "failed to load: SyntaxError"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "p", text)
    with pytest.raises(SLIPluginLoadError) as caught:
        load_sli_plugin_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
