"""Every case of every ``plugin_test.go`` in slok/sloth-common-sli-plugins, run against our Python port: the same
query byte for byte, or an ``SLIPluginError`` where the Go plugin returns an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegen.sli_plugins import BUILTIN_SLI_PLUGINS, SLIPluginError

GOLDEN = json.loads((Path(__file__).parent / "golden" / "plugin_cases.json").read_text())
CASES = [
    pytest.param(plugin_id, case, id=f"{plugin_id}: {case['name']}")
    for plugin_id, plugin in sorted(GOLDEN["plugins"].items())
    for case in plugin["cases"]
]


def test_every_go_plugin_is_ported_and_nothing_else() -> None:
    assert sorted(GOLDEN["plugins"]) == sorted(BUILTIN_SLI_PLUGINS)
    assert len(CASES) == 135


@pytest.mark.parametrize(("plugin_id", "case"), CASES)
def test_go_case(plugin_id: str, case: dict[str, Any]) -> None:
    generate = BUILTIN_SLI_PLUGINS[plugin_id].generate
    args = (case["meta"] or {}, case["labels"] or {}, case["options"] or {})
    if case["error"]:
        with pytest.raises(SLIPluginError):
            generate(*args)
    else:
        assert generate(*args) == case["query"]


def test_errors_name_the_problem() -> None:
    plugins = BUILTIN_SLI_PLUGINS
    with pytest.raises(SLIPluginError, match='"bucket" option is required'):
        plugins["sloth-common/coredns/latency"].generate({}, {}, {})
    with pytest.raises(SLIPluginError, match="can't parse to float64"):
        plugins["sloth-common/traefik/v2/latency"].generate({}, {}, {"service_name_regex": ".*", "bucket": "x"})
    with pytest.raises(SLIPluginError, match="invalid regex"):
        plugins["sloth-common/traefik/v1/availability"].generate({}, {}, {"backend_regex": "([xyz"})
    with pytest.raises(SLIPluginError, match="invalid prometheus filter: something="):
        plugins["sloth-common/kubernetes/apiserver/availability"].generate({}, {}, {"filter": "something="})
    with pytest.raises(SLIPluginError, match="can't parse to bool"):
        plugins["sloth-common/istio/v1/latency"].generate(
            {}, {}, {"namespace": "a", "service": "b", "bucket": "1", "exclude_errors": "yes"}
        )
