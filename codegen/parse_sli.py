"""SLI validation: Sloth's events and raw SLIs, and our latency (histogram) and timeslice (gauge) extensions."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codegen.conventions import RESERVED_LABELS, WINDOW_TEMPLATE_RE, render_window
from codegen.fields import CONDITION_RE, LABEL_KEY_RE, METRIC_RE, Fields
from codegen.loader import FieldPath
from codegen.lowering import event_templates, ratio_template
from codegen.model import SLI, EventsSLI, LatencySLI, NativeLatencySLI, RawSLI, SliceRatioSLI, TimesliceSLI
from codegen.promql import check_expression, check_template
from codegen.promql_check import check_composable, check_instant_vector, parse_matchers
from codegen.sli_plugins import SLIPlugin, SLIPluginError
from codegen.sli_plugins.golang import yaml_scalar_string


@dataclass(frozen=True)
class PluginCall:
    """Where ``sli.plugin`` ids are looked up, and what Sloth hands the plugin besides its options: ``meta``
    (service, SLO name, ``%f`` objective) and the spec-level labels (Sloth passes those, not the SLO's)."""

    plugins: Mapping[str, SLIPlugin]
    meta: Mapping[str, str]
    labels: Mapping[str, str]
    sloth_compat: bool = False


def parse_sli(ctx: Fields, value: Any, path: FieldPath, plugin_call: PluginCall | None = None) -> SLI | None:
    sli = ctx.mapping(value, path, ["events", "raw", "plugin", "latency", "native_latency", "timeslice", "slice_ratio"])
    if value is None:
        ctx.err(path, "invalid SLI: at least one SLI type is required")
        return None
    present = [k for k, v in sli.items() if v is not None]
    if not present:
        ctx.err(path, "invalid SLI: at least one SLI type is required")
        return None
    if sorted(present) == ["plugin", "raw"] and plugin_call is not None and plugin_call.sloth_compat:
        ctx.warn((*path, "raw"), "ignored: Sloth replaces a raw SLI with the plugin's query when both are given")
        present = ["plugin"]
    if len(present) > 1:
        ctx.err(path, f"invalid SLI: only one SLI type is allowed (found {', '.join(present)})")
        return None
    kind = present[0]
    here = (*path, kind)
    if kind == "plugin":
        return _parse_plugin(ctx, sli["plugin"], here, plugin_call)
    if kind == "events":
        ev = ctx.mapping(sli["events"], here, ["error_query", "total_query"], required=True)
        error = query_template(ctx, ev["error_query"], (*here, ctx.key("error_query")), "sli error query")
        total = query_template(ctx, ev["total_query"], (*here, ctx.key("total_query")), "sli total query")
        if error and total and error.strip() == total.strip():
            ctx.err(here, "invalid SLI: both error and total queries can't be the same")
        return EventsSLI(error, total) if error and total else None
    if kind == "raw":
        raw = ctx.mapping(sli["raw"], here, ["error_ratio_query"], required=True)
        query = query_template(ctx, raw["error_ratio_query"], (*here, ctx.key("error_ratio_query")), "sli raw query")
        return RawSLI(query) if query else None
    if kind == "latency":
        return _parse_latency(ctx, sli["latency"], here)
    if kind == "slice_ratio":
        return _parse_slice_ratio(ctx, sli["slice_ratio"], here)
    if kind == "native_latency":
        return _parse_native_latency(ctx, sli["native_latency"], here)
    return _parse_timeslice(ctx, sli["timeslice"], here)


def query_template(ctx: Fields, value: Any, path: FieldPath, what: str) -> str:
    text = ctx.string(value, path)
    if not text:
        ctx.err(path, f"{what} template: query template is required")
        return ""
    if not WINDOW_TEMPLATE_RE.search(text):
        ctx.err(path, f"{what} template: template must contain the {{{{ .window }}}} variable")
        return ""
    if ctx.sloth_compat:
        # As in Sloth, the query dialect is the chain's to check: sloth.dev/core/validate/v1 parses PromQL (by
        # default), sloth.dev/contrib/validate_victoria_metrics/v1 checks MetricsQL when a spec chooses it.
        return text
    problem = check_template(text)
    if problem:
        ctx.err(path, f"{what} expression: invalid PromQL: {problem}")
        return ""
    problem = _composition_problem(render_window(text, "1m"))
    if problem:
        ctx.err(path, f"{what} expression: {problem}")
        return ""
    return text


def _composition_problem(expr: str) -> str | None:
    """slogen embeds SLI queries in ``(...)``, ``max(...)``, ``or`` and ``absent(...)``: they must be instant
    vectors that survive the parentheses."""
    return check_instant_vector(expr) or check_composable(expr)


def _parse_plugin(ctx: Fields, value: Any, path: FieldPath, call: PluginCall | None) -> RawSLI | None:
    """Sloth's plugin SLI: the plugin's query becomes the raw error-ratio query, validated like a written one."""
    spec = ctx.mapping(value, path, ["id", "options"], required=True)
    plugin_id = ctx.string(spec["id"], (*path, "id"), required=True)
    options = _plugin_options(ctx, spec["options"], (*path, "options"), call is not None and call.sloth_compat)
    if not plugin_id or options is None or call is None:
        return None
    plugin = call.plugins.get(plugin_id)
    if plugin is None:
        known = ", ".join(sorted(call.plugins)) or "none"
        ctx.err((*path, "id"), f"unknown SLI plugin id {plugin_id!r}; the SLI plugins that exist: {known}")
        return None
    try:
        query: object = plugin.generate(dict(call.meta), dict(call.labels), options)
    except SLIPluginError as exc:
        ctx.err(path, f"SLI plugin {plugin_id!r}: {exc}")
        return None
    except Exception as exc:  # a plugin file's bug is reported like bad input, with the plugin named
        ctx.err(path, f"SLI plugin {plugin_id!r} failed: {type(exc).__name__}: {exc}")
        return None
    if not isinstance(query, str):
        ctx.err(path, f"SLI plugin {plugin_id!r} returned {type(query).__name__}, not a query string")
        return None
    checked = query_template(ctx, query, path, f"SLI plugin {plugin_id!r} raw query")
    return RawSLI(checked) if checked else None


def _plugin_options(ctx: Fields, value: Any, path: FieldPath, sloth_compat: bool) -> dict[str, str] | None:
    """Options as Sloth's decoder makes them (``map[string]string``): numbers and booleans become their text."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.err(path, "must be a mapping of option name to value")
        return None
    options: dict[str, str] = {}
    for key, raw in value.items():
        if not isinstance(raw, str | int | float | bool | None):
            ctx.err((*path, key), f"an option value must be a string, number or boolean, got {type(raw).__name__}")
            continue
        text = yaml_scalar_string(raw)
        if isinstance(raw, float) and math.isfinite(raw) and float(text) != raw:
            message = (
                f"the number {raw!r} reaches the plugin as {text!r} (Sloth's decoder keeps float32 precision); "
                "quote it to pass it as written"
            )
            (ctx.warn if sloth_compat else ctx.err)((*path, key), message)
        options[yaml_scalar_string(key) if isinstance(key, int | float | bool) else str(key)] = text
    return options


def _parse_latency(ctx: Fields, value: Any, path: FieldPath) -> LatencySLI | None:
    lat = ctx.mapping(value, path, ["histogram", "threshold", "matchers", "buckets"], required=True)
    before = len(ctx.errors)
    histogram = ctx.string(lat["histogram"], (*path, "histogram"), required=True)
    if histogram and not METRIC_RE.match(histogram):
        ctx.err((*path, "histogram"), f"invalid metric name {histogram!r}")
    for suffix in ("_bucket", "_count", "_sum"):
        if histogram.endswith(suffix):
            ctx.err((*path, "histogram"), f"give the histogram's base name, e.g. {histogram[: -len(suffix)]!r}")
    threshold = lat["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not threshold > 0:
        ctx.err((*path, "threshold"), "threshold must be a positive number (seconds, a histogram bucket boundary)")
        threshold = 0.0
    written = ctx.string(lat["matchers"], (*path, "matchers")).strip()
    if written.startswith("{") and written.endswith("}"):
        written = written[1:-1]
    matchers, problem = parse_matchers(written)
    if problem:
        ctx.err((*path, "matchers"), f'invalid label matchers {written!r}: {problem} (expected e.g. job="api")')
    buckets: tuple[float, ...] | None = None
    if lat["buckets"] is not None:
        raw = lat["buckets"]
        if (
            not isinstance(raw, list)
            or not raw
            or any(isinstance(b, bool) or not isinstance(b, int | float) for b in raw)
        ):
            ctx.err((*path, "buckets"), "buckets must be a non-empty list of numbers")
        else:
            buckets = tuple(float(b) for b in raw)
            if list(buckets) != sorted(set(buckets)):
                ctx.err((*path, "buckets"), "buckets must be strictly increasing")
            elif threshold and float(threshold) not in buckets:
                near = min(buckets, key=lambda b: abs(b - float(threshold)))
                ctx.err(
                    (*path, "threshold"),
                    f"threshold {threshold} is not a bucket boundary (nearest: {near:g}); "
                    "bad = count - bucket{le=threshold} needs an exact bucket",
                )
    if len(ctx.errors) > before:
        return None
    return LatencySLI(histogram, float(threshold), matchers, buckets)


def _parse_native_latency(ctx: Fields, value: Any, path: FieldPath) -> NativeLatencySLI | None:
    """A native histogram needs no bucket boundary: ``histogram_fraction`` reads any threshold."""
    lat = ctx.mapping(value, path, ["histogram", "threshold", "matchers"], required=True)
    before = len(ctx.errors)
    histogram = ctx.string(lat["histogram"], (*path, "histogram"), required=True)
    if histogram and not METRIC_RE.match(histogram):
        ctx.err((*path, "histogram"), f"invalid metric name {histogram!r}")
    threshold = lat["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not threshold > 0:
        ctx.err((*path, "threshold"), "threshold must be a positive number of seconds")
        threshold = 0.0
    matchers = ctx.string(lat["matchers"], (*path, "matchers")).strip().strip("{}").strip()
    if matchers and check_expression(f"metric{{{matchers}}}"):
        ctx.err((*path, "matchers"), f'invalid label matchers {matchers!r}: expected e.g. job="api"')
    if len(ctx.errors) > before:
        return None
    return NativeLatencySLI(histogram, float(threshold), matchers)


_BY_RE = re.compile(r"\bby\s*\(([^)]*)\)")
_WITHOUT_RE = re.compile(r"\bwithout\s*\(")


def parse_grouping(ctx: Fields, value: Any, path: FieldPath, sli: SLI | None) -> tuple[str, ...]:
    """``grouping: [label, ...]``: one SLO per value of these labels.

    Sloth has no grouped SLOs, so ``--sloth-compat`` refuses it. Queries we write (latency, timeslice) get
    ``by (...)``; the user's events/raw queries must keep the labels themselves, so each label has to appear in
    them in a ``by (...)`` (else every recording would lose the group and the SLO would silently be one SLO again).
    """
    if value is None:
        return ()
    if ctx.sloth_compat:
        ctx.err(path, "grouping is a slogen extension: Sloth has no grouped SLOs (drop --sloth-compat)")
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        ctx.err(path, "grouping must be a non-empty list of label names")
        return ()
    labels = tuple(value)
    for label in labels:
        if not LABEL_KEY_RE.match(label) or label.startswith("__"):
            ctx.err(path, f"invalid grouping label {label!r}")
        elif label in RESERVED_LABELS:
            ctx.err(path, f"grouping label {label!r} is set by the generator")
    if len(set(labels)) != len(labels):
        ctx.err(path, "grouping labels must be unique")
    if sli is None:
        return labels
    templates = event_templates(sli) or ()
    raw = ratio_template(sli) if isinstance(sli, RawSLI) else None
    written = [*templates, *([raw] if raw else [])] if isinstance(sli, EventsSLI | RawSLI) else []
    for query in written:
        if _WITHOUT_RE.search(query):  # `without (...)` keeps every other label: cannot tell, trust it
            continue
        kept = {name.strip() for clause in _BY_RE.findall(query) for name in clause.split(",")}
        missing = [label for label in labels if label not in kept]
        if missing:
            ctx.err(
                path,
                f"grouping by {', '.join(missing)}: the SLI query {query.strip()!r} does not keep that label; "
                f"aggregate with `sum by ({', '.join(labels)}) (...)`",
            )
            break
    return labels


def _parse_timeslice(ctx: Fields, value: Any, path: FieldPath) -> TimesliceSLI | None:
    ts = ctx.mapping(value, path, ["query", "bad_when", "missing_is_bad", "up_query"], required=True)
    before = len(ctx.errors)
    query = ctx.string(ts["query"], (*path, "query"), required=True)
    if query:
        if WINDOW_TEMPLATE_RE.search(query):
            ctx.err((*path, "query"), "a timeslice query is an instant gauge expression: drop {{.window}}")
        elif problem := _composition_problem(query):
            ctx.err((*path, "query"), f"invalid PromQL: {problem}")
    condition = ctx.string(ts["bad_when"], (*path, ctx.key("bad_when")), required=True)
    match = CONDITION_RE.match(condition) if condition else None
    if condition and not match:
        ctx.err(
            (*path, ctx.key("bad_when")),
            f"invalid condition {condition!r}: expected an operator and a number, e.g. '> 30'",
        )
    missing_is_bad = ctx.boolean(ts["missing_is_bad"], (*path, ctx.key("missing_is_bad")))
    up_query = ctx.string(ts["up_query"], (*path, ctx.key("up_query"))) or None
    if missing_is_bad and not up_query:
        ctx.err((*path, ctx.key("up_query")), 'required when missing_is_bad is true (e.g. up{job="api"})')
    if up_query and (problem := _composition_problem(up_query)):
        ctx.err((*path, ctx.key("up_query")), f"invalid PromQL: {problem}")
    if len(ctx.errors) > before or match is None:
        return None
    return TimesliceSLI(query, match.group(1), float(match.group(2)), missing_is_bad, up_query)


def _parse_slice_ratio(ctx: Fields, value: Any, path: FieldPath) -> SliceRatioSLI | None:
    """Each slice's error ratio, averaged over the window (what OpenSLO's ``RatioTimeslices`` reads into)."""
    sr = ctx.mapping(value, path, ["error_ratio_query", "slice_window"], required=True)
    query_path, window_path = (*path, ctx.key("error_ratio_query")), (*path, ctx.key("slice_window"))
    query = query_template(ctx, sr["error_ratio_query"], query_path, "sli slice ratio query")
    window = ctx.duration(sr["slice_window"], window_path)
    if window is None and sr["slice_window"] is None:
        ctx.err(window_path, "required: the length of one time slice (e.g. 1m)")
    return SliceRatioSLI(query, window) if query and window else None
