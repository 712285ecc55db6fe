"""Docs renderer: ``docs/slo.md`` and the dashboards page from the model, so no figure drifts from the rules.

Every number is computed here from the objective and the alert windows; the Jinja templates only lay them out.

Time to fire, with a constant error ratio ``r`` starting from a clean history: a window of length ``W``
averages ``r * min(t, W) / W`` after ``t`` seconds, so it crosses a tier's threshold ``T = burn_factor * (1 -
objective)`` at ``t = W * T / r`` — and never when ``r <= T`` (at ``t = W`` it has reached ``r``). The tier
fires when its short *and* long windows are over ``T``: ``max(S, L) * T / r = L * T / r``, plus the alert's
``for``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

import jinja2

from codegen.compiler import CompiledSpecs
from codegen.conventions import (
    ERRORS_TILE_PREFIX,
    GENERATED_BY,
    LABEL_ID,
    TOTAL_TILE_PREFIX,
    render_window,
    runbook_url,
    sli_error_record,
)
from codegen.dashboards import RenderedDashboard
from codegen.durations import format_duration, humanize_duration, parse_duration
from codegen.exact_rules import BASE_TILE, tile_record
from codegen.lowering import condition, counted_tiles, event_templates, instant_indicator
from codegen.model import (
    SLO,
    AlertTier,
    CompileOptions,
    EventsSLI,
    LatencySLI,
    NativeLatencySLI,
    RawSLI,
    SliceRatioSLI,
    TimesliceSLI,
)
from codegen.numbers import go_float
from codegen.plan import RecordingRule, SLOPlan
from codegen.rules import threshold_rule


@dataclass(frozen=True)
class TierRow:
    """One alert tier of one SLO, with everything the doc says about it."""

    name: str
    severity: str
    enabled: bool
    short: str
    long: str
    burn_factor: str
    threshold_percent: str  # error ratio that trips the tier, in percent
    budget_percent: str  # share of the period's budget spent when it fires
    budget_time: str
    fire_full: str  # time to fire at 100% errors
    fire_double: str  # time to fire at twice the tier's burn rate
    for_: str | None


@dataclass(frozen=True)
class SloSection:
    slo: SLO
    anchor: str
    objective: str
    period: str
    sli_words: str
    sli_promql: str
    sli_window: str
    sli_record: str
    sli_tiles: tuple[tuple[str, str], ...]  # (record, expr) of the base tiles when the windows are tiled
    counted_queries: tuple[tuple[str, str], ...]  # ("errors"|"total", 5m query) when the tiles count increments
    budget_percent: str
    budget_time: str
    events_line: str | None
    tiers: tuple[TierRow, ...]
    alert_name: str | None
    no_data_alert: str | None
    runbook: str


@dataclass(frozen=True)
class ThresholdRow:
    name: str
    severity: str
    for_: str
    summary: str
    expr: str
    runbook: str
    source: str


# ----------------------------------------------------------------------------------------------------------
# The arithmetic (kept public: tests check it against an independent computation)


def error_budget_seconds(slo: SLO) -> float:
    return slo.period * slo.error_budget_ratio


def budget_consumed_ratio(tier: AlertTier) -> float:
    """Share of the period's budget spent while burning at the tier's factor for its long window."""
    return tier.burn_factor * tier.long_window / tier.period


def time_to_fire(tier: AlertTier, budget_ratio: float, error_ratio: float) -> float | None:
    """Seconds until both windows of ``tier`` exceed its threshold at ``error_ratio``; None if never."""
    threshold = tier.burn_factor * budget_ratio
    if error_ratio <= threshold or error_ratio <= 0:
        return None
    return max(tier.long_window * threshold / error_ratio, tier.short_window * threshold / error_ratio)


def human_seconds(seconds: float) -> str:
    """``51.84 s`` below a minute (the page tier's sub-minute figures matter), else ``43m 12s``."""
    if seconds < 60:
        text = f"{seconds:.2f}".rstrip("0").rstrip(".")
        return f"{text} s"
    return humanize_duration(seconds)


def _percent(ratio: float) -> str:
    return go_float(round(ratio * 100, 6))


def _grouped(number: float) -> str:
    return f"{round(number):,}"


# ----------------------------------------------------------------------------------------------------------
# View models


def _sli_words(slo: SLO) -> str:
    sli = slo.sli
    match sli:
        case LatencySLI():
            where = f" with `{sli.matchers}`" if sli.matchers else ""
            return (
                f"requests slower than {go_float(sli.threshold)} s — observations above the "
                f'`le="{go_float(sli.threshold)}"` bucket of the `{sli.histogram}` histogram{where} — '
                "divided by all requests"
            )
        case NativeLatencySLI():
            where = f" with `{sli.matchers}`" if sli.matchers else ""
            return (
                f"requests slower than {go_float(sli.threshold)} s — `1 - histogram_fraction(0, "
                f"{go_float(sli.threshold)}, ...)` of the `{sli.histogram}` native histogram{where}"
            )
        case EventsSLI():
            return "error events divided by total events, as counted by the spec's `error_query` and `total_query`"
        case RawSLI():
            return "the error ratio computed by the spec's `error_ratio_query`"
        case TimesliceSLI():
            missing = (
                f"; a slice without a sample of the gauge while `{sli.up_query}` exists (the scrape failed) "
                "counts as bad too"
                if sli.missing_is_bad
                else ""
            )
            return (
                "the share of time that is bad, sampled at every rule evaluation: a slice is bad when "
                f"`{sli.query}` is `{condition(sli)}`{missing}"
            )
        case SliceRatioSLI():
            return (
                f"the mean of each {sli.slice_window} slice's error ratio (every slice weighs the same, busy or "
                f"idle), sampled at every rule evaluation from `{instant_indicator(sli)}`"
            )
        case _:
            assert_never(sli)


def _events_line(slo: SLO) -> str | None:
    budget = slo.error_budget_ratio
    sli = slo.sli
    match sli:
        case LatencySLI() | NativeLatencySLI():
            allowed = _grouped(budget * 1_000_000)
            return f"per 1,000,000 requests: {allowed} may be slower than {go_float(sli.threshold)} s"
        case EventsSLI():
            return f"per 1,000,000 events: {_grouped(budget * 1_000_000)} may fail"
        case RawSLI() | TimesliceSLI() | SliceRatioSLI():
            return None
        case _:
            assert_never(sli)


def _tier_rows(plan: SLOPlan) -> tuple[TierRow, ...]:
    slo = plan.slo
    budget = slo.error_budget_ratio
    budget_seconds = error_budget_seconds(slo)
    burn = plan.burn_alerts()
    rows: list[TierRow] = []
    for tier in slo.windows.tiers:
        rule = burn.get(tier.severity)
        enabled = rule is not None
        for_ = rule.for_ if rule is not None else None
        threshold = tier.burn_factor * budget
        delay = parse_duration(for_) if for_ else 0
        full = time_to_fire(tier, budget, 1.0)
        double_ratio = 2 * threshold
        double = time_to_fire(tier, budget, double_ratio) if double_ratio <= 1 else None
        consumed = budget_consumed_ratio(tier)
        rows.append(
            TierRow(
                name=tier.name,
                severity=tier.severity,
                enabled=enabled,
                short=tier.short,
                long=tier.long,
                burn_factor=go_float(round(tier.burn_factor, 4)),
                threshold_percent=_percent(threshold),
                budget_percent=_percent(consumed),
                budget_time=human_seconds(consumed * budget_seconds),
                fire_full=human_seconds(full + delay) if full is not None else "never (threshold above 100% errors)",
                fire_double=(
                    human_seconds(double + delay) if double is not None else "n/a (2× would exceed 100% errors)"
                ),
                for_=for_,
            )
        )
    return tuple(rows)


def _base_tiles(plan: SLOPlan, sli_rule: RecordingRule | None) -> tuple[tuple[str, str], ...]:
    """The 5m error and total tiles (``slogen.dev/exact_sli/v1``) when the base window reads them: then they hold
    the SLI's raw queries. (A raw SLI's alert windows keep their query; only its period is tiled.)"""
    names = (tile_record(ERRORS_TILE_PREFIX, BASE_TILE), tile_record(TOTAL_TILE_PREFIX, BASE_TILE))
    if sli_rule is None or names[0] not in sli_rule.expr:
        return ()
    found = {r.record: r.expr.strip() for r in plan.sli_recordings.rules if isinstance(r, RecordingRule)}
    return tuple((name, found[name]) for name in names if name in found)


def _counted_queries(slo: SLO) -> tuple[tuple[str, str], ...]:
    """The SLI's own queries over one tile, when its tiles hold them as counter increments (harder to read)."""
    templates = event_templates(slo.sli) if counted_tiles(slo.sli) else None
    if templates is None:
        return ()
    tile = format_duration(BASE_TILE)
    return tuple((kind, render_window(t, tile).strip()) for kind, t in zip(("errors", "total"), templates, strict=True))


def slo_section(plan: SLOPlan, options: CompileOptions) -> SloSection:
    slo = plan.slo
    base = format_duration(slo.windows.base_window)
    name = slo.alerting.name
    no_data = plan.no_data_alert()
    sli_rule = plan.sli_rule(base)
    return SloSection(
        slo=slo,
        anchor=f"{slo.service}-{slo.name}".lower(),
        objective=go_float(slo.objective),
        period=format_duration(slo.period),
        sli_words=_sli_words(slo),
        sli_promql=sli_rule.expr.strip() if sli_rule else "",
        sli_window=base,
        sli_record=sli_rule.record if sli_rule else sli_error_record(base),
        sli_tiles=(tiles := _base_tiles(plan, sli_rule)),
        counted_queries=_counted_queries(slo) if tiles else (),
        budget_percent=_percent(slo.error_budget_ratio),
        budget_time=human_seconds(error_budget_seconds(slo)),
        events_line=_events_line(slo),
        tiers=_tier_rows(plan),
        alert_name=name,
        no_data_alert=no_data.alert if no_data else None,
        runbook=runbook_url(options.runbook_base_url, name) if name else options.runbook_base_url,
    )


def _threshold_rows(specs: CompiledSpecs) -> tuple[ThresholdRow, ...]:
    rows: list[ThresholdRow] = []
    for alert in specs.threshold_alerts:
        rule = threshold_rule(alert, specs.options)
        annotations = dict(rule.annotations)
        rows.append(
            ThresholdRow(
                name=alert.name,
                severity=alert.severity,
                for_=alert.for_ or "—",
                summary=annotations["summary"],
                expr=alert.expr,
                runbook=annotations["runbook_url"],
                source=alert.source.path,
            )
        )
    return tuple(rows)


# ----------------------------------------------------------------------------------------------------------
# Rendering


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("codegen", "templates"),
        autoescape=False,  # Markdown, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return env


def render_slo_doc(specs: CompiledSpecs, source_root: str) -> str:
    """``docs/slo.md``: per SLO objective, SLI, budget, tiers and runbook; threshold alerts; budget policy."""
    sections = [slo_section(plan, specs.options) for plan in specs.plans]
    example = next((s for s in sections if s.tiers), None)
    return (
        _environment()
        .get_template("slo.md.j2")
        .render(
            generated_by=GENERATED_BY,
            id_label=LABEL_ID,
            source=source_root.rstrip("/") + "/",
            sections=sections,
            threshold_alerts=_threshold_rows(specs),
            runbook_base=specs.options.runbook_base_url,
            example=example,
        )
    )


def render_dashboards_page(boards: Sequence[RenderedDashboard], dashboards_dir: str | None) -> str:
    """``docs/dashboards.md``: what each generated dashboard shows, panel by panel."""
    return (
        _environment()
        .get_template("dashboards.md.j2")
        .render(
            generated_by=GENERATED_BY,
            boards=list(boards),
            directory=(dashboards_dir or "dashboards").rstrip("/"),
        )
    )
