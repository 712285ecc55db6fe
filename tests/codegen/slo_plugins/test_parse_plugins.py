"""Parsing SLO plugin declarations in both spec kinds, with Sloth's key names, and rejecting malformed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.errors import SpecErrors
from codegen.model import PluginChainSpec, PluginRef
from codegen.parse import load_specs

PROM = """\
version: prometheus/v1
service: svc
slo_plugins:
  overridePrevious: true
  chain:
    - id: sloth.dev/core/debug/v1
      priority: -10
      config: {msg: hello, nested: [1, 2.5, true, null, {a: b}]}
slos:
  - name: one
    objective: 99
    plugins:
      chain:
        - {id: sloth.dev/core/noop/v1}
    sli: {raw: {error_ratio_query: 'sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))'}}
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
"""

K8S = """\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: svc}
spec:
  service: svc
  sloPlugins:
    chain:
      - {id: sloth.dev/core/debug/v1, config: {msg: hi}}
  slos:
    - name: one
      objective: 99
      plugins:
        overridePrevious: true
        chain: [{id: sloth.dev/core/noop/v1, priority: 5}]
      sli: {raw: {errorRatioQuery: 'sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))'}}
      alerting: {pageAlert: {disable: true}, ticketAlert: {disable: true}}
"""


def load(tmp_path: Path, text: str) -> tuple[PluginChainSpec, PluginChainSpec]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    (slo,) = load_specs(str(path)).slos
    return slo.spec_plugins, slo.plugins


def test_prometheus_v1_levels(tmp_path: Path) -> None:
    spec_level, slo_level = load(tmp_path, PROM)
    assert spec_level == PluginChainSpec(
        (PluginRef("sloth.dev/core/debug/v1", {"msg": "hello", "nested": [1, 2.5, True, None, {"a": "b"}]}, -10),),
        override_previous=True,
    )
    assert slo_level == PluginChainSpec((PluginRef("sloth.dev/core/noop/v1"),))
    assert spec_level.plugins[0].source is not None and spec_level.plugins[0].source.line == 6


def test_kubernetes_levels(tmp_path: Path) -> None:
    spec_level, slo_level = load(tmp_path, K8S)
    assert spec_level == PluginChainSpec((PluginRef("sloth.dev/core/debug/v1", {"msg": "hi"}),))
    assert slo_level == PluginChainSpec((PluginRef("sloth.dev/core/noop/v1", None, 5),), override_previous=True)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    - id: sloth.dev/core/debug/v1\n", "    - config: {}\n", "plugin ID is required"),
        ("      priority: -10", "      priority: 1.5", "priority must be an integer"),
        ("      priority: -10", "      priority: true", "priority must be an integer"),
        ("  overridePrevious: true", "  overridePrevious: yes please", "must be true or false"),
        ("  overridePrevious: true", "  override_previous: true", "unknown key 'override_previous'"),
        ("      priority: -10", "      priorty: -10", "unknown key 'priorty'"),
        ("{msg: hello,", "{msg: 2024-01-01,", "config must be JSON data"),
        ("      chain:\n        - {id: sloth.dev/core/noop/v1}", "      chain: noop", "must be a list of plugins"),
    ],
)
def test_malformed_declarations_are_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in PROM
    with pytest.raises(SpecErrors) as caught:
        load(tmp_path, PROM.replace(old, new))
    assert any(message in e.message for e in caught.value.errors), caught.value.errors
