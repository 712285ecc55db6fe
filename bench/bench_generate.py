"""Full ``slogen generate`` (rules, promtool tests, dashboards, docs) at 100, 1,000 and 10,000 synthetic SLOs.

Each size runs in fresh subprocesses so peak RSS is that run's own (``ru_maxrss`` of the child). Two kinds of run:

- ``stages``: the pipeline's public steps one after the other, timed (parse, compile, rules, tests, dashboards,
  docs, write), with the bytes of every output kind;
- ``cli``: ``slogen generate`` itself (``codegen.cli.main`` in a fresh interpreter, imports excluded), the figure
  the goals are about: wall seconds, CPU seconds (what other jobs on a shared machine do not inflate) and peak
  RSS; once with ``--jobs auto`` (as ``make generate`` runs it: forked rendering workers from 1,000 SLOs) and
  once with ``--jobs 1``. With workers, memory is the peak of the summed PSS of the process and its workers,
  sampled from outside every 200 ms (RSS would count the pages they share after the fork once per process;
  reading PSS walks the page tables, ~15 ms for a 600 MB process, so sampling more often slows the run measured).

A last table runs ``cli`` at 10,000 SLOs whose metric names are all different, so no two queries share a PromQL
shape (``codegen.promql.shape`` lets the default synthetic SLOs, which differ only in label values, share parses).

Every run is repeated (``REPEATS``) and the minimum kept; the per-SLO cost is relative to the 100-SLO run of the
same invocation, so linearity is read off a ratio that survives a shared machine.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_compile import write_specs
from codegen.workers import available_cores

SIZES = (100, 1000, 10000)
OWN_METRICS_AT = 10000
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
PSS_EVERY = 0.2  # seconds between samples of the process tree's PSS
MODES = ("stages", "cli", "cli-j1")  # cli: --jobs auto, as `make generate`
STAGES = ("parse", "compile", "rules", "tests", "dashboards", "docs", "write")
KINDS = ("rules", "tests", "dashboards", "docs")


def _flags(tmp: Path, jobs: str) -> list[str]:
    out = tmp / "out"
    return [
        "generate",
        "--jobs",
        jobs,
        "-i",
        str(tmp / "slo"),
        "-o",
        str(out / "alerts"),
        "--tests-out",
        str(out / "alerts" / "tests"),
        "--dashboards-out",
        str(out / "dashboards"),
        "--docs-out",
        str(out / "docs" / "slo.md"),
    ]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_cli(tmp: Path, jobs: str) -> dict[str, Any]:
    """``slogen generate`` as the Makefile runs it; CPU seconds include the workers'."""
    import contextlib
    import io

    from codegen.cli import main

    t0, c0 = time.perf_counter(), _cpu_with_workers()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(_flags(tmp, jobs))
    seconds, cpu = time.perf_counter() - t0, _cpu_with_workers() - c0
    assert code == 0, code
    return {"total": seconds, "cpu": cpu, "rss_mb": _peak_rss_mb()}


def _cpu_with_workers() -> float:
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def child_stages(tmp: Path) -> dict[str, Any]:
    """The steps of ``render_compiled`` + ``write_outputs``, timed one by one, with the CLI's GC setting."""
    from codegen.pipeline import cyclic_gc_off

    with cyclic_gc_off():
        return _stages(tmp)


def _stages(tmp: Path) -> dict[str, Any]:
    from codegen.compiler import compile_specs
    from codegen.conventions import promtool_test_header
    from codegen.dashboards import build_dashboards
    from codegen.dashboards.grafana import to_json
    from codegen.docs import render_slo_doc
    from codegen.parse import load_specs
    from codegen.pipeline import Layout, _source_label, rule_path, test_path
    from codegen.rule_tests import render_rule_tests
    from codegen.rulefiles import render_rule_file
    from codegen.writer import write_outputs

    out = tmp / "out"
    layout = Layout(str(tmp / "slo"), True, str(out / "alerts"), str(out / "alerts" / "tests"))
    seconds: dict[str, float] = {}
    sizes: dict[str, int] = dict.fromkeys(KINDS, 0)
    files: dict[Path, str] = {}

    def clock(stage: str, start: float) -> float:
        now = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now - start
        return now

    t = time.perf_counter()
    specs = load_specs(str(tmp / "slo"))
    t = clock("parse", t)
    compiled = compile_specs(specs)
    t = clock("compile", t)
    for spec_file in compiled.files:
        label = _source_label(layout, spec_file.relative)
        rules = render_rule_file(spec_file, compiled.options, label)
        t = clock("rules", t)
        rules_at = rule_path(layout, spec_file.relative)
        files[Path(rules_at)] = rules
        tests_at = test_path(layout, spec_file.relative)
        assert tests_at is not None
        tests = render_rule_tests(spec_file, compiled.options, rules_at, tests_at)
        if tests is not None:
            files[Path(tests_at)] = promtool_test_header(label) + tests
        t = clock("tests", t)
        sizes["rules"] += len(rules.encode())
        sizes["tests"] += len(files.get(Path(tests_at), "").encode())
    t = time.perf_counter()
    boards = build_dashboards(compiled, lambda relative: _source_label(layout, relative))
    for board in boards:
        text = to_json(board.model)
        files[out / "dashboards" / board.filename] = text
        sizes["dashboards"] += len(text.encode())
    t = clock("dashboards", t)
    doc = render_slo_doc(compiled, layout.input_root)
    files[out / "docs" / "slo.md"] = doc
    sizes["docs"] += len(doc.encode())
    t = clock("docs", t)
    write_outputs(files, [out / "alerts", out / "dashboards"])
    clock("write", t)
    return {**seconds, "total": sum(seconds.values()), "bytes": sizes, "rss_mb": _peak_rss_mb()}


def _pss_kb(pid: int) -> int:
    """Proportional set size of one process (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)


def _tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _run_child(mode: str, count: int, own_metrics: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "slo").mkdir()
        write_specs(Path(tmp) / "slo", count, own_metrics)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.bench_generate", "--child", mode, tmp],
                stdout=out,
                stderr=err,
                text=True,
                cwd=Path(__file__).resolve().parents[1],
            )
            peak_kb = 0
            while proc.poll() is None:
                peak_kb = max(peak_kb, sum(_pss_kb(pid) for pid in _tree(proc.pid)))
                time.sleep(PSS_EVERY)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} {count}: {stderr[-2000:]}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["pss_mb"] = peak_kb / 1024
    return result


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Minimum of every timing and of the peak RSS over the repetitions (the sizes are identical)."""
    best = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            best[key] = min(r[key] for r in runs)
    return best


def measure(sizes: tuple[int, ...] = SIZES, repeats: int = REPEATS) -> dict[int, dict[str, dict[str, Any]]]:
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for count in sizes:
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(repeats):
            for mode in runs:  # alternate, so a burst of load hits both kinds alike
                runs[mode].append(_run_child(mode, count))
        results[count] = {mode: _best(r) for mode, r in runs.items()}
    return results


def measure_own_metrics(count: int = OWN_METRICS_AT, repeats: int = REPEATS) -> dict[str, dict[str, Any]]:
    """``slogen generate`` when every SLO has its own metric names: every query its own PromQL shape, so each is
    parsed (the default synthetic SLOs differ only in label values and share a handful of parses)."""
    runs: dict[str, list[dict[str, Any]]] = {"cli": [], "cli-j1": []}
    for _ in range(repeats):
        for mode in runs:
            runs[mode].append(_run_child(mode, count, own_metrics=True))
    return {mode: _best(r) for mode, r in runs.items()}


def own_metrics_table(count: int, results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "",
        f"{count:,} SLOs, each with its own metric names (every query a PromQL shape of its own):",
        "",
        "| `slogen generate` | wall s | CPU s (all processes) | peak RSS MB (main) | peak PSS MB (all) |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, name in (("cli", "`--jobs auto`"), ("cli-j1", "`--jobs 1`")):
        cli = results[mode]
        lines.append(f"| {name} | {cli['total']:.2f} | {cli['cpu']:.2f} | {cli['rss_mb']:.0f} | {cli['pss_mb']:.0f} |")
    return lines


def table(results: dict[int, dict[str, dict[str, Any]]]) -> list[str]:
    first = min(results)
    base_stages = results[first]["stages"]["total"] / first
    lines = [
        f"load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}; min of {REPEATS} runs; "
        f"{available_cores()} cores",
        "",
        "| SLOs | " + " | ".join(f"{s} s" for s in STAGES) + " | stages s | per-SLO vs 100 |",
        "|---:|" + "---:|" * (len(STAGES) + 2),
    ]
    for count, r in results.items():
        st = r["stages"]
        lines.append(
            f"| {count:,} | "
            + " | ".join(f"{st.get(s, 0.0):.2f}" for s in STAGES)
            + f" | {st['total']:.2f} | {st['total'] / count / base_stages:.2f}x |"
        )
    lines += [
        "",
        "| SLOs | `slogen generate` | wall s | CPU s (all processes) | peak RSS MB (main) | peak PSS MB (all) "
        "| per-SLO CPU vs 100 | wall vs `--jobs 1` |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, name in (("cli", "`--jobs auto`"), ("cli-j1", "`--jobs 1`")):
        base_cpu = results[first][mode]["cpu"] / first
        for count, r in results.items():
            cli, serial = r[mode], r["cli-j1"]
            lines.append(
                f"| {count:,} | {name} | {cli['total']:.2f} | {cli['cpu']:.2f} | {cli['rss_mb']:.0f} | "
                f"{cli['pss_mb']:.0f} | {cli['cpu'] / count / base_cpu:.2f}x | {cli['total'] / serial['total']:.2f}x |"
            )
    lines += ["", "| SLOs | " + " | ".join(f"{k} bytes" for k in KINDS) + " | total bytes | bytes/SLO |"]
    lines.append("|---:|" + "---:|" * (len(KINDS) + 2))
    for count, r in results.items():
        b = r["stages"]["bytes"]
        total = sum(b.values())
        lines.append(
            f"| {count:,} | " + " | ".join(f"{b[k]:,}" for k in KINDS) + f" | {total:,} | {total // count:,} |"
        )
    return lines


def run() -> list[str]:
    return table(measure()) + own_metrics_table(OWN_METRICS_AT, measure_own_metrics())


def _child(mode: str, tmp: str) -> None:
    result = child_stages(Path(tmp)) if mode == "stages" else child_cli(Path(tmp), "1" if mode == "cli-j1" else "auto")
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
        print("\n".join(table(measure(sizes))))
