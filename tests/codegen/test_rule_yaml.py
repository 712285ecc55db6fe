"""``rule_yaml.dump_groups`` must write exactly what the generic emitter writes for ``groups_dict``.

Every spec the repo compiles (our SLOs, the example and golden inputs of the Sloth, OpenSLO, Pyrra and SLI plugin
suites) under the option sets that change rules, then hypothesis over hostile names, labels and expressions.
"""

from __future__ import annotations

import dataclasses
import enum
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen.compiler import compile_specs
from codegen.errors import SpecErrors
from codegen.model import CompileOptions
from codegen.parse import load_specs
from codegen.plan import AlertingRule, Labels, RecordingRule, Rule, RuleGroup
from codegen.plugin_files import load_plugin_dirs
from codegen.rule_yaml import dump_groups
from codegen.rulefiles import groups_dict
from codegen.rules import document_groups
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS
from codegen.slo_plugins.registry import builtin_registry
from codegen.yamlfmt import dump

REPO = Path(__file__).resolve().parents[2]
SPEC_DIRS = [REPO / "slo", REPO / "examples", REPO / "tests" / "codegen"]
OPTIONS = {
    "default": CompileOptions(),
    "sloth-compat": CompileOptions(sloth_compat=True),
    "extra-labels": CompileOptions(sloth_compat=True, extra_labels=(("exk1", "exv1"), ("exk2", "x: #y"))),
    "no-alerts": CompileOptions(disable_alerts=True),
    "no-recordings": CompileOptions(sloth_compat=True, disable_recordings=True),
}


def generic(groups: list[RuleGroup]) -> str:
    return dump({"groups": groups_dict(groups)})


@cache
def spec_files() -> list[Path]:
    found = sorted(p for d in SPEC_DIRS for p in d.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    assert len(found) > 150, found  # the glob must not silently find nothing
    return found


# Inputs that compile only as a whole directory (OpenSLO v1 objects referring to each other across files) or with
# a load argument of their own (Sloth's custom-windows case), besides every single file.
SLOTH_TESTDATA = REPO / "tests" / "codegen" / "sloth_golden" / "integration"
EXTRA_INPUTS: list[tuple[Path, str, str | None]] = [  # path, default period, windows path
    (REPO / "tests" / "codegen" / "openslo_v1" / "examples", "30d", None),
    (SLOTH_TESTDATA / "testdata" / "in-base.yaml", "7d", str(SLOTH_TESTDATA / "windows")),
]


@cache
def compiled_groups(option: str) -> list[tuple[str, list[RuleGroup]]]:
    """Each compiling input's groups per document and merged, as ``render_rule_file`` writes them."""
    options = OPTIONS[option]
    plugins = load_plugin_dirs([str(REPO / "examples" / "plugins")])
    registry = builtin_registry().with_plugins(plugins.slo)
    sli_plugins = {**BUILTIN_SLI_PLUGINS, **plugins.sli}
    out: list[tuple[str, list[RuleGroup]]] = []
    for path, period, windows in [*((p, "30d", None) for p in spec_files()), *EXTRA_INPUTS]:
        try:
            specs = load_specs(str(path), options, period, windows, sli_plugins)
            compiled = compile_specs(specs, registry)
        except SpecErrors:
            continue  # invalid on purpose (validate cases), a dashboard, an expected output, or a partial input
        for file in compiled.files:
            documents = [document_groups(d, options) for d in file.documents]
            name = f"{path.relative_to(REPO)}/{file.relative}" if path.is_dir() else str(path.relative_to(REPO))
            out.extend((f"{name}#{i}", groups) for i, groups in enumerate(documents))
            out.append((f"{name} merged", [g for groups in documents for g in groups]))
    return out


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_every_compiled_spec_is_written_byte_identically(option: str) -> None:
    cases = compiled_groups(option)
    compiled = {name.split("#")[0].split(" ")[0] for name, _ in cases}
    ours = {"slo/volatility-api.yaml", "slo/volatility-model.yaml", "slo/volatility-consumer.yaml"}
    assert "tests/codegen/sloth_golden/integration/testdata/in-base.yaml" in compiled
    assert OPTIONS[option].sloth_compat or ours <= compiled  # our specs use what Sloth does not read
    assert sum(1 for _, groups in cases if groups) > 50
    mismatched = [name for name, groups in cases if dump_groups(groups) != generic(groups)]
    assert mismatched == []


def test_sloth_golden_and_plugin_inputs_are_among_the_compared() -> None:
    """The corpus reaches the suites the brief names (a rename there must not quietly shrink it)."""
    names = {name.split("#")[0].split(" ")[0] for option in OPTIONS for name, _ in compiled_groups(option)}
    assert any(n.startswith("tests/codegen/sloth_golden/integration/testdata/in-") for n in names)
    assert any(n.startswith("tests/codegen/sloth_golden/examples/") for n in names)
    assert any(n.startswith("tests/codegen/pyrra/") for n in names)
    assert any(n.startswith("tests/codegen/openslo/") for n in names)
    assert any(n.startswith("tests/codegen/openslo_v1/examples/") for n in names)


# Strings YAML 1.1 would read differently if written plain, or that a block literal cannot hold.
HOSTILE = [
    "",
    " ",
    " lead",
    "trail ",
    "a: b",
    "a:",
    ":a",
    "a #b",
    "#a",
    "- a",
    "? a",
    "'a'",
    '"a"',
    "yes",
    "No",
    "NULL",
    "~",
    "on",
    "y",
    "<<",
    "=",
    "1",
    "-1.5e3",
    "0x1F",
    "0o17",
    "1_000",
    "12:30:00",
    "2026-12-02",
    ".inf",
    ".NaN",
    "é",
    "日本",
    "\u2028",
    "\ufeff",
    "\x00",
    "\t",
    "tab\tinside",
    "a\\b",
    "{{ $labels.x }}",
    "[a]",
    "a\n",
    "\n",
    "\na",
    "a\n\n",
    "a\n\nb\n",
    " a\nb",
    "a \nb",
    "a\nb ",
    "a\n b\n",
    "sum(x)\n/\nsum(y)\n",
    "x: 1\ny #2",
    "é\nü\n",
    "a\r\nb",
    "a\x85b\n",
]
text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20), st.text(alphabet="ab :#-'\"\n \t", max_size=12))
labels = st.lists(st.tuples(text, text), max_size=4).map(tuple)


@st.composite
def rules(draw: st.DrawFn, shared: Labels) -> Rule:
    """A rule whose labels are either the group's shared tuple (as the plan hands out) or its own."""
    own = draw(st.one_of(st.just(shared), labels))
    if draw(st.booleans()):
        return RecordingRule(draw(text), draw(text), own)
    return AlertingRule(draw(text), draw(text), own, draw(labels), draw(st.one_of(st.none(), text)))


@st.composite
def groups(draw: st.DrawFn) -> list[RuleGroup]:
    out: list[RuleGroup] = []
    for _ in range(draw(st.integers(0, 3))):
        shared = draw(labels)
        members = draw(st.lists(rules(shared), max_size=4))
        out.append(RuleGroup(draw(text), tuple(members), draw(st.one_of(st.none(), text))))
    return out


@settings(max_examples=200, deadline=None)
@given(groups())
def test_hostile_names_labels_and_exprs_are_written_byte_identically(data: list[RuleGroup]) -> None:
    assert dump_groups(data) == generic(data)
    assert yaml.safe_load(dump_groups(data)) == {"groups": groups_dict(data)}


class Tier(str, enum.Enum):  # noqa: UP042 -- unlike StrEnum, str() gives "Tier.ONE", not the value
    """A ``str`` subclass equal to its value but written as ``str()`` writes it: it must not share a cached line."""

    ONE = "1"


def test_values_equal_to_a_cached_string_but_of_another_type_are_written_as_the_generic_emitter_does() -> None:
    plain = (("tier", "1"),)
    odd: Labels = (("tier", Tier.ONE),)
    assert plain == odd
    rules_: tuple[Rule, ...] = (RecordingRule("r", "x", plain), RecordingRule("r", "x", odd))
    data = [RuleGroup("g", rules_)]
    assert dump_groups(data) == generic(data)


def test_a_repeated_label_key_keeps_its_first_place_and_last_value_as_groups_dict_does() -> None:
    data = [RuleGroup("g", (RecordingRule("r", "x", (("a", "1"), ("b", "2"), ("a", "3"))),))]
    assert (
        dump_groups(data)
        == generic(data)
        == "groups:\n- name: g\n  rules:\n  - record: r\n    expr: x\n" + ('    labels:\n      a: "3"\n      b: "2"\n')
    )


def test_one_tuple_used_as_labels_and_as_annotations_gets_each_heading() -> None:
    both = (("summary", "s"),)
    data = [RuleGroup("g", (AlertingRule("A", "x", both, both), AlertingRule("B", "y", both, both)))]
    assert dump_groups(data) == generic(data)
    assert dump_groups(data).count("    annotations:\n      summary: s") == 2


def test_empty_inputs() -> None:
    assert dump_groups([]) == generic([]) == "groups: []\n"
    data = [RuleGroup("g", ()), dataclasses.replace(RuleGroup("h", ()), interval="30s")]
    assert dump_groups(data) == generic(data)
