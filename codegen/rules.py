"""Rule groups of one spec document: its SLOs' compiled plans, then its threshold alerts.

SLO rules come from the plugin chain (``compiler``); threshold alerts are per document, not per SLO, so they are
assembled here: a plain alert with a routing ``severity``, a ``description`` (the summary unless given) and a
``runbook_url``.
"""

from __future__ import annotations

from codegen import conventions as c
from codegen.compiler import CompiledDocument
from codegen.gotemplate import literal as template_literal
from codegen.model import CompileOptions, SpecDocument, ThresholdAlert
from codegen.plan import AlertingRule, RuleGroup
from codegen.slo_plugins.labels import merge


def threshold_alert_group(doc: SpecDocument, options: CompileOptions) -> RuleGroup | None:
    if not doc.threshold_alerts or options.disable_alerts:
        return None
    rules = tuple(threshold_rule(alert, options) for alert in doc.threshold_alerts)
    return RuleGroup(c.threshold_group(doc.service), rules)


def threshold_rule(alert: ThresholdAlert, options: CompileOptions) -> AlertingRule:
    annotations = dict(alert.annotations)
    annotations.setdefault("description", annotations["summary"])
    annotations.setdefault("runbook_url", template_literal(c.runbook_url(options.runbook_base_url, alert.name)))
    labels = merge(alert.labels, ((c.ROUTING_SEVERITY, alert.severity),))
    return AlertingRule(alert.name, alert.expr, labels, tuple(sorted(annotations.items())), alert.for_)


def document_groups(compiled: CompiledDocument, options: CompileOptions) -> list[RuleGroup]:
    """Every SLO's non-empty groups in spec order, then the document's threshold alerts."""
    groups = [g for plan in compiled.plans for g in plan.groups()]
    threshold = threshold_alert_group(compiled.document, options)
    return groups + ([threshold] if threshold else [])
