"""Chain assembly as Sloth v0.16 does it: -s plugins, spec level, SLO level; priority around the default slot;
``overridePrevious`` at each level; ``--disable-default-slo-plugins``; unknown ids named with the known ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from codegen.cli import main
from codegen.compiler import compile_slo, compile_specs
from codegen.errors import SpecErrors
from codegen.exit_codes import EXIT_INVALID
from codegen.model import CompileOptions, PluginChainSpec, PluginRef, RawSLI, SpecSet
from codegen.parse import load_specs
from codegen.plan import RecordingRule, RuleGroup, SLORules
from codegen.slo_plugins.api import PluginProcessError, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.chain import SLOGEN_IMPROVEMENTS, SLOTH_DEFAULTS, Chain, chain_plan, default_ids
from codegen.slo_plugins.registry import builtin_registry
from tests.codegen.slo_plugins.slos import slo

DEFAULTS = [*SLOTH_DEFAULTS, "slogen.dev/timeslice_sli/v1", *SLOGEN_IMPROVEMENTS]


def ref(name: str, priority: int = 0) -> PluginRef:
    return PluginRef(f"test/{name}", None, priority)


def ids(target: Any, options: CompileOptions | None = None) -> list[str]:
    options = options or CompileOptions()
    return chain_plan(target, options).ids(options)


def test_no_declarations_run_the_default_slot() -> None:
    assert ids(slo()) == DEFAULTS
    assert default_ids(CompileOptions()) == tuple(DEFAULTS)


def test_sloth_compat_is_the_chain_without_slogens_improvements() -> None:
    assert ids(slo(), CompileOptions(sloth_compat=True)) == [*SLOTH_DEFAULTS, "slogen.dev/timeslice_sli/v1"]


def test_priority_orders_declared_plugins_around_the_defaults_stably() -> None:
    spec = PluginChainSpec((ref("a", 10), ref("b", -5), ref("c"), ref("d", -5), ref("e", -100)))
    assert ids(slo(spec_plugins=spec)) == ["test/e", "test/b", "test/d", *DEFAULTS, "test/c", "test/a"]


def test_declaration_order_is_cli_then_spec_then_slo_for_equal_priorities() -> None:
    options = CompileOptions(slo_plugins=(ref("cli", 1),))
    target = slo(spec_plugins=PluginChainSpec((ref("spec", 1),)), plugins=PluginChainSpec((ref("slo", 1),)))
    assert ids(target, options) == [*DEFAULTS, "test/cli", "test/spec", "test/slo"]


def test_spec_level_override_drops_defaults_and_cli_plugins_but_keeps_slo_level() -> None:
    options = CompileOptions(slo_plugins=(ref("cli"),))
    target = slo(
        spec_plugins=PluginChainSpec((ref("spec", 5),), override_previous=True),
        plugins=PluginChainSpec((ref("slo", -5),)),
    )
    assert ids(target, options) == ["test/slo", "test/spec"]


def test_slo_level_override_drops_everything_declared_before() -> None:
    options = CompileOptions(slo_plugins=(ref("cli"),))
    target = slo(
        spec_plugins=PluginChainSpec((ref("spec"),)), plugins=PluginChainSpec((ref("slo"),), override_previous=True)
    )
    assert ids(target, options) == ["test/slo"]
    plan = chain_plan(target, options)
    assert not plan.defaults


def test_disable_default_plugins_empties_the_default_slot_only() -> None:
    options = CompileOptions(disable_default_plugins=True, slo_plugins=(ref("cli", -1),))
    assert ids(slo(plugins=PluginChainSpec((ref("slo"),))), options) == ["test/cli", "test/slo"]


@dataclass(frozen=True)
class Marker:
    """A real plugin for the test registry: appends a recording named after it, so the run order is visible."""

    name: str

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        rule = RecordingRule(f"order:{self.name}", f"vector({len(rules.extra_groups)})", ())
        rules.extra_groups.append(RuleGroup(f"g-{self.name}", (rule,)))


def marker_factory(name: str) -> Any:
    def factory(config: Any, utils: PluginUtils) -> SLOPlugin:
        return Marker(name if config is None else f"{name}:{config['tag']}")

    return factory


def test_chain_runs_plugins_in_assembled_order_and_creates_each_declared_one_per_slo() -> None:
    registry = builtin_registry().with_plugins({"test/a": marker_factory("a"), "test/b": marker_factory("b")})
    spec = PluginChainSpec((PluginRef("test/a", {"tag": "x"}, 1), PluginRef("test/b", None, -1)))
    chain = Chain(registry, CompileOptions())
    run = chain.plugins_for(slo(spec_plugins=spec))
    assert [i for i, _ in run] == ["test/b", *DEFAULTS, "test/a"]
    assert run[-1][1] == Marker("a:x")
    assert chain.plugins_for(slo())[0][1] is chain.plugins_for(slo())[0][1]  # the default slot is built once


SPEC = """\
version: prometheus/v1
service: svc
slo_plugins:
  chain:
    - {id: %(spec_id)s, priority: 10}
slos:
  - name: one
    objective: 99
    plugins:
      chain:
        - {id: %(slo_id)s}
    sli: {raw: {error_ratio_query: 'sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))'}}
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
  - name: two
    objective: 99
    sli: {raw: {error_ratio_query: 'sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))'}}
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
"""


def load(tmp_path: Path, spec_id: str, slo_id: str) -> SpecSet:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC % {"spec_id": spec_id, "slo_id": slo_id}, encoding="utf-8")
    return load_specs(str(path))


def test_unknown_id_is_an_error_naming_the_id_the_known_ids_and_the_declaration(tmp_path: Path) -> None:
    specs = load(tmp_path, "sloth.dev/core/noop/v1", "sloth.dev/contrib/nope/v1")
    with pytest.raises(SpecErrors) as caught:
        compile_specs(specs)
    (error,) = caught.value.errors
    assert error.path.endswith("spec.yaml") and error.line == 11 and error.slo == "one"
    assert 'unknown SLO plugin id "sloth.dev/contrib/nope/v1"' in error.message
    for known in ("sloth.dev/core/validate/v1", "sloth.dev/core/sli_rules/v1", "slogen.dev/no_data_alert/v1"):
        assert known in error.message


def test_a_bad_spec_level_plugin_is_reported_once_for_all_its_slos(tmp_path: Path) -> None:
    specs = load(tmp_path, "nope", "sloth.dev/core/noop/v1")
    with pytest.raises(SpecErrors) as caught:
        compile_specs(specs)
    (error,) = caught.value.errors
    assert error.line == 5 and error.slo is None and 'unknown SLO plugin id "nope"' in error.message


def test_cli_generate_and_validate_fail_on_an_unknown_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load(tmp_path, "sloth.dev/core/noop/v1", "nope")
    for command in ("generate", "validate"):
        assert main([command, "-i", str(tmp_path / "spec.yaml")]) == EXIT_INVALID
        assert 'unknown SLO plugin id "nope"' in capsys.readouterr().err


def test_declared_plugins_change_the_generated_rules(tmp_path: Path) -> None:
    """The SLO-level sli_rules with disableOptimized runs after the default one and replaces its rules."""
    path = tmp_path / "spec.yaml"
    path.write_text(
        (SPEC % {"spec_id": "sloth.dev/core/noop/v1", "slo_id": "sloth.dev/core/sli_rules/v1"}).replace(
            "- {id: sloth.dev/core/sli_rules/v1}",
            "- {id: sloth.dev/core/sli_rules/v1, config: {disableOptimized: true}}",
        ),
        encoding="utf-8",
    )
    one, two = compile_specs(load_specs(str(path))).plans
    # one: the raw query over the period; two (the default chain): a cheap period from recordings
    assert "rate(errors[30d])" in (one.sli_rule("30d") or RecordingRule("", "", ())).expr
    assert "rate(errors[" not in (two.sli_rule("30d") or RecordingRule("", "", ())).expr


def test_slo_level_override_generates_only_what_its_plugins_build(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    text = SPEC % {"spec_id": "sloth.dev/core/noop/v1", "slo_id": "sloth.dev/core/metadata_rules/v1"}
    path.write_text(
        text.replace("    plugins:\n      chain:", "    plugins:\n      overridePrevious: true\n      chain:")
    )
    one, two = compile_specs(load_specs(str(path))).plans
    assert [g.name for g in one.groups()] == ["sloth-slo-meta-recordings-svc-one"]
    assert [g.name for g in two.groups()] == ["sloth-slo-sli-recordings-svc-two", "sloth-slo-meta-recordings-svc-two"]


def test_extra_groups_a_plugin_adds_are_emitted_after_sloths_and_named_when_unnamed() -> None:
    @dataclass(frozen=True)
    class Extra:
        def process(self, request: PluginRequest, rules: SLORules) -> None:
            rules.extra_groups.append(RuleGroup("", (RecordingRule("x:y", "vector(1)", ()),), interval="2m"))

    registry = builtin_registry().with_plugins({"test/extra": lambda config, utils: Extra()})
    target = slo(RawSLI("sum(rate(errors[{{.window}}]))"), plugins=PluginChainSpec((PluginRef("test/extra"),)))
    plan = compile_slo(target, "prometheus/v1", Chain(registry, CompileOptions()))
    assert [g.name for g in plan.groups()][-1] == "sloth-slo-extra-rules-000-test-svc-test-name"
    assert plan.groups()[-1].interval == "2m"
    assert replace(plan, extra_groups=()).groups()[-1].name == "sloth-slo-meta-recordings-test-svc-test-name"


ORDER_SPEC = """\
version: prometheus/v1
service: svc
slo_plugins:
  chain:
    - {id: sloth.dev/core/debug/v1, priority: 9999999, config: {msg: "Plugin 99"}}
    - {id: sloth.dev/core/debug/v1, priority: -999999, config: {msg: "Plugin 0"}}
slos:
  - name: one
    objective: 99.9
    plugins:
      chain:
        - {id: sloth.dev/core/debug/v1, priority: 1050, config: {msg: "Plugin 5"}}
        - {id: sloth.dev/core/debug/v1, priority: -1000, config: {msg: "Plugin 1"}}
        - {id: sloth.dev/core/debug/v1, priority: 1000, config: {msg: "Plugin 4"}}
        - {id: sloth.dev/core/debug/v1, priority: -200, config: {msg: "Plugin 2"}}
        - {id: sloth.dev/core/debug/v1, config: {msg: "Plugin 3"}}
    sli: {raw: {error_ratio_query: 'sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))'}}
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
"""


def test_debug_plugins_log_in_priority_order_like_sloths_getting_started_example(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The layout of Sloth's ``slo-plugin-getting-started`` example: messages numbered in the order Sloth runs them."""
    path = tmp_path / "spec.yaml"
    path.write_text(ORDER_SPEC, encoding="utf-8")
    caplog.set_level(logging.DEBUG, logger="slogen.slo_plugins")
    compile_specs(load_specs(str(path)))
    assert [r.getMessage() for r in caplog.records] == [f"Plugin {n}" for n in (0, 1, 2, 3, 4, 5, 99)]


def test_a_plugin_refusing_an_slo_is_a_spec_error_naming_the_plugin(tmp_path: Path) -> None:
    class Refuse:
        def process(self, request: PluginRequest, rules: SLORules) -> None:
            raise PluginProcessError(f"{request.slo.name} is not welcome")

    registry = builtin_registry().with_plugins({"test/refuse": lambda config, utils: Refuse()})
    specs = load(tmp_path, "sloth.dev/core/noop/v1", "test/refuse")
    with pytest.raises(SpecErrors) as caught:
        compile_specs(specs, registry)
    (error,) = caught.value.errors
    assert error.slo == "one" and error.message == "SLO plugin test/refuse: one is not welcome"
