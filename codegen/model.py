"""The one SLO model every stage reads. Frozen data only: parsing builds it once, nothing changes it.

A leaf: it imports only other leaves (names, durations, the dashboard model). Turning an SLI into PromQL is
``lowering``'s job, turning an SLO into rules is the plugin chain's (``compiler``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from codegen.conventions import slo_id
from codegen.dashboard_model import DashboardSpec
from codegen.durations import format_duration

SpecKind = Literal["prometheus/v1", "sloth.slok.dev/v1", "openslo/v1alpha", "openslo/v1", "pyrra.dev/v1alpha1"]
Severity = Literal["page", "ticket"]
TierName = Literal["page-quick", "page-slow", "ticket-quick", "ticket-slow"]


@dataclass(frozen=True)
class Source:
    """Where a spec element came from, for error messages and generated headers."""

    path: str
    line: int | None = None


@dataclass(frozen=True)
class EventsSLI:
    """Sloth's events SLI: error events over total events, both ``{{.window}}`` templates."""

    error_query: str
    total_query: str
    kind: Literal["events"] = "events"


@dataclass(frozen=True)
class RawSLI:
    """Sloth's raw SLI: a ready error-ratio template."""

    error_ratio_query: str
    kind: Literal["raw"] = "raw"


@dataclass(frozen=True)
class LatencySLI:
    """Extension: bad events are requests slower than ``threshold`` seconds, read off a classic histogram."""

    histogram: str
    threshold: float
    matchers: str = ""
    buckets: tuple[float, ...] | None = None
    kind: Literal["latency"] = "latency"


@dataclass(frozen=True)
class TimesliceSLI:
    """Extension: bad *time* is when a condition on a gauge holds (optionally: or the target is not scraped).

    The 0/1 indicator is recorded once per evaluation and every window averages that series, so a 3d window
    reads stored samples instead of re-evaluating a subquery thousands of times.
    """

    query: str
    operator: str
    threshold: float
    missing_is_bad: bool = False
    up_query: str | None = None
    kind: Literal["timeslice"] = "timeslice"


@dataclass(frozen=True)
class SliceRatioSLI:
    """Extension: the error ratio of each time slice, averaged over the window (OpenSLO's ``RatioTimeslices``).

    ``error_ratio_query`` is a ``{{.window}}`` template rendered once with ``slice_window`` and recorded per
    evaluation, so each slice counts the same however much traffic it had (unlike a ratio of event counts).
    """

    error_ratio_query: str
    slice_window: str
    kind: Literal["slice_ratio"] = "slice_ratio"


@dataclass(frozen=True)
class NativeLatencySLI:
    """Extension (Pyrra's ``latencyNative``): bad events are requests slower than ``threshold`` seconds, read off a
    Prometheus native histogram with ``histogram_fraction`` (no buckets to choose, any threshold is exact)."""

    histogram: str
    threshold: float
    matchers: str = ""
    kind: Literal["native_latency"] = "native_latency"


SLI = EventsSLI | RawSLI | LatencySLI | NativeLatencySLI | TimesliceSLI | SliceRatioSLI


@dataclass(frozen=True)
class PluginRef:
    """One SLO plugin as declared in a spec (``slo_plugins``/``plugins``), by ``-s`` or as a default.

    ``config`` is free-form JSON-like data (dicts, lists, strings, numbers, booleans, None) for the factory.
    """

    id: str
    config: Any = None
    priority: int = 0
    source: Source | None = field(default=None, compare=False)  # where it was declared (None: CLI or default)


@dataclass(frozen=True)
class PluginChainSpec:
    """A declaration level's plugins (spec, SLO or CLI); ``override_previous`` drops what earlier levels declared."""

    plugins: tuple[PluginRef, ...] = ()
    override_previous: bool = False


NO_PLUGINS = PluginChainSpec()


@dataclass(frozen=True)
class AlertTier:
    """One multi-window tier of the SRE workbook: fires when both windows burn faster than ``burn_factor``."""

    name: TierName
    severity: Severity
    budget_percent: float
    short_window: int
    long_window: int
    period: int
    factor: float | None = None  # a burn factor given as such (Pyrra's 14/7/2/1) instead of a budget share

    @property
    def burn_factor(self) -> float:
        """Sloth's exact float order: budget% x period hours / 100 / long-window hours (or the given factor)."""
        if self.factor is not None:
            return self.factor
        return self.budget_percent * (self.period / 3600) / 100 / (self.long_window / 3600)

    @property
    def short(self) -> str:
        return format_duration(self.short_window)

    @property
    def long(self) -> str:
        return format_duration(self.long_window)


@dataclass(frozen=True)
class WindowCatalog:
    """A Sloth ``AlertWindows`` spec: the four tiers for one SLO period."""

    period: int
    page_quick: AlertTier
    page_slow: AlertTier
    ticket_quick: AlertTier
    ticket_slow: AlertTier

    @property
    def tiers(self) -> tuple[AlertTier, AlertTier, AlertTier, AlertTier]:
        return (self.page_quick, self.page_slow, self.ticket_quick, self.ticket_slow)

    @property
    def base_window(self) -> int:
        """The window the period SLI and the current burn rate are built on: Sloth takes the page-quick short
        window (the smallest one in the built-in catalogs, not necessarily in a custom one)."""
        return self.page_quick.short_window

    def windows(self) -> list[int]:
        """Unique alert windows ascending, as Sloth orders the SLI recordings."""
        return sorted({w for t in self.tiers for w in (t.short_window, t.long_window)})


@dataclass(frozen=True)
class AlertOptions:
    """Page or ticket alert settings (Sloth) plus our optional ``for``."""

    disabled: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    for_: str | None = None


@dataclass(frozen=True)
class NoDataAlert:
    """Extension: fires when the SLI's metrics are absent, so a silent exporter cannot look like a perfect SLO."""

    disabled: bool = False
    for_: str = "10m"
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Alerting:
    name: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    page: AlertOptions = AlertOptions()
    ticket: AlertOptions = AlertOptions()
    no_data: NoDataAlert = NoDataAlert()

    @property
    def enabled(self) -> bool:
        return not (self.page.disabled and self.ticket.disabled)


@dataclass(frozen=True)
class SLO:
    """One SLO after validation; ``labels`` are spec labels merged with SLO labels (SLO wins)."""

    service: str
    name: str
    objective: float
    description: str
    labels: tuple[tuple[str, str], ...]
    sli: SLI
    alerting: Alerting
    windows: WindowCatalog
    source: Source
    spec_kind: SpecKind = "prometheus/v1"
    # Grouped SLO: one SLO per value of these labels (per endpoint, per tenant). Every recording keeps them and
    # the alerts fire per group; empty for an ordinary SLO.
    grouping: tuple[str, ...] = ()

    spec_plugins: PluginChainSpec = field(default_factory=lambda: NO_PLUGINS)  # the spec's ``slo_plugins``
    plugins: PluginChainSpec = field(default_factory=lambda: NO_PLUGINS)  # this SLO's ``plugins``

    @property
    def id(self) -> str:
        return slo_id(self.service, self.name)

    @property
    def period(self) -> int:
        return self.windows.period

    @property
    def objective_ratio(self) -> float:
        return self.objective / 100

    @property
    def error_budget_ratio(self) -> float:
        """Sloth's float: ``(100 - objective) / 100`` (so 99.9 gives 0.0009999999999999432)."""
        return (100 - self.objective) / 100


@dataclass(frozen=True)
class ThresholdAlert:
    """Extension: a plain threshold alert (``HighLatency`` and friends) kept beside the SLOs in ``slo/``."""

    name: str
    expr: str
    severity: str
    for_: str | None
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    source: Source


@dataclass(frozen=True)
class K8sMeta:
    name: str
    namespace: str | None
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SpecDocument:
    """One YAML document of one spec file."""

    source: Source
    kind: SpecKind
    service: str
    slos: tuple[SLO, ...]
    threshold_alerts: tuple[ThresholdAlert, ...] = ()
    k8s: K8sMeta | None = None


@dataclass(frozen=True)
class SpecFile:
    """All documents of one input file; ``relative`` is its path below the input root, mirrored on output."""

    path: str
    relative: str
    documents: tuple[SpecDocument, ...]
    dashboards: tuple[DashboardSpec, ...] = ()


@dataclass(frozen=True)
class CompileOptions:
    """Run-wide switches, mostly Sloth's CLI flags."""

    extra_labels: tuple[tuple[str, str], ...] = ()
    sloth_compat: bool = False
    disable_alerts: bool = False
    disable_recordings: bool = False
    disable_default_plugins: bool = False  # Sloth's --disable-default-slo-plugins
    slo_plugins: tuple[PluginRef, ...] = ()  # Sloth's -s/--slo-plugins: run-wide plugins before spec-level ones
    runbook_base_url: str = "https://github.com/volatility-slo/volatility-slo/blob/main/docs/runbook.md"


@dataclass(frozen=True)
class SpecSet:
    """Everything a run compiles: the renderers' single input."""

    files: tuple[SpecFile, ...]
    options: CompileOptions = field(default_factory=CompileOptions)

    @property
    def slos(self) -> tuple[SLO, ...]:
        return tuple(slo for f in self.files for d in f.documents for slo in d.slos)

    @property
    def threshold_alerts(self) -> tuple[ThresholdAlert, ...]:
        return tuple(a for f in self.files for d in f.documents for a in d.threshold_alerts)

    @property
    def dashboards(self) -> tuple[DashboardSpec, ...]:
        return tuple(d for f in self.files for d in f.dashboards)
