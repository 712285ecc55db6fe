"""The benchmark: simulate, backfill, start Prometheus on the blocks, query every rule with ``stats=all``.

Sizes (chosen to finish in ~4 minutes on 2 shared cores): 20 events SLOs of 10 instance series each, 31 days of
30 s samples (35.7M raw samples), plus 4 SLOs of 100 instance series (one per traffic class) whose raw counters
cover the last 3 days and 2 hours only -- enough for every raw read of every rule set (the longest raw window is
3d; the period rules read recorded series, backfilled for 30 days from their 10-series twin). Accuracy is reported
for the 10-series SLOs, against the generator's exact counts.

Cost of a rule = ``totalQueryableSamples`` of its expression as an instant query at T, times the evaluations of
its group per minute (the global interval is 1m; the ``exact30`` SLI group runs every 30 s). Query time =
``evalTotalTime`` summed over an SLO's rules.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from bench.support import BenchError, machine_note
from codegen.conventions import ERRORS_TILE_PREFIX as ERRORS_TILE
from codegen.conventions import TOTAL_TILE_PREFIX as TOTAL_TILE
from codegen.durations import format_duration, parse_duration
from codegen.exact_rules import BASE_TILE, EXACT_LADDER
from codegen.plan import AlertingRule, RecordingRule
from stack.ports import free_port
from stack.processes import ManagedProcess

from .backfill import Series, label_text, write_blocks
from .rulesets import LABEL, SETS, RuleSet, build, recorded, rules_of
from .traffic import (
    CLASSES,
    DAY,
    END,
    GRID,
    SPAN,
    Counters,
    Floats,
    Service,
    grid,
    simulate,
    summed_increment,
    summed_rate,
    truth,
)

SMALL = [Service(i, 10, f"s{i:02d}") for i in range(20)]
LARGE = [Service(i, 100, f"h{i:02d}") for i in (0, 10, 14, 17)]  # one per traffic class
LARGE_SPAN = 3 * DAY + 2 * 3600
FAST = 30  # seconds: the "exact30" set evaluates its SLI group at the scrape interval
RECENT = 15 * 60  # other recorded series are backfilled for the last 15 minutes only (their rules read one sample)
ACCURACY_WINDOWS = ("30d", "3d", "1d", "5m")
FILLER = 0.001


def log(msg: str) -> None:
    print(f"[bench-rules {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Derived:
    """Per SLO, on the evaluation grid ending at T: the 5m error and total rates (Sloth's and the NaN-safe 5m SLI)
    and the tiles the tiled rules record (counter increments per 5m, summed up the ladder)."""

    at: np.ndarray
    err5: Floats
    tot5: Floats
    tiles: dict[str, Floats]  # record name -> values


def shifted(values: Floats, steps: int) -> Floats:
    """``values offset <steps evaluations>`` on the grid, 0 before the grid starts (the rules' ``or 0 * x``)."""
    if steps == 0:
        return values
    out = np.zeros_like(values)
    out[steps:] = values[:-steps]
    return out


def derive(c: Counters, step: int = GRID) -> Derived:
    """What the tiled rules record when their group is evaluated every ``step`` seconds: the 5m base is
    ``x - x offset 5m`` summed over the instances (no resets here, and every series is older than the grid), each
    rung the sum of the disjoint tiles of the one below."""
    at = grid(END - SPAN + 600, step=step)
    tiles: dict[str, Floats] = {}
    for prefix, which in ((ERRORS_TILE, "errors"), (TOTAL_TILE, "requests")):
        rung = summed_increment(c, which, at, BASE_TILE)
        tiles[f"{prefix}{format_duration(BASE_TILE)}"] = rung
        for lower, size in itertools.pairwise(EXACT_LADDER):
            steps = lower // step
            rung = sum((shifted(rung, steps * k) for k in range(size // lower)), np.zeros_like(rung))
            tiles[f"{prefix}{format_duration(size)}"] = rung
    return Derived(at, summed_rate(c, "errors", at, 300), summed_rate(c, "requests", at, 300), tiles)


def last(d: Derived, seconds: int, values: Floats) -> tuple[np.ndarray, Floats]:
    keep = d.at > END - seconds
    return d.at[keep], values[keep]


def recorded_series(ruleset: RuleSet, derived: dict[str, Derived]) -> list[Series]:
    """What each rule set's rules read from recorded series, as its own rules would have recorded it."""
    out: list[Series] = []
    long_span = 30 * DAY + RECENT
    for slo_name, groups in ruleset.groups_by_slo.items():
        d = derived[slo_name]
        done: set[str] = set()
        for rule in recorded(groups):
            labels = label_text(dict(rule.labels))
            if rule.record == "slo:sli_error:ratio_rate5m" and not ruleset.name.startswith("exact"):
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = d.err5 / d.tot5  # Sloth: 0/0 is NaN
                if ruleset.name == "default":  # no sample without traffic
                    ratio = np.where(np.nan_to_num(d.tot5) > 0, ratio, np.inf)
                ts, values = last(d, long_span, ratio)
                keep = ~np.isinf(values)
                out.append(Series(rule.record, labels, ts[keep], values[keep]))
            elif rule.record in d.tiles:
                span = long_span if rule.record.endswith(("tile1d", "tile1w")) else DAY + RECENT
                ts, values = last(d, span, d.tiles[rule.record])
                out.append(Series(rule.record, labels, ts, values))
            else:
                if rule.record.startswith(("slo:sli_errors:", "slo:sli_total:")):
                    raise BenchError(f"no backfill computed for the tile {rule.record}")
                ts, _ = last(d, RECENT, d.tot5)
                out.append(Series(rule.record, labels, ts, np.full(len(ts), FILLER)))
            assert rule.record not in done, rule.record
            done.add(rule.record)
    return out


def raw_series(c: Counters) -> list[Series]:
    out = []
    for i, (ts, req, err) in enumerate(zip(c.ts, c.requests, c.errors, strict=True)):
        labels = label_text({"slo": c.service.name, "instance": f"i{i}"})
        out.append(Series("bench_requests_total", labels, ts, req))
        out.append(Series("bench_errors_total", labels, ts, err))
    return out


class Prometheus:
    def __init__(self, tsdb: Path, workdir: Path) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n")
        self.process = ManagedProcess(
            name="bench-rules-prometheus",
            argv=[
                "nice",
                "-n",
                "10",
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tsdb}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=100y",
                "--storage.tsdb.min-block-duration=2h",
                "--storage.tsdb.max-block-duration=2h",  # no compaction of the backfilled blocks while measuring
                "--query.max-samples=500000000",
                "--query.timeout=10m",
            ],
            log_path=workdir / "prometheus.log",
        )

    def __enter__(self) -> Prometheus:
        self.process.start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if not self.process.running:
                raise BenchError(f"prometheus exited at start:\n{self.process.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        raise BenchError(f"prometheus not ready after 300 s:\n{self.process.log_tail()}")

    def __exit__(self, *_: object) -> None:
        self.process.stop()

    def query(self, expr: str, at: int = END) -> dict[str, Any]:
        body = urllib.parse.urlencode({"query": expr, "time": str(at), "stats": "all"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/query", data=body)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                answer: dict[str, Any] = json.load(r)
        except urllib.error.HTTPError as exc:
            raise BenchError(f"query failed ({exc.code}): {exc.read()[:500]!r}\n{expr}") from exc
        data: dict[str, Any] = answer["data"]
        return data


@dataclass
class Measured:
    samples: int
    seconds: float
    values: list[float]  # of the result's samples


def measure_rule(prom: Prometheus, expr: str) -> Measured:
    data = prom.query(expr)
    stats = data["stats"]
    values = [float(s["value"][1]) for s in data["result"]]
    return Measured(int(stats["samples"]["totalQueryableSamples"]), float(stats["timings"]["evalTotalTime"]), values)


def window_of(rule: RecordingRule | AlertingRule) -> str | None:
    if isinstance(rule, RecordingRule) and rule.record.startswith("slo:sli_error:ratio_rate"):
        return rule.record.removeprefix("slo:sli_error:ratio_rate")
    return None


def run() -> list[str]:
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        raise BenchError("promtool and prometheus are needed: install Debian's 'prometheus' (make install-system-deps)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        work = Path(tmp)
        log("simulating counters")
        counters = {s.name: simulate(s) for s in SMALL}
        counters |= {s.name: simulate(s, start=END - LARGE_SPAN) for s in LARGE}
        log("deriving recorded series (5m rates as Prometheus computes them, tiles)")
        derived = {s.name: derive(counters[s.name]) for s in SMALL}
        derived_fast = {s.name: derive(counters[s.name], FAST) for s in SMALL}
        for s in LARGE:  # its 30-day recorded history: the 10-series twin's
            derived[s.name] = derived[f"s{s.index:02d}"]
            derived_fast[s.name] = derived_fast[f"s{s.index:02d}"]
        rulesets = {name: build(name, SMALL + LARGE) for name in SETS}
        series = [x for c in counters.values() for x in raw_series(c)]
        for name, rs in rulesets.items():
            series += recorded_series(rs, derived_fast if name == "exact30" else derived)
        total = sum(len(s.ts) for s in series)
        log(f"backfilling {len(series):,} series, {total:,} samples")
        blocks = write_blocks(series, work / "om", work / "tsdb")
        del series
        log(f"{blocks} blocks written; starting Prometheus")
        with Prometheus(work / "tsdb", work) as prom:
            check = cross_check(prom, counters, derived, rulesets["exact"])
            log("querying every rule")
            results = {name: measure_set(prom, rs) for name, rs in rulesets.items()}
    elapsed = time.monotonic() - started
    lines = cost_table(results)
    lines += ["", *window_table(results, rulesets)]
    lines += ["", *accuracy_table(results, counters)]
    lines += ["", *tiling_study(counters, derived)]
    lines += [
        "",
        f"Backfilled 31 days of 30 s counters for {len(SMALL)} SLOs x 10 series and 3d2h for {len(LARGE)} SLOs x "
        f"100 series, {total:,} samples in {blocks} 2h blocks. {check}",
        f"Whole run {elapsed:.0f} s; {machine_note()}.",
    ]
    return lines


def cross_check(prom: Prometheus, counters: dict[str, Counters], derived: dict[str, Derived], tiled: RuleSet) -> str:
    """The backfilled 5m rates and tiles must be what Prometheus computes: the rates by ``rate()`` of the counters,
    the tiles by evaluating the tiled rule set's own tile rules (the base on the counters, each rung on the
    backfilled rung below)."""
    worst = 0.0
    for name in ("s00", "s10", "s17"):
        d = derived[name]
        tiles = [r for r in recorded(tiled.groups_by_slo[name]) if r.record.startswith((ERRORS_TILE, TOTAL_TILE))]
        if {r.record for r in tiles} != set(d.tiles):
            raise BenchError(f"{tiled.name}/{name}: the rules record {sorted(r.record for r in tiles)}")
        base = format_duration(BASE_TILE)
        for back in (0, DAY + 17 * 60, 20 * DAY + 3 * 3600):
            k = len(d.at) - 1 - back // GRID
            checks = [
                (f'sum(rate({metric}{{slo="{name}"}}[5m]))', ours)
                for metric, ours in (("bench_requests_total", d.tot5[k]), ("bench_errors_total", d.err5[k]))
            ]  # the base tiles from the raw counters at any time; the ladder from the rung below at the end
            checks += [(r.expr, d.tiles[r.record][k]) for r in tiles if back == 0 or r.record.endswith(base)]
            for expr, ours in checks:
                got = prom.query(expr, at=int(d.at[k]))["result"]
                theirs = float(got[0]["value"][1]) if got else math.nan
                if ours == 0 and theirs == 0:
                    continue
                worst = max(worst, abs(theirs / ours - 1))
    if worst > 1e-9:
        raise BenchError(f"backfilled 5m rates or tiles differ from Prometheus' own by up to {worst:.2e}")
    return (
        "Backfilled 5m rates and tiles equal Prometheus' own evaluation of `rate()` and of the tile rules "
        f"(max relative difference {worst:.1e})."
    )


def measure_set(prom: Prometheus, ruleset: RuleSet) -> dict[str, list[tuple[str, str | None, Measured]]]:
    """Per SLO: (rule name, SLI window or None, measurement) for every rule of its groups."""
    out: dict[str, list[tuple[str, str | None, Measured]]] = {}
    for slo_name, groups in ruleset.groups_by_slo.items():
        rows = []
        for group, rule in rules_of(groups):
            per_minute = 60 / parse_duration(group.interval) if group.interval else 1.0
            m = measure_rule(prom, rule.expr)
            m.samples = round(m.samples * per_minute)
            name = rule.record if isinstance(rule, RecordingRule) else f"alert {rule.alert}"
            rows.append((name, window_of(rule), m))
        out[slo_name] = rows
    log(f"{ruleset.name}: {sum(len(r) for r in out.values())} rules measured")
    return out


def _per_slo(results: dict[str, list[tuple[str, str | None, Measured]]], names: list[str]) -> tuple[float, float]:
    samples = [sum(m.samples for _, _, m in results[n]) for n in names]
    seconds = [sum(m.seconds for _, _, m in results[n]) for n in names]
    return sum(samples) / len(samples), median(seconds)


def cost_table(results: dict[str, dict[str, list[tuple[str, str | None, Measured]]]]) -> list[str]:
    lines = [
        "| rule set | series per SLO | samples read per SLO per minute | vs Sloth | query time per SLO (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for group, n in ((SMALL, 10), (LARGE, 100)):
        names = [s.name for s in group]
        base, _ = _per_slo(results["sloth"], names)
        for set_name in SETS:
            samples, seconds = _per_slo(results[set_name], names)
            lines.append(
                f"| {LABEL[set_name]} | {n} | {samples:,.0f} | {samples / base:.4f}x | {seconds * 1000:.1f} ms |"
            )
    return lines


def window_table(
    results: dict[str, dict[str, list[tuple[str, str | None, Measured]]]], rulesets: dict[str, RuleSet]
) -> list[str]:
    """Samples per SLO per minute by rule, 10 and 100 series (mean over the SLOs of that size)."""
    rows: dict[str, dict[tuple[str, int], float]] = defaultdict(dict)
    order: list[str] = []
    for set_name in SETS:
        for group, n in ((SMALL, 10), (LARGE, 100)):
            acc: dict[str, float] = defaultdict(float)
            for s in group:
                for name, _, m in results[set_name][s.name]:
                    key = "alerts" if name.startswith("alert ") else name
                    acc[key] += m.samples / len(group)
            for key, value in acc.items():
                if key not in order:
                    order.append(key)
                rows[key][(set_name, n)] = value
    head = " | ".join(f"{s} {n}" for s in SETS for n in (10, 100))
    lines = [f"| rule | {head} |", "|---|" + "---:|" * (2 * len(SETS))]
    for key in order:
        cells = " | ".join(f"{rows[key][(s, n)]:,.0f}" if (s, n) in rows[key] else "–" for s in SETS for n in (10, 100))
        lines.append(f"| {key} | {cells} |")
    return lines


def accuracy_table(
    results: dict[str, dict[str, list[tuple[str, str | None, Measured]]]], counters: dict[str, Counters]
) -> list[str]:
    """Mean |relative error| per traffic class and window against the exact counts, [min..max] signed, and the
    number of NaN results over the class' SLOs and windows. Sloth's and the untiled 5m window is a raw ``rate()``
    (its error is the extrapolation over 9 scrape intervals of 10); the tiled one is the base tile's increment."""
    head = " | ".join(ACCURACY_WINDOWS)
    lines = [f"| rule set | class | {head} | NaN |", "|---|---|" + "---:|" * (len(ACCURACY_WINDOWS) + 1)]
    for set_name in SETS:
        for cls in CLASSES:
            members = [s for s in SMALL if s.traffic_class == cls]
            cells, nans = [], 0
            for window in ACCURACY_WINDOWS:
                errs = []
                for s in members:
                    exact = truth(counters[s.name], parse_duration(window))
                    values = [v for _, w, m in results[set_name][s.name] if w == window for v in m.values]
                    if values and math.isnan(values[0]):
                        nans += 1
                        continue
                    if exact is None or not values:  # no traffic: no sample is the right answer
                        continue
                    if exact == 0:  # no error in the window: only an exact 0 is right
                        errs.append(0.0 if values[0] == 0 else math.inf)
                        continue
                    errs.append(values[0] / exact - 1)
                if errs:
                    mean = sum(abs(e) for e in errs) / len(errs)
                    cells.append(f"{mean:.2%} [{min(errs):+.1%}..{max(errs):+.1%}]")
                else:
                    cells.append("–")
            lines.append(f"| {LABEL[set_name]} | {cls} ({len(members)}) | {' | '.join(cells)} | {nans} |")
    return lines


STUDY = ("s03", "s12", "s15", "s18")  # one SLO per traffic class


def tiling_study(counters: dict[str, Counters], derived: dict[str, Derived]) -> list[str]:
    """Why the tiles count increments: mean |relative error| against the exact counts at 270 moments of the last 7
    days, of one window built from the same 5m rates (verified equal to Prometheus' above) as disjoint 5m tiles,
    as the sum of every evaluation's 5m tile (smooth; evaluated every 60 s and every 30 s = the scrape interval),
    as a raw ``rate(x[W])``, and as disjoint tiles of counter increments (the default: they telescope)."""
    windows = (3600, 6 * 3600, DAY, 3 * DAY)
    head = " | ".join(f"{format_window(w)}" for w in windows)
    lines = [
        f"| class (SLO): rate tiles disjoint / smooth / smooth every 30 s / raw `rate(x[W])` / increments | {head} |",
        "|---|" + "---:|" * len(windows),
    ]
    for name in STUDY:
        c, d = counters[name], derived[name]
        e5, t5 = np.nan_to_num(d.err5), np.nan_to_num(d.tot5)
        ei, ti = d.tiles[f"{ERRORS_TILE}5m"], d.tiles[f"{TOTAL_TILE}5m"]
        ce, ct = np.concatenate([[0.0], np.cumsum(e5)]), np.concatenate([[0.0], np.cumsum(t5)])
        fast = np.arange(END - 10 * DAY, END + 1, 30, dtype=np.int64)
        fe = np.concatenate([[0.0], np.cumsum(np.nan_to_num(summed_rate(c, "errors", fast, 300)))])
        ft = np.concatenate([[0.0], np.cumsum(np.nan_to_num(summed_rate(c, "requests", fast, 300)))])
        cells = []
        for w in windows:
            m = w // GRID
            errs: dict[str, list[float]] = {"disjoint": [], "smooth": [], "smooth30": [], "raw": [], "increments": []}
            for back in range(0, 7 * 1440, 37):
                k = len(d.at) - 1 - back
                at = int(d.at[k])
                exact = truth(c, w, at)
                if not exact:
                    continue
                picks = k - np.arange(0, m, 5)
                errs["disjoint"].append(e5[picks].sum() / t5[picks].sum() / exact - 1)
                errs["smooth"].append((ce[k + 1] - ce[k + 1 - m]) / (ct[k + 1] - ct[k + 1 - m]) / exact - 1)
                j, n = len(fast) - 1 - 2 * back, 2 * m
                errs["smooth30"].append((fe[j + 1] - fe[j + 1 - n]) / (ft[j + 1] - ft[j + 1 - n]) / exact - 1)
                one = np.array([at])
                raw = summed_rate(c, "errors", one, w)[0] / summed_rate(c, "requests", one, w)[0]
                errs["raw"].append(raw / exact - 1)
                errs["increments"].append(ei[picks].sum() / ti[picks].sum() / exact - 1)
            cells.append(" / ".join(f"{np.mean(np.abs(v)):.2%}" for v in errs.values()))
        lines.append(f"| {c.service.traffic_class} ({name}) | {' | '.join(cells)} |")
    return lines


def format_window(seconds: int) -> str:
    return {3600: "1h", 6 * 3600: "6h", DAY: "1d", 3 * DAY: "3d"}[seconds]
