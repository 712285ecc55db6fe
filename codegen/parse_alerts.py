"""Alert validation: Sloth's page/ticket alerting block, our ``for`` and no-data extensions, threshold alerts."""

from __future__ import annotations

from typing import Any

from codegen.durations import format_duration, parse_duration
from codegen.fields import ALERT_NAME_RE, SEVERITIES, Fields
from codegen.gotemplate import check_template
from codegen.loader import FieldPath
from codegen.model import Alerting, AlertOptions, NoDataAlert, Source, ThresholdAlert
from codegen.promql import check_expression

# ---------------------------------------------------------------------------------------------------------------
# Alerts


# The generated promtool tests step through an SLO alert's ``for`` one minute at a time (3d took 2.5 minutes of
# promtool); burn-rate alerts wait minutes, not days, so longer is refused rather than left unproven.
MAX_ALERT_FOR = parse_duration("6h")


# What an absent page_alert/ticket_alert/no_data_alert block reads as (every field unset), made once: most SLOs
# leave them out, and reading an empty block field by field was a tenth of the validation.
_UNSET_OPTIONS = AlertOptions()
_UNSET_NO_DATA = NoDataAlert()


def _alert_for(ctx: Fields, value: Any, path: FieldPath) -> str | None:
    text = ctx.duration(value, path)
    if text is not None and parse_duration(text) > MAX_ALERT_FOR:
        ctx.err(path, f"for: {text} is longer than {format_duration(MAX_ALERT_FOR)}, the longest slogen proves")
        return None
    return text


def _templated(ctx: Fields, value: Any, path: FieldPath, what: str = "label") -> tuple[tuple[str, str], ...]:
    """Alert labels and annotations: Prometheus parses each value as a Go template when it loads the rules."""
    pairs = ctx.labels(value, path, what)
    for key, text in pairs:
        problem = check_template(text)
        if problem:
            ctx.err((*path, key), problem)
    return pairs


def parse_alerting(ctx: Fields, value: Any, path: FieldPath) -> Alerting:
    al = ctx.mapping(value, path, ["name", "labels", "annotations", "page_alert", "ticket_alert", "no_data_alert"])
    name = ctx.string(al["name"], (*path, "name")) or None
    if name and not ALERT_NAME_RE.match(name):
        message = f"invalid alert name {name!r}: must match {ALERT_NAME_RE.pattern}"
        if ctx.sloth_compat:  # Sloth writes it anyway; only Prometheus 3's UTF-8 names accept it
            ctx.warn((*path, "name"), f"{message} for Prometheus 2 (Sloth accepts it)")
        else:
            ctx.err((*path, "name"), message)
    page = _parse_alert_options(ctx, al["page_alert"], (*path, ctx.key("page_alert")))
    ticket = _parse_alert_options(ctx, al["ticket_alert"], (*path, ctx.key("ticket_alert")))
    for label, options in (("page", page), ("ticket", ticket)):
        if not options.disabled and not name:
            ctx.err((*path, "name"), f"invalid alert: {label} alert: alert name is required")
    no_data = _UNSET_NO_DATA
    if al["no_data_alert"] is not None:
        nd_path = (*path, ctx.key("no_data_alert"))
        nd = ctx.mapping(al["no_data_alert"], nd_path, ["disable", "for", "labels", "annotations"])
        no_data = NoDataAlert(
            disabled=ctx.boolean(nd["disable"], (*nd_path, "disable")),
            for_=_alert_for(ctx, nd["for"], (*nd_path, "for")) or "10m",
            labels=_templated(ctx, nd["labels"], (*nd_path, "labels")),
            annotations=_templated(ctx, nd["annotations"], (*nd_path, "annotations"), "annotation"),
        )
    return Alerting(
        name=name,
        labels=_templated(ctx, al["labels"], (*path, "labels")),
        annotations=_templated(ctx, al["annotations"], (*path, "annotations"), "annotation"),
        page=page,
        ticket=ticket,
        no_data=no_data,
    )


def _parse_alert_options(ctx: Fields, value: Any, path: FieldPath) -> AlertOptions:
    if value is None:
        return _UNSET_OPTIONS
    opts = ctx.mapping(value, path, ["disable", "labels", "annotations", "for"])
    return AlertOptions(
        disabled=ctx.boolean(opts["disable"], (*path, "disable")),
        labels=_templated(ctx, opts["labels"], (*path, "labels")),
        annotations=_templated(ctx, opts["annotations"], (*path, "annotations"), "annotation"),
        for_=_alert_for(ctx, opts["for"], (*path, "for")),
    )


def parse_threshold_alerts(ctx: Fields, value: Any) -> tuple[ThresholdAlert, ...]:
    if value is None:
        return ()
    path: FieldPath = (ctx.key("threshold_alerts"),)
    if not isinstance(value, list):
        ctx.err(path, "must be a list of alerts")
        return ()
    alerts: list[ThresholdAlert] = []
    for index, raw in enumerate(value):
        here = (*path, index)
        before = len(ctx.errors)
        fields = ctx.mapping(raw, here, ["name", "expr", "for", "severity", "labels", "annotations"], required=True)
        name = ctx.string(fields["name"], (*here, "name"), required=True)
        if name and not ALERT_NAME_RE.match(name):
            ctx.err((*here, "name"), f"invalid alert name {name!r}: must match {ALERT_NAME_RE.pattern}")
        expr = ctx.string(fields["expr"], (*here, "expr"), required=True)
        if expr and (problem := check_expression(expr)):
            ctx.err((*here, "expr"), f"invalid PromQL: {problem}")
        severity = ctx.string(fields["severity"], (*here, "severity")) or "warning"
        if severity not in SEVERITIES:
            ctx.err((*here, "severity"), f"severity must be one of {', '.join(SEVERITIES)}")
        annotations = _templated(ctx, fields["annotations"], (*here, "annotations"), "annotation")
        if not dict(annotations).get("summary"):
            ctx.err((*here, "annotations"), "a summary annotation is required")
        labels = _templated(ctx, fields["labels"], (*here, "labels"))
        if "severity" in dict(labels):
            ctx.err((*here, "labels", "severity"), "set severity with the severity field, not a label")
        for_ = ctx.duration(fields["for"], (*here, "for"))
        if len(ctx.errors) == before:
            source = Source(ctx.doc.path, ctx.doc.line((*ctx.base, *here)))
            alerts.append(ThresholdAlert(name, expr.strip(), severity, for_, labels, annotations, source))
    return tuple(alerts)
