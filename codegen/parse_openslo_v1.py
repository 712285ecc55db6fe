"""OpenSLO ``openslo/v1``: every object of a run read, references resolved across files, each SLO objective one SLO.

What Prometheus rules cannot express is an error naming the object and field (a non-Prometheus data source,
calendar-aligned windows, composite objectives, ...); nothing is dropped without a word. The README's OpenSLO v1
table lists each field and what becomes of it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, Final

from codegen.durations import format_duration
from codegen.errors import SpecError
from codegen.fields import NAME_RE, NAME_RULE, Fields
from codegen.loader import Document, FieldPath
from codegen.model import SLI, SLO, Alerting, AlertOptions, NoDataAlert, Source, SpecDocument, WindowCatalog
from codegen.openslo_v1_objects import OPENSLO_V1_API, Objects, V1Object, collect
from codegen.parse_openslo_v1_alerts import AlertReader, Policy, fixed_duration, tiers_for
from codegen.parse_openslo_v1_sli import METHODS, Indicator, Method, SLIReader, check_datasource, lower
from codegen.parse_settings import ParseSettings, catalog_for

META_KEYS: Final = ["name", "displayName", "labels", "annotations"]
ALERT_SUFFIX: Final = "ErrorBudgetBurn"
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def alert_name(service: str, name: str) -> str:
    """``web`` + ``search-availability`` -> ``WebSearchAvailabilityErrorBudgetBurn`` (a valid alert name)."""
    words = "".join(w[:1].upper() + w[1:] for w in _WORD_SPLIT.split(f"{service}-{name}") if w)
    return (words if words[:1].isalpha() else f"SLO{words}") + ALERT_SUFFIX


def parse_openslo_v1(
    documents: Iterable[Document], settings: ParseSettings, errors: list[SpecError]
) -> dict[str, list[SpecDocument]]:
    """The run's OpenSLO v1 documents as spec documents, by file path (one per SLO object)."""
    objects = collect(documents, errors, settings)
    run = _Run(objects, errors, settings)
    out: dict[str, list[SpecDocument]] = {}
    for obj in objects.all():
        match obj.kind:
            case "SLO":
                doc = run.slo(obj)
                if doc is not None:
                    out.setdefault(obj.doc.path, []).append(doc)
            case "SLI":
                run.slis.read(obj)
            case "DataSource":
                check_datasource(obj, errors, settings)
            case "AlertPolicy":
                run.alerts.policy(obj)
            case "AlertCondition":
                run.alerts.condition(obj)
            case "AlertNotificationTarget":
                run.alerts.target(obj)
            case _:  # Service: a name SLOs may refer to, with a description
                ctx = obj.fields(errors, settings)
                top = ctx.mapping(obj.data, (), ["apiVersion", "kind", "metadata", "spec"])
                ctx.mapping(top["metadata"], ("metadata",), META_KEYS)
                ctx.mapping(top["spec"], ("spec",), ["description"])
    return out


class _Run:
    def __init__(self, objects: Objects, errors: list[SpecError], settings: ParseSettings) -> None:
        self.objects = objects
        self.errors = errors
        self.settings = settings
        self.slis = SLIReader(objects, errors, settings)
        self.alerts = AlertReader(objects, errors, settings)

    def slo(self, obj: V1Object) -> SpecDocument | None:
        ctx = obj.fields(self.errors, self.settings)
        before = len(ctx.errors)
        top = ctx.mapping(obj.data, (), ["apiVersion", "kind", "metadata", "spec"])
        meta = ctx.mapping(top["metadata"], ("metadata",), META_KEYS)
        labels = _labels(ctx, meta["labels"])
        spec = ctx.mapping(
            top["spec"],
            ("spec",),
            [
                "description",
                "service",
                "indicator",
                "indicatorRef",
                "timeWindow",
                "budgetingMethod",
                "objectives",
                "alertPolicies",
            ],
            required=True,
        )
        service = ctx.string(spec["service"], ("spec", "service"), required=True)
        if service and not NAME_RE.match(service):
            ctx.err(("spec", "service"), f"invalid SLO service: {NAME_RULE}")
        description = ctx.string(spec["description"], ("spec", "description"))
        method = spec["budgetingMethod"]
        if method not in METHODS:
            ctx.err(("spec", "budgetingMethod"), f"required: one of {', '.join(METHODS)} (got {method!r})")
        indicator = self._indicator(ctx, obj, spec)
        period = self._period(ctx, spec["timeWindow"])
        policies = self._policies(ctx, obj, spec["alertPolicies"])
        objectives = spec["objectives"]
        if not isinstance(objectives, list) or not objectives:
            ctx.err(("spec", "objectives"), "required: a list with at least one objective")
            return None
        if len(ctx.errors) > before or indicator is None or period is None or policies is None:
            return None
        windows, alerting = self._alerting(ctx, service, obj.name, policies, period)
        if windows is None:
            return None
        slos: list[SLO] = []
        for index, objective in enumerate(objectives):
            name = obj.name if len(objectives) == 1 else f"{obj.name}-{index}"
            slo = self._objective(ctx, objective, ("spec", "objectives", index), indicator, method, name)
            if slo is None:
                continue
            sli, target = slo
            slos.append(
                SLO(
                    service=service,
                    name=name,
                    objective=target,
                    description=description,
                    labels=labels,
                    sli=sli,
                    alerting=alerting if len(objectives) == 1 else _renamed(alerting, alert_name(service, name)),
                    windows=windows,
                    source=Source(obj.doc.path, obj.doc.line((*obj.path, "spec", "objectives", index))),
                    spec_kind=OPENSLO_V1_API,
                )
            )
        if len(slos) != len(objectives):
            return None
        return SpecDocument(Source(obj.doc.path, obj.doc.line(obj.path)), OPENSLO_V1_API, service, tuple(slos))

    def _indicator(self, ctx: Fields, obj: V1Object, spec: dict[str, Any]) -> Indicator | None:
        inline, ref = spec["indicator"], spec["indicatorRef"]
        if (inline is None) == (ref is None):
            ctx.err(("spec", "indicator"), "exactly one of indicator or indicatorRef is required")
            return None
        if ref is not None:
            found = self.objects.resolve(ctx, ("spec", "indicatorRef"), "SLI", ref)
            return self.slis.read(found) if found is not None else None
        if not isinstance(inline, dict):
            ctx.err(("spec", "indicator"), "must be an inline SLI (metadata and spec)")
            return None
        return self.slis.read(obj.inline("SLI", inline, ("spec", "indicator")))

    def _period(self, ctx: Fields, value: Any) -> int | None:
        path: FieldPath = ("spec", "timeWindow")
        if value is None:
            return self.settings.default_period
        if not isinstance(value, list) or len(value) != 1:
            ctx.err(path, "must be a list with exactly one time window")
            return None
        here = (*path, 0)
        window = ctx.mapping(value[0], here, ["duration", "isRolling", "calendar"], required=True)
        if window["calendar"] is not None or window["isRolling"] is False:
            ctx.err(
                (*here, "calendar" if window["calendar"] is not None else "isRolling"),
                "calendar-aligned time windows are not supported: Prometheus rules see only rolling ranges back "
                "from now, so a budget cannot reset at a calendar boundary",
            )
            return None
        if window["isRolling"] not in (None, True):
            ctx.err((*here, "isRolling"), "must be true or false")
            return None
        return fixed_duration(ctx, window["duration"], (*here, "duration"), required=True)

    def _policies(self, ctx: Fields, obj: V1Object, value: Any) -> list[Policy] | None:
        if value is None:
            return []
        path: FieldPath = ("spec", "alertPolicies")
        if not isinstance(value, list):
            ctx.err(path, "must be a list of inline AlertPolicy objects or alertPolicyRefs")
            return None
        out: list[Policy] = []
        ok = True
        for index, item in enumerate(value):
            here = (*path, index)
            found: V1Object | None
            if isinstance(item, dict) and set(item) == {"alertPolicyRef"}:
                found = self.objects.resolve(ctx, (*here, "alertPolicyRef"), "AlertPolicy", item["alertPolicyRef"])
            elif isinstance(item, dict) and item.get("kind") == "AlertPolicy":
                found = obj.inline("AlertPolicy", item, here)
            else:
                ctx.err(here, "must be {alertPolicyRef: <name>} or an inline object of kind AlertPolicy")
                found = None
            policy = self.alerts.policy(found) if found is not None else None
            if policy is None:
                ok = False
            else:
                out.append(policy)
        return out if ok else None

    def _alerting(
        self, ctx: Fields, service: str, name: str, policies: list[Policy], period: int
    ) -> tuple[WindowCatalog | None, Alerting]:
        """The SLO's tiers from its policies, or without breaching policies the default tiers of its period."""
        tiers = tiers_for(ctx, policies, period, self.errors, self.settings)
        alerting = Alerting(name=alert_name(service, name))
        if tiers is None:
            if not policies:
                return catalog_for(ctx, period, ("spec", "timeWindow"), self.settings), alerting
            # Policies that only alert on no data: no burn-rate tiers, default catalog for the SLI windows.
            windows = catalog_for(ctx, period, ("spec", "timeWindow"), self.settings)
            quiet = Alerting(
                name=alerting.name,
                page=AlertOptions(disabled=True),
                ticket=AlertOptions(disabled=True),
                no_data=NoDataAlert(disabled=not any(p.no_data for p in policies)),
            )
            return windows, quiet
        return tiers.windows, Alerting(name=alerting.name, page=tiers.page, ticket=tiers.ticket, no_data=tiers.no_data)

    def _objective(
        self,
        ctx: Fields,
        value: Any,
        path: FieldPath,
        indicator: Indicator,
        method: Method,
        name: str,
    ) -> tuple[SLI, float] | None:
        ctx.slo = f"SLO {name}"
        try:
            return self._read_objective(ctx, value, path, indicator, method)
        finally:
            ctx.slo = None

    def _read_objective(
        self, ctx: Fields, value: Any, path: FieldPath, indicator: Indicator, method: Method
    ) -> tuple[SLI, float] | None:
        fields = ctx.mapping(
            value,
            path,
            [
                "displayName",
                "op",
                "value",
                "target",
                "targetPercent",
                "timeSliceTarget",
                "timeSliceWindow",
                "indicator",
                "indicatorRef",
                "compositeWeight",
            ],
            required=True,
        )
        before = len(ctx.errors)
        for key in ("indicator", "indicatorRef", "compositeWeight"):
            if fields[key] is not None:
                ctx.err(
                    (*path, key),
                    "composite SLOs are not supported: a composite budget weighs several SLIs together, which "
                    "slogen's per-SLO burn-rate rules cannot express; write one SLO per indicator",
                )
        target, percent = fields["target"], fields["targetPercent"]
        objective = 0.0
        if (target is None) == (percent is None):
            ctx.err((*path, "target"), "exactly one of target (a ratio) or targetPercent is required")
        else:
            key, number, scale = ("target", target, 100.0) if target is not None else ("targetPercent", percent, 1.0)
            if isinstance(number, bool) or not isinstance(number, int | float):
                ctx.err((*path, key), "must be a number")
            else:
                objective = number * scale
                if math.isnan(objective) or not 0 < objective < 100:
                    ctx.err((*path, key), "must be above 0 and below 1 (target) or 100 (targetPercent)")
        slice_window: str | None = None
        if method in ("Timeslices", "RatioTimeslices"):
            raw = fields["timeSliceWindow"]
            if raw is None:
                ctx.err((*path, "timeSliceWindow"), f"required with budgetingMethod {method}")
            else:
                text = f"{raw}m" if isinstance(raw, int) and not isinstance(raw, bool) else str(raw)
                seconds = fixed_duration(ctx, text, (*path, "timeSliceWindow"), required=True)
                slice_window = format_duration(seconds) if seconds else None
        elif fields["timeSliceWindow"] is not None:
            ctx.err(
                (*path, "timeSliceWindow"), "timeSliceWindow goes with budgetingMethod Timeslices or RatioTimeslices"
            )
        if len(ctx.errors) > before or (method != "Occurrences" and slice_window is None):
            return None
        sli = lower(ctx, indicator, method, fields, path, slice_window)
        return (sli, objective) if sli is not None else None


def _renamed(alerting: Alerting, name: str) -> Alerting:
    return Alerting(name, alerting.labels, alerting.annotations, alerting.page, alerting.ticket, alerting.no_data)


def _labels(ctx: Fields, value: Any) -> tuple[tuple[str, str], ...]:
    """OpenSLO labels (a string or a list of strings per key) as Prometheus labels; a list joins with commas."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        ctx.err(("metadata", "labels"), "must be a mapping of label key to a string or a list of strings")
        return ()
    flat = {k: ",".join(str(v) for v in item) if isinstance(item, list) else item for k, item in value.items()}
    return ctx.labels(flat, ("metadata", "labels"))
