"""Serialize rule groups into Prometheus rule files or ``monitoring.coreos.com/v1`` PrometheusRule objects."""

from __future__ import annotations

from typing import Any

from codegen.compiler import CompiledFile
from codegen.conventions import rule_file_header
from codegen.model import CompileOptions
from codegen.plan import AlertingRule, Rule, RuleGroup
from codegen.rule_yaml import dump_groups
from codegen.rules import document_groups
from codegen.yamlfmt import dump


def rule_dict(rule: Rule, k8s: bool) -> dict[str, Any]:
    """Prometheus key order (record/alert, expr, for, labels, annotations); PrometheusRule sorts keys."""
    out: dict[str, Any] = {}
    if isinstance(rule, AlertingRule):
        out["alert"] = rule.alert
        out["expr"] = rule.expr
        if rule.for_:
            out["for"] = rule.for_
        if rule.labels:
            out["labels"] = dict(rule.labels)
        if rule.annotations:
            out["annotations"] = dict(rule.annotations)
    else:
        out["record"] = rule.record
        out["expr"] = rule.expr
        if rule.labels:
            out["labels"] = dict(rule.labels)
    return dict(sorted(out.items())) if k8s else out


def group_dict(group: RuleGroup, k8s: bool) -> dict[str, Any]:
    """``name``, then ``interval`` when a plugin set one, then ``rules`` (Prometheus' order)."""
    out: dict[str, Any] = {"name": group.name}
    if group.interval:
        out["interval"] = group.interval
    out["rules"] = [rule_dict(r, k8s) for r in group.rules]
    return out


def groups_dict(groups: list[RuleGroup], k8s: bool = False) -> list[dict[str, Any]]:
    """The groups as plain data: PrometheusRule specs and tests (``rule_yaml.dump_groups`` writes ``groups:``)."""
    return [group_dict(g, k8s) for g in groups]


def render_rule_file(compiled: CompiledFile, options: CompileOptions, source_label: str) -> str:
    """One output file per input file.

    Sloth writes one YAML document per spec document, but Prometheus reads only the first document of a rule
    file; so outside ``--sloth-compat`` all ``prometheus/v1`` documents of a file merge into one ``groups:`` list.
    Kubernetes documents always stay one PrometheusRule each.
    """
    parts: list[str] = []
    merged: list[RuleGroup] = []
    for compiled_doc in compiled.documents:
        doc = compiled_doc.document
        groups = document_groups(compiled_doc, options)
        if doc.k8s is not None:
            meta: dict[str, Any] = {
                "labels": dict(
                    sorted(
                        {
                            **dict(doc.k8s.labels),
                            "app.kubernetes.io/component": "SLO",
                            "app.kubernetes.io/managed-by": "sloth",
                        }.items()
                    )
                ),
                "name": doc.k8s.name,
            }
            if doc.k8s.annotations:
                meta["annotations"] = dict(doc.k8s.annotations)
            if doc.k8s.namespace:
                meta["namespace"] = doc.k8s.namespace
            obj = {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": dict(sorted(meta.items())),
                "spec": {"groups": groups_dict(groups, k8s=True)},
            }
            parts.append(dump(obj))
        elif options.sloth_compat:
            parts.append(dump_groups(groups))
        else:
            merged.extend(groups)
    if merged:
        parts.insert(0, dump_groups(merged))
    if not parts:
        return ""
    body = "---\n".join(parts)
    return rule_file_header(source_label) + "\n" + body
