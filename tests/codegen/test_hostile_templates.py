"""The Go template checker is sound against the real thing: whatever it accepts, promtool accepts.

Each template goes into an alert annotation and a label of its own rule file; one promtool run checks them all.
The checker may reject more than Go does (the user gets a message), never less.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.gotemplate import FUNCTIONS, check_template, literal
from codegen.yamlfmt import dump
from tests.codegen.clirun import needs_promtool, promtool

ACCEPTED = [
    "plain text } and }} and { alone",
    "{{ $labels.job }}",
    "{{$labels.job}}",
    "{{ .Labels.job }}",
    "{{ $value }}",
    "{{ $value | humanize }}",
    "{{ humanizePercentage $value }}",
    '{{ printf "%.2f" $value }}',
    "{{ printf `%s` $labels.job }}",
    "{{ printf \"%c\" 'x' }}",
    '{{ printf "a\\tb\\u00e9\\x41\\101" }}',
    "{{ if gt $value 1.0 }}high{{ else if lt $value 0.5 }}low{{ else }}mid{{ end }}",
    "{{ with $labels.team }}team {{ . }}{{ else }}none{{ end }}",
    "{{ range $i, $e := $labels }}{{ $i }}={{ $e }} {{ end }}",
    '{{ range $labels }}{{ if eq . "x" }}{{ break }}{{ end }}{{ continue }}{{ end }}',
    "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}",
    "{{- $labels.job -}}",
    "{{/* comment */}}",
    "{{- /* comment */ -}}",
    "{{ (len $labels) }}",
    '{{ index $labels "job" }}',
    '{{ $labels.job | toUpper | printf "%s!" }}',
    "{{ not true }} {{ and 1 0 }} {{ or nil 1 }}",
    "{{ -1 }} {{ +2.5e3 }} {{ 0x1F }} {{ .5 }}",
    "{{ $ }}",
    "{{ .Value }}",
    "{{\n$labels.job\n}}",
    *(f"{{{{ {name} }}}}" for name in sorted(FUNCTIONS) if name not in ("and", "or", "not", "call", "index", "slice")),
]
REJECTED = [
    "{{",
    "{{ $labels.job",
    "{{ end }}",
    "{{ else }}",
    "{{ if }}",
    "{{ if true }}",
    "{{ nosuch }}",
    "{{ $undefined }}",
    "{{ .Labels.a-b }}",
    '{{ "unterminated }}',
    "{{ 'ab' }}",
    "{{ '' }}",
    '{{ "\\q" }}',
    "{{ }}",
    "{{ | humanize }}",
    "{{ $value | }}",
    '{{ $value | "x" }}',
    "{{ nil }}",
    "{{ ( }}",
    "{{ ) }}",
    "{{ /* spaced comment */ }}",
    "{{/* unclosed comment }}",
    "{{ break }}",
    "{{ 1x }}",
    "{{ - }}",
    "{{ $x := 1 }}{{ if true }}{{ $y := 2 }}{{ end }}{{ $y }}",
    '{{ template "x" }}',
    '{{ define "x" }}{{ end }}',
    "{{ $labels.job x-y }}",
]


def test_checker_verdicts() -> None:
    wrong = [t for t in ACCEPTED if check_template(t)] + [t for t in REJECTED if check_template(t) is None]
    assert not wrong, wrong


@pytest.mark.parametrize("text", [*ACCEPTED, *REJECTED, "{{{", "a {{- b", '{{"{{"}}'])
def test_literal_text_is_always_a_valid_template(text: str) -> None:
    assert check_template(literal(text)) is None


def _rule_file(template: str) -> str:
    rule = {"alert": "A", "expr": "up == 0", "labels": {"l": template}, "annotations": {"a": template}}
    return dump({"groups": [{"name": "g", "rules": [rule]}]})


@needs_promtool
def test_promtool_accepts_everything_the_checker_accepts(tmp_path: Path) -> None:
    corpus = [*ACCEPTED, *REJECTED, *(literal(t) for t in REJECTED)]
    files = []
    for index, template in enumerate(corpus):
        path = tmp_path / f"t{index}.yaml"
        path.write_text(_rule_file(template))
        files.append(path)
    result = promtool("check", "rules", *map(str, files))
    report = result.stdout + result.stderr
    failed = {path.name for path in files if f"{path}: " in result.stderr}  # "<file>: group ..., rule ...: why"
    unsound = [corpus[i] for i, path in enumerate(files) if path.name in failed and check_template(corpus[i]) is None]
    assert not unsound, (unsound, report[:3000])
    assert failed, "promtool rejected nothing: the corpus does not exercise it"
