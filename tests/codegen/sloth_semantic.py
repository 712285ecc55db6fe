"""Semantic comparison of rule files with Sloth's golden outputs: the same groups in the same order, the same
rules with the same record/alert names, exprs equal modulo whitespace, the same labels (``sloth_version``
aside, it names the generator) and annotations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from codegen.model import CompileOptions
from codegen.parse import load_specs
from codegen.pipeline import Layout, render_all
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS, SLIPlugin


def groups(text: str) -> list[dict[str, Any]]:
    """Every rule group of a (multi-document) rule file, plain or in PrometheusRule objects, normalized."""
    text = text.replace("{{ .version }}", "dev")
    out: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        body = doc["spec"] if doc.get("kind") == "PrometheusRule" else doc
        out.extend(_group(g) for g in body["groups"])
    return out


def _group(group: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in group["rules"]:
        labels = dict(rule.get("labels") or {})
        labels.pop("sloth_version", None)
        rules.append(
            {
                "name": rule.get("record") or rule.get("alert"),
                "expr": re.sub(r"\s+", "", str(rule["expr"])),
                "labels": labels,
                "annotations": rule.get("annotations") or {},
                "for": rule.get("for"),
            }
        )
    return {"name": group["name"], "interval": group.get("interval"), "rules": rules}


def generate(
    spec: Path,
    *,
    extra_labels: tuple[tuple[str, str], ...] = (),
    plugins: tuple[SLIPlugin, ...] = (),
    sloth_compat: bool = True,
) -> str:
    """The rule file slogen generates for ``spec`` (as ``slogen generate -i spec -o -``)."""
    options = CompileOptions(extra_labels=extra_labels, sloth_compat=sloth_compat)
    specs = load_specs(str(spec), options, sli_plugins={**BUILTIN_SLI_PLUGINS, **{p.id: p for p in plugins}})
    stdout = render_all(specs, Layout(str(spec), False, "-")).stdout
    assert stdout is not None
    return stdout
