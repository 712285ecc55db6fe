"""Semantic comparison of two Prometheus rule files (plain or PrometheusRule), with a readable diff.

Equal means: the same YAML documents in the same order; per document the same Kubernetes metadata (if any); the
same groups in the same order, each with the same name, interval and rules in the same order; per rule the same
record/alert name, the same ``expr`` modulo whitespace, the same ``for``, labels and annotations. Label values
named in ``ignore_label_values`` (``sloth_version``: Sloth writes its build version, slogen its own) are compared
for presence only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

_WS = re.compile(r"\s+")
_TPL_STRING = re.compile(r'{{\s*"((?:[^"\\]|\\.)*)"\s*}}')
_TPL_VERSION = re.compile(r"{{\s*\.version\s*}}")


def render_expected(template: str, version: str = "dev") -> str:
    """Fill an ``out-*.yaml.tpl`` as Sloth's generate_test.go does: ``{{ .version }}`` and ``{{"literal"}}``."""
    text = _TPL_VERSION.sub(version, template)
    return _TPL_STRING.sub(lambda m: m.group(1).encode().decode("unicode_escape"), text)


def _expr(text: Any) -> str:
    return _WS.sub(" ", str(text)).strip()


def _groups(doc: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Any]]:
    if doc.get("kind") == "PrometheusRule":
        meta = doc.get("metadata") or {}
        return {"apiVersion": doc.get("apiVersion"), "metadata": meta}, (doc.get("spec") or {}).get("groups") or []
    return None, doc.get("groups") or []


def _labels(where: str, name: str, exp: Any, got: Any, ignore: Iterable[str], out: list[str]) -> None:
    exp, got = dict(exp or {}), dict(got or {})
    for key in sorted(set(exp) | set(got)):
        if key not in got:
            out.append(f"{where}: {name} {key}={exp[key]!r} missing")
        elif key not in exp:
            out.append(f"{where}: {name} {key}={got[key]!r} unexpected")
        elif key not in ignore and str(exp[key]) != str(got[key]):
            out.append(f"{where}: {name} {key}: expected {exp[key]!r}, got {got[key]!r}")


def diff_rule_files(expected: str, actual: str, ignore_label_values: Iterable[str] = ("sloth_version",)) -> list[str]:
    """Every difference, one readable line each (empty when the files are semantically equal)."""
    ignore = tuple(ignore_label_values)
    exp_docs = [d for d in yaml.safe_load_all(expected) if d is not None]
    got_docs = [d for d in yaml.safe_load_all(actual) if d is not None]
    out: list[str] = []
    if len(exp_docs) != len(got_docs):
        out.append(f"documents: expected {len(exp_docs)}, got {len(got_docs)}")
    for d, (exp_doc, got_doc) in enumerate(zip(exp_docs, got_docs, strict=False)):
        exp_meta, exp_groups = _groups(exp_doc)
        got_meta, got_groups = _groups(got_doc)
        if exp_meta != got_meta:
            out.append(f"doc {d}: metadata: expected {exp_meta}, got {got_meta}")
        exp_names = [g.get("name") for g in exp_groups]
        got_names = [g.get("name") for g in got_groups]
        if exp_names != got_names:
            out.append(f"doc {d}: groups: expected {exp_names}, got {got_names}")
        got_by_name = {g.get("name"): g for g in got_groups}
        for exp_group in exp_groups:
            name = exp_group.get("name")
            got_group = got_by_name.get(name)
            if got_group is None:
                continue
            where = f"doc {d} group {name}"
            if exp_group.get("interval") != got_group.get("interval"):
                out.append(f"{where}: interval: expected {exp_group.get('interval')}, got {got_group.get('interval')}")
            exp_rules, got_rules = exp_group.get("rules") or [], got_group.get("rules") or []
            exp_ids = [r.get("record") or r.get("alert") for r in exp_rules]
            got_ids = [r.get("record") or r.get("alert") for r in got_rules]
            if exp_ids != got_ids:
                out.append(f"{where}: rules: expected {exp_ids}, got {got_ids}")
                continue
            for i, (exp_rule, got_rule) in enumerate(zip(exp_rules, got_rules, strict=True)):
                rule = f"rules[{i}] {exp_ids[i]}"
                if _expr(exp_rule.get("expr")) != _expr(got_rule.get("expr")):
                    out.append(
                        f"{where}: {rule} expr:\n    expected {_expr(exp_rule.get('expr'))}\n"
                        f"    got      {_expr(got_rule.get('expr'))}"
                    )
                if exp_rule.get("for") != got_rule.get("for"):
                    out.append(f"{where}: {rule} for: expected {exp_rule.get('for')}, got {got_rule.get('for')}")
                _labels(where, f"{rule} label", exp_rule.get("labels"), got_rule.get("labels"), ignore, out)
                _labels(where, f"{rule} annotation", exp_rule.get("annotations"), got_rule.get("annotations"), (), out)
                extra = set(got_rule) - {"record", "alert", "expr", "for", "labels", "annotations"}
                if extra:
                    out.append(f"{where}: {rule} unexpected keys {sorted(extra)}")
    return out
