"""Sloth's SLI-plugin integration case and its plugin examples, with the Go plugins replaced by our Python ports
in ``examples/plugins``: same rules as Sloth's golden outputs, and the same queries as the Go plugins return."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.sli_plugins import SLIPlugin, SLIPluginError, load_sli_plugin_file
from tests.codegen import sloth_semantic

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "golden" / "sloth"
PLUGIN1 = ROOT / "examples" / "plugins" / "sli" / "plugin1" / "plugin.py"
GETTING_STARTED = ROOT / "examples" / "plugins" / "getting-started" / "availability" / "plugin.py"
EXAMPLES_LABELS = (("cmd", "examplesgen.sh"),)  # Sloth generates its examples with -l cmd=examplesgen.sh
LABELS = {"owner": "myteam", "tier": "2"}


def plugin(path: Path) -> SLIPlugin:
    loaded = load_sli_plugin_file(path)
    assert loaded is not None
    return loaded


def test_sloth_sli_plugin_integration_case() -> None:
    got = sloth_semantic.generate(GOLDEN / "in-sli-plugin.yaml", plugins=(plugin(PLUGIN1),))
    want = (GOLDEN / "out-sli-plugin.yaml.tpl").read_text()
    assert sloth_semantic.groups(got) == sloth_semantic.groups(want)



@pytest.mark.parametrize("name", ["plugin-getting-started.yml", "plugin-k8s-getting-started.yml"])
def test_sloth_plugin_examples(name: str) -> None:
    got = sloth_semantic.generate(GOLDEN / name, extra_labels=EXAMPLES_LABELS, plugins=(plugin(GETTING_STARTED),))
    want = (GOLDEN / f"gen-{name}").read_text()
    assert sloth_semantic.groups(got) == sloth_semantic.groups(want)


@pytest.mark.parametrize("path", [PLUGIN1, GETTING_STARTED])
def test_example_plugins_return_what_the_go_plugins_return(path: Path) -> None:
    """Expected strings are the Go plugins' template output for these inputs (the template read by hand)."""
    metric = "integration_test" if path == PLUGIN1 else "http_request_duration_seconds_count"
    generate = plugin(path).generate
    assert generate({}, LABELS, {"job": "svc", "filter": '{a="b",c="d",}'}) == (
        f'\nsum(rate({metric}{{ a="b",c="d",job="svc",code=~"(5..|429)" }}[{{{{.window}}}}]))\n'
        f'/\nsum(rate({metric}{{ a="b",c="d",job="svc" }}[{{{{.window}}}}]))'
    )
    assert generate({}, LABELS, {"job": "svc"}) == (
        f'\nsum(rate({metric}{{ job="svc",code=~"(5..|429)" }}[{{{{.window}}}}]))\n'
        f'/\nsum(rate({metric}{{ job="svc" }}[{{{{.window}}}}]))'
    )
    with pytest.raises(SLIPluginError, match="job options is required"):
        generate({}, LABELS, {})
    with pytest.raises(SLIPluginError, match='"tier" label is required'):
        generate({}, {"owner": "x"}, {"job": "svc"})
    with pytest.raises(SLIPluginError, match="invalid prometheus filter"):
        generate({}, LABELS, {"job": "svc", "filter": "nonsense"})
