"""OpenSLO v1 ``AlertPolicy``/``AlertCondition``/``AlertNotificationTarget`` to our page and ticket tiers.

A ``burnrate`` condition is one multi-window tier: its ``lookbackWindow`` is the long window, a twelfth of it
(the SRE workbook's ratio, at least a minute) the short one, its ``threshold`` the burn factor, its ``alertAfter``
the alert's ``for``. Severity ``page`` or ``critical`` makes a page tier, any other a ticket tier; each severity has
two tiers (one condition fills both). The notification targets' names go on the alert as a label, for
Alertmanager's routes, as the spec suggests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from codegen.conventions import LABEL_NOTIFICATION_TARGET
from codegen.durations import DurationError, format_duration, parse_duration
from codegen.errors import SpecError
from codegen.fields import Fields
from codegen.loader import FieldPath
from codegen.model import AlertOptions, AlertTier, NoDataAlert, Severity, TierName, WindowCatalog
from codegen.openslo_v1_objects import Objects, V1Object
from codegen.parse_settings import ParseSettings

PAGE_SEVERITIES: Final = ("page", "critical")
SHORT_WINDOW_DIVISOR: Final = 12  # the SRE workbook's short window: 5m for 1h, 30m for 6h, 2h for 1d
MINUTE: Final = 60
_ORDER: Final[tuple[Severity, Severity]] = ("page", "ticket")
_TIER_NAMES: Final[dict[Severity, tuple[TierName, TierName]]] = {
    "page": ("page-quick", "page-slow"),
    "ticket": ("ticket-quick", "ticket-slow"),
}


@dataclass(frozen=True)
class Condition:
    """A read ``burnrate`` condition, where it was written (for errors that depend on the SLO's period)."""

    name: str
    severity: Severity
    threshold: float
    lookback: int
    alert_after: str | None
    obj: V1Object


@dataclass(frozen=True)
class Policy:
    name: str
    breaching: bool
    no_data: bool
    conditions: tuple[Condition, ...]
    targets: tuple[str, ...]


class AlertReader:
    """Reads each policy, condition and target object once."""

    def __init__(self, objects: Objects, errors: list[SpecError], settings: ParseSettings) -> None:
        self.objects = objects
        self.errors = errors
        self.settings = settings
        self._conditions: dict[int, Condition | None] = {}
        self._policies: dict[int, Policy | None] = {}
        self._targets: dict[int, str | None] = {}

    def policy(self, obj: V1Object) -> Policy | None:
        key = id(obj.data)
        if key not in self._policies:
            self._policies[key] = self._policy(obj)
        return self._policies[key]

    def condition(self, obj: V1Object) -> Condition | None:
        key = id(obj.data)
        if key not in self._conditions:
            self._conditions[key] = self._condition(obj)
        return self._conditions[key]

    def target(self, obj: V1Object) -> str | None:
        key = id(obj.data)
        if key not in self._targets:
            ctx = obj.fields(self.errors, self.settings)
            top = ctx.mapping(obj.data, (), ["apiVersion", "kind", "metadata", "spec"])
            ctx.mapping(top["metadata"], ("metadata",), ["name", "displayName", "labels", "annotations"])
            spec = ctx.mapping(top["spec"], ("spec",), ["description", "target"], required=True)
            target = ctx.string(spec["target"], ("spec", "target"), required=True)
            self._targets[key] = obj.name if target else None
        return self._targets[key]

    def _policy(self, obj: V1Object) -> Policy | None:
        ctx = obj.fields(self.errors, self.settings)
        before = len(ctx.errors)
        top = ctx.mapping(obj.data, (), ["apiVersion", "kind", "metadata", "spec"])
        ctx.mapping(top["metadata"], ("metadata",), ["name", "displayName", "labels", "annotations"])
        spec = ctx.mapping(
            top["spec"],
            ("spec",),
            [
                "description",
                "alertWhenNoData",
                "alertWhenResolved",
                "alertWhenBreaching",
                "conditions",
                "notificationTargets",
            ],
            required=True,
        )
        if ctx.boolean(spec["alertWhenResolved"], ("spec", "alertWhenResolved")):
            ctx.err(
                ("spec", "alertWhenResolved"),
                "not supported: whether a resolved alert notifies is Alertmanager's send_resolved (per receiver), "
                "not something a Prometheus rule can say",
            )
        conditions = self._items(ctx, obj, spec["conditions"], ("spec", "conditions"), "AlertCondition", "conditionRef")
        if isinstance(spec["conditions"], list) and len(spec["conditions"]) != 1:
            ctx.err(("spec", "conditions"), "an AlertPolicy has exactly one condition (the spec's rule)")
        targets = self._items(
            ctx,
            obj,
            spec["notificationTargets"],
            ("spec", "notificationTargets"),
            "AlertNotificationTarget",
            "targetRef",
        )
        read_conditions = [c for o in conditions if (c := self.condition(o)) is not None]
        read_targets = [t for o in targets if (t := self.target(o)) is not None]
        if len(ctx.errors) > before or len(read_conditions) != len(conditions) or len(read_targets) != len(targets):
            return None
        return Policy(
            obj.name,
            ctx.boolean(spec["alertWhenBreaching"], ("spec", "alertWhenBreaching")),
            ctx.boolean(spec["alertWhenNoData"], ("spec", "alertWhenNoData")),
            tuple(read_conditions),
            tuple(sorted(set(read_targets))),
        )

    def _items(
        self, ctx: Fields, obj: V1Object, value: Any, path: FieldPath, kind: str, ref_key: str
    ) -> list[V1Object]:
        """Inline objects and ``*Ref`` references of a list field, resolved."""
        if not isinstance(value, list) or not value:
            ctx.err(path, f"required: a list of inline {kind} objects or {ref_key}s")
            return []
        out: list[V1Object] = []
        for index, item in enumerate(value):
            here = (*path, index)
            if isinstance(item, dict) and set(item) == {ref_key}:
                found = self.objects.resolve(ctx, (*here, ref_key), kind, item[ref_key])
                if found is not None:
                    out.append(found)
            elif isinstance(item, dict) and item.get("kind") == kind:
                out.append(obj.inline(kind, item, here))
            else:
                ctx.err(here, f"must be {{{ref_key}: <name>}} or an inline object of kind {kind}")
        return out

    def _condition(self, obj: V1Object) -> Condition | None:
        ctx = obj.fields(self.errors, self.settings)
        before = len(ctx.errors)
        top = ctx.mapping(obj.data, (), ["apiVersion", "kind", "metadata", "spec"])
        ctx.mapping(top["metadata"], ("metadata",), ["name", "displayName", "labels", "annotations"])
        spec = ctx.mapping(top["spec"], ("spec",), ["description", "severity", "condition"], required=True)
        severity = ctx.string(spec["severity"], ("spec", "severity"), required=True)
        path = ("spec", "condition")
        cond = ctx.mapping(
            spec["condition"], path, ["kind", "op", "threshold", "lookbackWindow", "alertAfter"], required=True
        )
        if cond["kind"] not in (None, "burnrate"):
            ctx.err((*path, "kind"), f"condition kind {cond['kind']!r} is not supported: OpenSLO v1 defines burnrate")
        op = cond["op"]
        if op in ("lt", "lte"):
            ctx.err(
                (*path, "op"),
                f"op {op!r} would alert while the budget burns *slower* than the threshold; a burn-rate alert fires "
                "above it (gt or gte)",
            )
        elif op not in ("gt", "gte"):
            ctx.err((*path, "op"), f"op is required: gt or gte (got {op!r})")
        threshold = cond["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not threshold > 0:
            ctx.err((*path, "threshold"), "threshold is required: a burn rate above 0 (e.g. 14.4)")
        lookback = fixed_duration(ctx, cond["lookbackWindow"], (*path, "lookbackWindow"), required=True)
        if lookback is not None and lookback < 2 * MINUTE:
            ctx.err((*path, "lookbackWindow"), "must be at least 2m (the short window is a twelfth of it, >= 1m)")
        after = fixed_duration(ctx, cond["alertAfter"], (*path, "alertAfter"), required=False)
        if len(ctx.errors) > before or lookback is None:
            return None
        sev: Severity = "page" if severity.lower() in PAGE_SEVERITIES else "ticket"
        return Condition(obj.name, sev, float(threshold), lookback, format_duration(after) if after else None, obj)


def fixed_duration(ctx: Fields, value: Any, path: FieldPath, required: bool) -> int | None:
    """A duration-shorthand of fixed length (m, h, d, w); M, Q and Y have none in Prometheus."""
    if value is None:
        if required:
            ctx.err(path, "required (a duration such as 1h)")
        return None
    text = str(value)
    if text[-1:] in ("M", "Q", "Y"):
        ctx.err(path, f"{text!r}: months, quarters and years have no fixed length in Prometheus; use days (e.g. 30d)")
        return None
    if text in ("0m", "0s", "0h"):
        return 0
    try:
        return parse_duration(text)
    except DurationError as exc:
        ctx.err(path, str(exc))
        return None


@dataclass(frozen=True)
class Tiers:
    """What a set of policies makes of an SLO's alerts."""

    windows: WindowCatalog
    page: AlertOptions
    ticket: AlertOptions
    no_data: NoDataAlert


def tiers_for(
    slo_ctx: Fields, policies: list[Policy], period: int, errors: list[SpecError], settings: ParseSettings
) -> Tiers | None:
    """The window catalog and page/ticket options of ``policies`` for an SLO ``period``; None when no policy
    alerts on breaching (then the SLO keeps the default catalog of its period)."""
    by_severity: dict[Severity, list[Condition]] = {"page": [], "ticket": []}
    targets: dict[Severity, set[str]] = {"page": set(), "ticket": set()}
    for policy in policies:
        if not policy.breaching:
            continue
        for condition in policy.conditions:
            by_severity[condition.severity].append(condition)
            targets[condition.severity].update(policy.targets)
    if not by_severity["page"] and not by_severity["ticket"]:
        return None
    tiers: dict[Severity, tuple[AlertTier, AlertTier]] = {}
    options: dict[Severity, AlertOptions] = {}
    ok = True
    for severity in _ORDER:
        conditions = sorted(by_severity[severity], key=lambda c: -c.threshold)
        if len(conditions) > 2:
            listed = ", ".join(c.name for c in conditions)
            slo_ctx.err(
                ("spec", "alertPolicies"),
                f"{len(conditions)} {severity} conditions ({listed}): slogen's alerts have two tiers per severity",
            )
            ok = False
            continue
        made = [t for c in conditions if (t := _tier(c, period, errors, settings)) is not None]
        if len(made) != len(conditions):
            ok = False
            continue
        afters = {c.alert_after for c in conditions}
        if len(afters) > 1:
            slo_ctx.err(
                ("spec", "alertPolicies"),
                f"the {severity} conditions wait different alertAfter ({', '.join(sorted(str(a) for a in afters))}): "
                "both tiers of a severity are one alert with one 'for'",
            )
            ok = False
            continue
        if made:
            quick, slow = made[0], made[-1]
            quick_name, slow_name = _TIER_NAMES[severity]
            tiers[severity] = (_renamed(quick, quick_name), _renamed(slow, slow_name))
            labels = ((LABEL_NOTIFICATION_TARGET, ",".join(sorted(targets[severity]))),) if targets[severity] else ()
            options[severity] = AlertOptions(labels=labels, for_=next(iter(afters)))
    if not ok:
        return None
    for severity, other in zip(_ORDER, reversed(_ORDER), strict=True):
        if severity not in tiers:  # the catalog needs all four tiers: borrow the other severity's, disabled
            quick, slow = tiers[other]
            quick_name, slow_name = _TIER_NAMES[severity]
            tiers[severity] = (_renamed(quick, quick_name, severity), _renamed(slow, slow_name, severity))
            options[severity] = AlertOptions(disabled=True)
    catalog = WindowCatalog(period, *tiers["page"], *tiers["ticket"])
    no_data = NoDataAlert(disabled=not any(p.no_data for p in policies))
    return Tiers(catalog, options["page"], options["ticket"], no_data)


def _renamed(tier: AlertTier, name: TierName, severity: Severity | None = None) -> AlertTier:
    return AlertTier(
        name, severity or tier.severity, tier.budget_percent, tier.short_window, tier.long_window, tier.period
    )


def _tier(condition: Condition, period: int, errors: list[SpecError], settings: ParseSettings) -> AlertTier | None:
    """Budget percent chosen so the tier's burn factor is the condition's threshold over its lookback window."""
    ctx = condition.obj.fields(errors, settings)
    percent = condition.threshold * condition.lookback * 100 / period
    if percent > 100:
        ctx.err(
            ("spec", "condition", "threshold"),
            f"burn rate {condition.threshold:g} over {format_duration(condition.lookback)} would spend more than the "
            f"whole error budget of the SLO's {format_duration(period)} period (at most "
            f"{period / condition.lookback:g}x)",
        )
        return None
    short = max(MINUTE, condition.lookback // SHORT_WINDOW_DIVISOR // MINUTE * MINUTE)
    return AlertTier("page-quick", condition.severity, percent, short, condition.lookback, period)
