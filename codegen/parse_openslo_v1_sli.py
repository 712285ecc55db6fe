"""OpenSLO v1 ``SLI`` objects (``ratioMetric``, ``thresholdMetric``) with Prometheus metric sources, and their
lowering to our SLI types for a budgeting method.

A Prometheus query that holds ``{{.window}}`` is used as written. One that does not is read as the spec's
examples write it, an instant query: a counter (``counter: true``) becomes its increase over the window, a gauge
or a raw ratio its mean over the window (a subquery unless the query is a bare series selector).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from codegen.conventions import WINDOW_TEMPLATE_RE, render_window
from codegen.errors import SpecError
from codegen.fields import Fields
from codegen.lowering import number
from codegen.model import SLI, EventsSLI, RawSLI, SliceRatioSLI, TimesliceSLI
from codegen.openslo_v1_objects import Objects, V1Object
from codegen.parse_openslo import error_ratio_query
from codegen.parse_settings import ParseSettings
from codegen.promql import check_expression, check_template

PROMETHEUS: Final = "prometheus"  # DataSource/metricSource type, compared case-insensitively
QUERY_KEYS: Final = ("query", "promql")
OPS: Final = ("lt", "lte", "gt", "gte")
PROMQL_OP: Final = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
NEGATED_OP: Final = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<"}  # OpenSLO's op says good; ours says bad
Method = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
METHODS: Final = ("Occurrences", "Timeslices", "RatioTimeslices")
WINDOW: Final = "{{.window}}"
_SELECTOR_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")


@dataclass(frozen=True)
class Query:
    """A Prometheus query of a metric source, as written."""

    text: str
    counter: bool

    def windowed(self, ratio: bool = False) -> str:
        """A ``{{.window}}`` template: as written when it has one, else the counter's increase / gauge's mean,
        summed over series (a count) or, for a ``ratio``, averaged (a ratio does not add up)."""
        text = self.text.strip()
        if WINDOW_TEMPLATE_RE.search(text):
            return text
        fn = "increase" if self.counter and not ratio else "avg_over_time"
        rng = f"{text}[{WINDOW}]" if _bare_selector(text) else f"({text})[{WINDOW}:]"
        return f"{'avg' if ratio else 'sum'}({fn}({rng}))"


def _bare_selector(text: str) -> bool:
    name, _, rest = text.partition("{")
    return bool(name) and set(name) <= _SELECTOR_CHARS and (not rest or (rest.endswith("}") and "}" not in rest[:-1]))


@dataclass(frozen=True)
class RatioIndicator:
    """``good``/``bad`` over ``total``, or a ``raw`` ratio of ``raw_type``."""

    good: Query | None = None
    bad: Query | None = None
    total: Query | None = None
    raw: Query | None = None
    raw_type: str = ""

    def good_ratio(self) -> str:
        """The success ratio as a ``{{.window}}`` template."""
        if self.raw is not None:
            raw = self.raw.windowed(ratio=True)
            return raw if self.raw_type == "success" else f"1 - ({raw})"
        assert self.total is not None
        if self.good is not None:
            return f"({self.good.windowed()}) / ({self.total.windowed()})"
        assert self.bad is not None
        return f"1 - ({self.bad.windowed()}) / ({self.total.windowed()})"

    def error_ratio(self) -> str:
        if self.raw is not None:
            raw = self.raw.windowed(ratio=True)
            return raw if self.raw_type == "failure" else f"1 - ({raw})"
        assert self.total is not None
        if self.good is not None:
            return f"1 - ({self.good.windowed()}) / ({self.total.windowed()})"
        assert self.bad is not None
        return f"({self.bad.windowed()}) / ({self.total.windowed()})"


@dataclass(frozen=True)
class ThresholdIndicator:
    """A gauge compared with each objective's ``op``/``value``."""

    query: Query


Indicator = RatioIndicator | ThresholdIndicator


class SLIReader:
    """Reads SLI objects once each (an SLI shared by several SLOs reports its errors once)."""

    def __init__(self, objects: Objects, errors: list[SpecError], settings: ParseSettings) -> None:
        self.objects = objects
        self.errors = errors
        self.settings = settings
        self._done: dict[int, Indicator | None] = {}

    def read(self, obj: V1Object) -> Indicator | None:
        key = id(obj.data)
        if key not in self._done:
            self._done[key] = self._read(obj)
        return self._done[key]

    def _read(self, obj: V1Object) -> Indicator | None:
        ctx = obj.fields(self.errors, self.settings)
        top = ctx.mapping(obj.data, (), ["apiVersion", "kind", "metadata", "spec"])
        ctx.mapping(top["metadata"], ("metadata",), ["name", "displayName", "labels", "annotations"])
        spec = ctx.mapping(top["spec"], ("spec",), ["description", "ratioMetric", "thresholdMetric"], required=True)
        present = [k for k in ("ratioMetric", "thresholdMetric") if spec[k] is not None]
        if len(present) != 1:
            ctx.err(("spec",), "exactly one of ratioMetric or thresholdMetric is required")
            return None
        before = len(ctx.errors)
        if present[0] == "thresholdMetric":
            tm = ctx.mapping(spec["thresholdMetric"], ("spec", "thresholdMetric"), ["metricSource"], required=True)
            query = self._source(ctx, tm["metricSource"], ("spec", "thresholdMetric", "metricSource"), False)
            return ThresholdIndicator(query) if query is not None and len(ctx.errors) == before else None
        path = ("spec", "ratioMetric")
        keys = ["counter", "good", "bad", "total", "rawType", "raw"]
        rm = ctx.mapping(spec["ratioMetric"], path, keys, required=True)
        counter = ctx.boolean(rm["counter"], (*path, "counter"))
        queries: dict[str, Query | None] = {}
        for part in ("good", "bad", "total", "raw"):
            if rm[part] is None:
                queries[part] = None
                continue
            metric = ctx.mapping(rm[part], (*path, part), ["metricSource"], required=True)
            queries[part] = self._source(ctx, metric["metricSource"], (*path, part, "metricSource"), counter)
        given = sorted(p for p in ("good", "bad", "total", "raw") if rm[p] is not None)
        if given == ["raw"]:
            if rm["rawType"] not in ("success", "failure"):
                ctx.err((*path, "rawType"), f"rawType must be success or failure with raw (got {rm['rawType']!r})")
        elif given in (["good", "total"], ["bad", "total"]):
            if rm["rawType"] is not None:
                ctx.err((*path, "rawType"), "rawType goes with raw only")
        else:
            ctx.err(path, f"ratioMetric needs good and total, bad and total, or raw (got {', '.join(given) or 'none'})")
        if len(ctx.errors) > before:
            return None
        return RatioIndicator(queries["good"], queries["bad"], queries["total"], queries["raw"], rm["rawType"] or "")

    def _source(self, ctx: Fields, value: Any, path: tuple[str, ...], counter: bool) -> Query | None:
        ms = ctx.mapping(value, path, ["metricSourceRef", "type", "spec"], required=True)
        kind = ms["type"]
        if ms["metricSourceRef"] is not None:
            source = self.objects.resolve(ctx, (*path, "metricSourceRef"), "DataSource", ms["metricSourceRef"])
            source_type = _datasource_type(source) if source is not None else None
            if source is None and (kind is None or str(kind).lower() == PROMETHEUS):
                return None  # the missing reference is the error; an inline type is still checked below
            if kind is None:
                kind = source_type
            elif source is not None and source_type is not None and str(kind).lower() != source_type.lower():
                ctx.err((*path, "type"), f"type {kind!r} differs from DataSource {source.name}'s type {source_type!r}")
        if kind is None:
            ctx.err((*path, "type"), "required without a metricSourceRef (the data source's type, e.g. Prometheus)")
            return None
        if str(kind).lower() != PROMETHEUS:
            ctx.err(
                (*path, "type"),
                f"data source type {kind!r} is not supported: slogen writes Prometheus rules, which read Prometheus "
                "metrics only",
            )
            return None
        spec = ms["spec"]
        if not isinstance(spec, dict):
            ctx.err((*path, "spec"), "required: a mapping with the PromQL in query (or promql)")
            return None
        for key in spec:
            if key not in QUERY_KEYS:
                ctx.err(
                    (*path, "spec", key),
                    f"unsupported Prometheus source field {key!r}: slogen reads {' or '.join(QUERY_KEYS)} only, "
                    "and a field it cannot honour is refused rather than dropped",
                )
        keys = [k for k in QUERY_KEYS if k in spec]
        if len(keys) != 1:
            ctx.err((*path, "spec"), "exactly one of query or promql is required")
            return None
        text = ctx.string(spec[keys[0]], (*path, "spec", keys[0]), required=True).strip()
        if not text:
            return None
        problem = check_template(text) if WINDOW_TEMPLATE_RE.search(text) else check_expression(text)
        if problem:
            ctx.err((*path, "spec", keys[0]), f"invalid PromQL: {problem}")
            return None
        return Query(text, counter)


def _datasource_type(source: V1Object) -> str | None:
    ds = source.data.get("spec")
    kind = ds.get("type") if isinstance(ds, dict) else None
    return kind if isinstance(kind, str) and kind else None


def check_datasource(obj: V1Object, errors: list[SpecError], settings: ParseSettings) -> None:
    """A DataSource is refused unless it is Prometheus (its connection details are Prometheus' own business)."""
    ctx = obj.fields(errors, settings)
    top = ctx.mapping(obj.data, (), ["apiVersion", "kind", "metadata", "spec"])
    ctx.mapping(top["metadata"], ("metadata",), ["name", "displayName", "labels", "annotations"])
    spec = ctx.mapping(top["spec"], ("spec",), ["description", "type", "connectionDetails"], required=True)
    kind = spec["type"]
    if not isinstance(kind, str) or kind.lower() != PROMETHEUS:
        ctx.err(
            ("spec", "type"),
            f"data source type {kind!r} is not supported: slogen writes Prometheus rules, which read Prometheus "
            "metrics only",
        )


def lower(
    ctx: Fields,
    indicator: Indicator,
    method: Method,
    objective: dict[str, Any],
    path: tuple[str | int, ...],
    slice_window: str | None,
) -> SLI | None:
    """Our SLI for ``indicator`` under ``method``; ``objective`` holds the objective's op/value/timeSliceTarget."""
    op, value, slice_target = objective["op"], objective["value"], objective["timeSliceTarget"]
    if isinstance(indicator, ThresholdIndicator):
        if op not in OPS:
            ctx.err((*path, "op"), f"op is required with a thresholdMetric: one of {', '.join(OPS)} (got {op!r})")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            ctx.err((*path, "value"), "value is required with a thresholdMetric (a number)")
            return None
    else:
        if value is not None:
            ctx.err((*path, "value"), "value compares a thresholdMetric; a ratioMetric has no value to compare")
            return None
        if op not in (None, "gt", "gte"):
            ctx.err((*path, "op"), f"op {op!r} on a ratioMetric: a ratio is good when high (gt or gte)")
            return None
    if method == "Timeslices":
        if isinstance(slice_target, bool) or not isinstance(slice_target, int | float) or not 0 < slice_target <= 1:
            ctx.err((*path, "timeSliceTarget"), "required with Timeslices: a number in (0, 1]")
            return None
    elif slice_target is not None:
        ctx.err((*path, "timeSliceTarget"), f"timeSliceTarget goes with budgetingMethod Timeslices (not {method})")
        return None
    match indicator:
        case ThresholdIndicator():
            query = indicator.query.text
            if WINDOW_TEMPLATE_RE.search(query):
                ctx.err(path, "a thresholdMetric query is an instant gauge: it cannot hold {{.window}}")
                return None
            good = f"({query}) {PROMQL_OP[op]} bool {number(float(value))}"
            if method == "Occurrences":
                return TimesliceSLI(query, NEGATED_OP[op], float(value))
            assert slice_window is not None
            if method == "Timeslices":
                return TimesliceSLI(f"avg_over_time(({good})[{slice_window}:])", "<", float(slice_target))
            return SliceRatioSLI(f"max(1 - avg_over_time(({good})[{WINDOW}:]))", slice_window)
        case RatioIndicator():
            if method == "Occurrences":
                if indicator.bad is not None and indicator.total is not None:
                    return EventsSLI(indicator.bad.windowed(), indicator.total.windowed())
                if indicator.good is not None and indicator.total is not None:
                    return RawSLI(error_ratio_query(indicator.good.windowed(), indicator.total.windowed()))
                return RawSLI(indicator.error_ratio())
            assert slice_window is not None
            if method == "Timeslices":
                slice_ratio = render_window(indicator.good_ratio(), slice_window)
                return TimesliceSLI(f"({slice_ratio})", "<", float(slice_target))
            return SliceRatioSLI(indicator.error_ratio(), slice_window)
