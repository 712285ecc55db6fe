"""The straight line: specs -> compiled plans (the SLO plugin chain, once per SLO) -> every renderer -> the
generated files (no I/O here)."""

from __future__ import annotations

import gc
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from codegen.compiler import CompiledFile, CompiledSpecs, compile_specs
from codegen.conventions import promtool_test_header
from codegen.dashboards import build_dashboards
from codegen.dashboards.grafana import to_json
from codegen.docs import render_dashboards_page, render_slo_doc
from codegen.errors import printable
from codegen.model import SpecSet
from codegen.rule_tests import render_rule_tests
from codegen.rulefiles import render_rule_file
from codegen.slo_plugins.registry import Registry
from codegen.workers import ForkedWorkers

STDOUT = "-"  # the ``--out`` value that means standard output


@dataclass(frozen=True)
class Layout:
    """Where each renderer's output goes; None switches that output off."""

    input_root: str
    input_is_dir: bool
    rules_out: str  # a directory when the input is one, else a file; STDOUT writes to standard output
    tests_out: str | None = None
    dashboards_out: str | None = None
    docs_out: str | None = None
    dashboards_docs_out: str | None = None


class OutputConflict(ValueError):
    """Two outputs of one run would be the same file (``x_test.yaml`` mirrored beside the tests of ``x.yaml``)."""


@dataclass
class Outputs:
    """What a run generates: files by path, and what goes to standard output (rules with ``-o -``)."""

    files: dict[str, str] = field(default_factory=dict)
    stdout: str | None = None


@contextmanager
def cyclic_gc_off() -> Iterator[None]:
    """A run builds trees (specs, plans, rule dicts, strings) and no reference cycles, so Python's cyclic collector
    only re-walks an ever larger heap: a quarter of the CPU at 10,000 SLOs for nothing (peak RSS measured the same
    with it off). Reference counting still frees everything; the previous state is restored on exit."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _source_label(layout: Layout, relative: str) -> str:
    """The spec's path as generated headers name it; escaped, so a file name cannot break out of its line."""
    root = PurePosixPath(Path(layout.input_root).as_posix())
    return printable(str(root / relative) if layout.input_is_dir else str(root))


def rule_path(layout: Layout, relative: str) -> str:
    return posixpath.join(Path(layout.rules_out).as_posix(), relative) if layout.input_is_dir else layout.rules_out


def test_path(layout: Layout, relative: str) -> str | None:
    if layout.tests_out is None:
        return None
    stem = posixpath.splitext(relative)[0]
    return posixpath.join(Path(layout.tests_out).as_posix(), f"{stem}_test.yaml")


@dataclass(frozen=True)
class _Run:
    """What a forked worker reads to render its tasks (inherited, never pickled)."""

    compiled: CompiledSpecs
    layout: Layout
    files: tuple[CompiledFile, ...]  # the spec files whose rules and tests go to files: tasks 0 .. n-1
    docs: bool  # task n: the SLO document


def _render_task(run: _Run, index: int) -> tuple[str, str | None]:
    """Task ``index``: a spec file's rule file ("" when it has no rules) and its promtool tests (None when there are
    none), or the SLO document."""
    if index == len(run.files):
        return render_slo_doc(run.compiled, run.layout.input_root), None
    spec_file = run.files[index]
    label = _source_label(run.layout, spec_file.relative)
    rules = render_rule_file(spec_file, run.compiled.options, label)
    tests_at = test_path(run.layout, spec_file.relative)
    if not rules or tests_at is None:
        return rules, None
    tests = render_rule_tests(spec_file, run.compiled.options, rule_path(run.layout, spec_file.relative), tests_at)
    return rules, None if tests is None else promtool_test_header(label) + tests


def iter_files(compiled: CompiledSpecs, layout: Layout, jobs: int = 1) -> Iterator[tuple[str, str]]:
    """Every generated file as (path, text), rendered only when asked for: the writer stages each one and drops it,
    so a run never holds all its output (300 MB of text at 10,000 SLOs). With ``jobs`` > 1 forked workers and this
    process share the SLO document and the spec files' rules and tests (``codegen.workers``); the files, their
    order and their text are the same. Raises ``OutputConflict`` when two outputs would be the same file; rules for
    standard output are ``stdout_rules``'s."""
    claimed: set[str] = set()

    def claim(path: str) -> str:
        key = posixpath.normpath(path)
        if key in claimed:
            raise OutputConflict(f"two outputs of this run would both be written to {path}")
        claimed.add(key)
        return key

    files = compiled.files if layout.rules_out != STDOUT else ()
    run = _Run(compiled, layout, files, layout.docs_out is not None)
    with ForkedWorkers(run, jobs) as workers:
        docs_task = len(files) if run.docs else None  # the longest task: with workers, started first
        rendered = workers.map(_render_task, len(files) + run.docs, first=docs_task)
        for spec_file in files:
            rules, tests = next(rendered)
            if not rules:
                continue
            yield claim(rule_path(layout, spec_file.relative)), rules
            tests_at = test_path(layout, spec_file.relative)
            if tests_at is not None and tests is not None:
                yield claim(tests_at), tests
        docs = next(rendered)[0] if run.docs else None
    if layout.dashboards_out is not None or docs is not None or layout.dashboards_docs_out is not None:
        boards = build_dashboards(compiled, lambda relative: _source_label(layout, relative))
        if layout.dashboards_out is not None:
            directory = Path(layout.dashboards_out).as_posix()
            for board in boards:
                yield claim(posixpath.join(directory, board.filename)), to_json(board.model)
        if layout.docs_out is not None and docs is not None:
            yield claim(Path(layout.docs_out).as_posix()), docs
        if layout.dashboards_docs_out is not None and boards:
            path = Path(layout.dashboards_docs_out).as_posix()
            yield claim(path), render_dashboards_page(boards, layout.dashboards_out)


def stdout_rules(compiled: CompiledSpecs, layout: Layout) -> str | None:
    """With ``-o -``: every spec file's rules as one YAML stream (None when there are none, or rules go to files)."""
    if layout.rules_out != STDOUT:
        return None
    rules = (render_rule_file(f, compiled.options, _source_label(layout, f.relative)) for f in compiled.files)
    return "---\n".join(r for r in rules if r) or None


def render_compiled(compiled: CompiledSpecs, layout: Layout) -> Outputs:
    """Every generated file of the run at once, from the compiled plans; raises ``OutputConflict``."""
    return Outputs(dict(iter_files(compiled, layout)), stdout_rules(compiled, layout))


def render_all(specs: SpecSet, layout: Layout, registry: Registry | None = None) -> Outputs:
    """Compile every SLO once (raises ``SpecErrors`` when a plugin chain fails), then render everything."""
    return render_compiled(compile_specs(specs, registry), layout)
