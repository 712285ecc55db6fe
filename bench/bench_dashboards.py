"""Dashboard size against the number of SLOs: the overview and the detail view must stay flat.

For 5, 1,000 and 10,000 synthetic SLOs: bytes and panels of each generated dashboard and the time to build them,
beside a declared one-row-per-SLO board (the layout that used to be the default) as the baseline that grows.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.bench_compile import write_specs
from codegen.compiler import compile_specs
from codegen.dashboards import render_dashboards
from codegen.parse import load_specs

SIZES = (5, 1000, 10000)
ROWS_BOARD_UP_TO = 1000  # the per-SLO board at 10,000 SLOs is ~200 MB of JSON: measured up to 1,000 only
ROWS_BOARD = """\
apiVersion: slogen/v1
kind: Dashboard
metadata: {uid: every-slo-rows, title: One row per SLO}
spec: {generate: slos}
"""


def measure(count: int) -> tuple[float, dict[str, tuple[int, int]]]:
    """Seconds to render every dashboard, and file name -> (bytes, panels)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_specs(root, count)
        if count <= ROWS_BOARD_UP_TO:
            (root / "boards.yaml").write_text(ROWS_BOARD, encoding="utf-8")
        specs = compile_specs(load_specs(str(root)))
        start = time.perf_counter()
        files = render_dashboards(specs)
        seconds = time.perf_counter() - start
    sizes = {name: (len(text.encode()), len(json.loads(text)["panels"])) for name, text in files.items()}
    return seconds, sizes


def run() -> list[str]:
    results = {n: measure(n) for n in SIZES}
    lines = [
        "| SLOs | dashboard | bytes | panels | bytes vs 5 SLOs | render s (all dashboards) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    base = results[SIZES[0]][1]
    for n, (seconds, sizes) in results.items():
        for name, (size, panel_count) in sorted(sizes.items()):
            ratio = size / base[name][0]
            lines.append(f"| {n:,} | {name} | {size:,} | {panel_count:,} | {ratio:.2f}x | {seconds:.2f} |")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
