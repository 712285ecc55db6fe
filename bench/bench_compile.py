"""Compiler throughput: 100, 1,000 and 5,000 synthetic SLOs through parse -> rules -> promtool tests.

Reports seconds per stage and the per-SLO cost relative to the 100-SLO run of the same process, so the figure that
matters (does cost grow linearly?) survives a noisy machine.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from codegen.parse import load_specs
from codegen.pipeline import Layout, render_all

SIZES = (100, 1000, 5000)
SLOS_PER_FILE = 50
KINDS = ("events", "raw", "latency", "timeslice")


def synthetic_slo(index: int, own_metrics: bool = False) -> str:
    """One SLO of a rotating kind; with ``own_metrics`` its metric names are its own (``http_requests_total_00042``),
    so no two SLOs' queries have the same PromQL shape (by default they differ only in label values)."""
    kind = KINDS[index % len(KINDS)]
    route = f'route="r{index}"'
    own = f"_{index:05d}" if own_metrics else ""
    slis = {
        "events": (
            f'events:\n        error_query: sum(rate(http_requests_total{own}{{job="svc",{route},code=~"5.."}}'
            f'[{{{{.window}}}}]))\n        total_query: sum(rate(http_requests_total{own}{{job="svc",{route}}}'
            f"[{{{{.window}}}}]))"
        ),
        "raw": (
            f"raw:\n        error_ratio_query: 1 - (sum(rate(ok_total{own}{{{route}}}[{{{{.window}}}}])) / "
            f"sum(rate(all_total{own}{{{route}}}[{{{{.window}}}}])))"
        ),
        "latency": (
            f"latency:\n        histogram: http_request_duration_seconds{own}\n        threshold: 0.5\n"
            f"        matchers: '{route}'\n        buckets: [0.1, 0.25, 0.5, 1]"
        ),
        "timeslice": (
            f'timeslice:\n        query: queue_lag_seconds{own}{{queue="q{index}"}}\n        bad_when: "> 30"\n'
            f'        missing_is_bad: true\n        up_query: up{own}{{job="q{index}"}}'
        ),
    }
    return (
        f"  - name: slo-{index:05d}\n    objective: {99 + (index % 9) / 10}\n    description: synthetic {kind}\n"
        f"    sli:\n      {slis[kind]}\n    alerting:\n      name: Slo{index:05d}Burn\n"
        f"      labels: {{team: t{index % 7}}}\n"
    )


def write_specs(root: Path, count: int, own_metrics: bool = False) -> None:
    for start in range(0, count, SLOS_PER_FILE):
        body = "".join(synthetic_slo(i, own_metrics) for i in range(start, min(start + SLOS_PER_FILE, count)))
        (root / f"svc-{start // SLOS_PER_FILE:04d}.yaml").write_text(
            f'version: "prometheus/v1"\nservice: "svc-{start // SLOS_PER_FILE:04d}"\nlabels: {{owner: bench}}\n'
            f"slos:\n{body}"
        )


def measure(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "slo"
        root.mkdir()
        write_specs(root, count)
        t0 = time.perf_counter()
        specs = load_specs(str(root))
        t1 = time.perf_counter()
        rules_only = render_all(specs, Layout(str(root), True, str(Path(tmp) / "alerts"))).files
        t2 = time.perf_counter()
        everything = render_all(
            specs, Layout(str(root), True, str(Path(tmp) / "alerts"), str(Path(tmp) / "tests"))
        ).files
        t3 = time.perf_counter()
    assert len(specs.slos) == count and rules_only and len(everything) > len(rules_only)
    return {"parse": t1 - t0, "rules": t2 - t1, "rules+tests": t3 - t2, "total": (t1 - t0) + (t3 - t2)}


def run() -> list[str]:
    results = {n: measure(n) for n in SIZES}
    base = results[SIZES[0]]["total"] / SIZES[0]
    lines = [
        "| SLOs | parse s | rules s | rules+tests s | total s | ms/SLO | per-SLO cost vs 100 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in results.items():
        per = r["total"] / n
        lines.append(
            f"| {n:,} | {r['parse']:.2f} | {r['rules']:.2f} | {r['rules+tests']:.2f} | {r['total']:.2f} | "
            f"{per * 1000:.2f} | {per / base:.2f}x |"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
