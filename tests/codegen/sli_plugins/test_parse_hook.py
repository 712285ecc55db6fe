"""``sli.plugin: {id, options}``: resolved against the run's SLI plugins, called with what Sloth passes, its query
turned into a raw SLI; every failure named with file, line, SLO, field and plugin."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from codegen.errors import SpecError, SpecErrors
from codegen.model import CompileOptions, RawSLI
from codegen.parse import load_specs
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS, SLIPlugin, SLIPluginError

SPEC = """\
version: "prometheus/v1"
service: svc
labels: {{owner: team-a, tier: "2"}}
slos:
  - name: slo1
    objective: 99.9
    labels: {{slo_only: x}}
    sli:
      plugin:
        id: {plugin_id}
        options: {options}
    alerting: {{page_alert: {{disable: true}}, ticket_alert: {{disable: true}}}}
"""
K8S_SPEC = """\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: svc}
spec:
  service: svc
  slos:
    - name: slo1
      objective: 99
      sli:
        plugin:
          id: sloth-common/coredns/latency
          options: {bucket: 0.25}
      alerting: {pageAlert: {disable: true}, ticketAlert: {disable: true}}
"""


def spec(tmp_path: Path, plugin_id: str, options: str = "{}") -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(SPEC.format(plugin_id=plugin_id, options=options))
    return path


def errors(path: Path, **kwargs: object) -> list[SpecError]:
    with pytest.raises(SpecErrors) as caught:
        load_specs(str(path), **kwargs)  # type: ignore[arg-type]
    return caught.value.errors


def raw_query(path: Path, **kwargs: object) -> str:
    (slo,) = load_specs(str(path), **kwargs).slos  # type: ignore[arg-type]
    assert isinstance(slo.sli, RawSLI)
    return slo.sli.error_ratio_query


def test_builtin_plugin_becomes_the_raw_sli_verbatim(tmp_path: Path) -> None:
    got = raw_query(spec(tmp_path, "sloth-common/coredns/latency", "{bucket: 0.004}"))
    assert got == BUILTIN_SLI_PLUGINS["sloth-common/coredns/latency"].generate({}, {}, {"bucket": "0.004"})


def test_kubernetes_form(tmp_path: Path) -> None:
    path = tmp_path / "k8s.yaml"
    path.write_text(K8S_SPEC)
    assert 'le="0.25"' in raw_query(path)


def test_meta_and_labels_are_what_sloth_passes(tmp_path: Path) -> None:
    seen: list[tuple[Mapping[str, str], Mapping[str, str], Mapping[str, str]]] = []

    def spy(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
        seen.append((meta, labels, options))
        return "max_over_time(vector(0)[{{.window}}:])"

    raw_query(spec(tmp_path, "spy", "{a: b}"), sli_plugins={"spy": SLIPlugin("spy", spy)})
    # Sloth: meta objective is Go's %f; labels are the spec's labels only (not the SLO's).
    assert seen == [
        ({"service": "svc", "slo": "slo1", "objective": "99.900000"}, {"owner": "team-a", "tier": "2"}, {"a": "b"})
    ]


def test_options_are_strings_as_sloths_decoder_makes_them(tmp_path: Path) -> None:
    seen: list[Mapping[str, str]] = []

    def spy(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
        seen.append(options)
        return "max_over_time(vector(0)[{{.window}}:])"

    options = "{f: 0.004, i: 300, b: true, n: null, 1: one, big: 1e+21, s: '0.10'}"
    raw_query(spec(tmp_path, "spy", options), sli_plugins={"spy": SLIPlugin("spy", spy)})
    assert seen == [{"f": "0.004", "i": "300", "b": "true", "n": "", "1": "one", "big": "1e+21", "s": "0.10"}]


def test_unknown_id_names_file_slo_field_id_and_the_ids_that_exist(tmp_path: Path) -> None:
    path = spec(tmp_path, "sloth-common/nope")
    (error,) = errors(path)
    assert (error.path, error.line, error.slo, error.field) == (str(path), 10, "slo1", "slos[0].sli.plugin.id")
    assert "'sloth-common/nope'" in error.message
    assert all(plugin_id in error.message for plugin_id in BUILTIN_SLI_PLUGINS)
    (error,) = errors(path, sli_plugins={})
    assert error.message.endswith("the SLI plugins that exist: none")


def test_plugin_error_names_the_plugin(tmp_path: Path) -> None:
    (error,) = errors(spec(tmp_path, "sloth-common/coredns/latency"))
    assert error.field == "slos[0].sli.plugin"
    assert (
        error.message
        == "SLI plugin 'sloth-common/coredns/latency': could not get bucket: \"bucket\" option is required"
    )


def _plugin(result: object) -> SLIPlugin:
    def generate(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[return-value]

    return SLIPlugin("p", generate)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (KeyError("job"), "SLI plugin 'p' failed: KeyError: 'job'"),
        (SLIPluginError("bad option"), "SLI plugin 'p': bad option"),
        (42, "SLI plugin 'p' returned int, not a query string"),
        ("sum(rate(x[5m]))", "SLI plugin 'p' raw query template: template must contain the {{ .window }} variable"),
        ("sum(rate(x[{{.window}}])", "SLI plugin 'p' raw query expression: invalid PromQL"),
    ],
)
def test_plugin_failures_are_errors(tmp_path: Path, result: object, message: str) -> None:
    (error,) = errors(spec(tmp_path, "p"), sli_plugins={"p": _plugin(result)})
    assert error.message.startswith(message), error.message
    assert (error.slo, error.field) == ("slo1", "slos[0].sli.plugin")


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ("[a, b]", "slos[0].sli.plugin.options", "must be a mapping"),
        ("{a: {b: c}}", "slos[0].sli.plugin.options.a", "must be a string, number or boolean"),
    ],
)
def test_bad_options(tmp_path: Path, options: str, field: str, message: str) -> None:
    (error,) = errors(spec(tmp_path, "sloth-common/noop", options))
    assert error.field == field and message in error.message


def test_missing_id_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(SPEC.format(plugin_id="x", options="{}").replace("        id: x\n", "        ids: x\n"))
    assert {(e.field, e.message.split(";")[0]) for e in errors(path)} == {
        ("slos[0].sli.plugin.ids", "unknown key 'ids'"),
        ("slos[0].sli.plugin.id", "required"),
    }


def test_a_number_that_loses_precision_is_named(tmp_path: Path) -> None:
    path = spec(tmp_path, "sloth-common/coredns/latency", "{bucket: 0.123456789}")
    (error,) = errors(path)
    assert error.field == "slos[0].sli.plugin.options.bucket"
    assert "'0.12345679'" in error.message and "quote it" in error.message
    warnings: list[SpecError] = []
    query = raw_query(path, options=CompileOptions(sloth_compat=True), warnings=warnings)
    assert 'le="0.12345679"' in query  # what Sloth passes
    assert [w.field for w in warnings] == ["slos[0].sli.plugin.options.bucket"]


def test_raw_beside_a_plugin(tmp_path: Path) -> None:
    """Sloth lets the plugin's query replace a raw SLI given beside it: an error here, a warning under compat."""
    path = spec(tmp_path, "sloth-common/noop")
    path.write_text(
        path.read_text().replace("      plugin:\n", "      raw: {error_ratio_query: 'x[{{.window}}]'}\n      plugin:\n")
    )
    (error,) = errors(path)
    assert (error.field, error.message) == (
        "slos[0].sli",
        "invalid SLI: only one SLI type is allowed (found raw, plugin)",
    )
    warnings: list[SpecError] = []
    query = raw_query(path, options=CompileOptions(sloth_compat=True), warnings=warnings)
    assert query == "max_over_time(vector(0)[{{.window}}:])"
    assert [w.field for w in warnings] == ["slos[0].sli.raw"]
