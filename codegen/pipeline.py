"""The straight line: specs -> model -> every renderer -> a map of output paths to contents (no I/O here)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codegen import notice
from codegen.dashboards import build_dashboards
from codegen.dashboards.grafana import to_json
from codegen.docs import render_dashboards_page, render_slo_doc
from codegen.model import SpecSet
from codegen.rule_tests import render_rule_tests
from codegen.rulefiles import render_rule_file


@dataclass(frozen=True)
class Layout:
    """Where each renderer's output goes; None switches that output off."""

    input_root: str
    input_is_dir: bool
    rules_out: str  # a directory when the input is one, else a file; "-" is stdout
    tests_out: str | None = None
    dashboards_out: str | None = None
    docs_out: str | None = None
    dashboards_docs_out: str | None = None


class OutputConflict(ValueError):
    """Two outputs of one run would be the same file (``x_test.yaml`` mirrored beside the tests of ``x.yaml``)."""


def _source_label(layout: Layout, relative: str) -> str:
    root = PurePosixPath(Path(layout.input_root).as_posix())
    return str(root / relative) if layout.input_is_dir else str(root)


def rule_path(layout: Layout, relative: str) -> str:
    return posixpath.join(Path(layout.rules_out).as_posix(), relative) if layout.input_is_dir else layout.rules_out


def test_path(layout: Layout, relative: str) -> str | None:
    if layout.tests_out is None:
        return None
    stem = posixpath.splitext(relative)[0]
    return posixpath.join(Path(layout.tests_out).as_posix(), f"{stem}_test.yaml")


def tests_header(source: str) -> str:
    return f"# {notice(source)}\n# Promtool tests: promtool test rules <this file>\n"


class _Outputs(dict[str, str]):
    """Output path -> content; a second output for one path is a conflict, not a silent overwrite."""

    def __setitem__(self, path: str, content: str) -> None:
        key = posixpath.normpath(path) if path != "-" else path
        if key in self:
            raise OutputConflict(f"two outputs of this run would both be written to {path}")
        super().__setitem__(key, content)


def render_all(specs: SpecSet, layout: Layout) -> dict[str, str]:
    """Every generated file of the run, keyed by its path (``-`` for stdout); raises ``OutputConflict``."""
    outputs = _Outputs()
    stdout: list[str] = []
    for spec_file in specs.files:
        rules = render_rule_file(spec_file, specs.options, _source_label(layout, spec_file.relative))
        if not rules:
            continue
        if layout.rules_out == "-":
            stdout.append(rules)
            continue
        rules_at = rule_path(layout, spec_file.relative)
        outputs[rules_at] = rules
        tests_at = test_path(layout, spec_file.relative)
        if tests_at is not None:
            tests = render_rule_tests(spec_file, specs.options, rules_at, tests_at)
            if tests is not None:
                outputs[tests_at] = tests_header(_source_label(layout, spec_file.relative)) + tests
    if stdout:
        outputs["-"] = "---\n".join(stdout)
    if layout.dashboards_out is not None or layout.docs_out is not None or layout.dashboards_docs_out is not None:
        boards = build_dashboards(specs, lambda relative: _source_label(layout, relative))
        if layout.dashboards_out is not None:
            directory = Path(layout.dashboards_out).as_posix()
            for board in boards:
                outputs[posixpath.join(directory, board.filename)] = to_json(board.model)
        if layout.docs_out is not None:
            docs_at = Path(layout.docs_out).as_posix()
            outputs[docs_at] = render_slo_doc(specs, layout.input_root)
        if layout.dashboards_docs_out is not None and boards:
            outputs[Path(layout.dashboards_docs_out).as_posix()] = render_dashboards_page(boards, layout.dashboards_out)
    return dict(outputs)
