"""A writer for one shape only, a Prometheus rule file's ``groups:`` list, byte-identical to
``yamlfmt.dump({"groups": groups_dict(groups)})``.

At 10,000 SLOs the rule files are ~200 MB; building dicts for them and walking them with the generic emitter cost
~4 s, most of it per-member calls and every rule's ``labels:`` mapping written again although the rules of one SLO
share one labels tuple. Here the fixed keys are precomputed prefixes, a labels or annotations block is rendered once
per tuple and reused, and every value that is not a one-line string goes to ``yamlfmt.emit_member``: the quoting
and block-literal choices stay in ``yamlfmt`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.plan import AlertingRule, Labels, RuleGroup
from codegen.yamlfmt import emit_mapping, emit_member, key_prefix, string

# The same nesting the generic emitter gives {"groups": [{"name", "interval", "rules": [{...}]}]}: group keys at
# "  " (the first after "- "), rule keys at "    " (the first after "  - "), rule values' own blocks at "      ".
_GROUP_INDENT = "  "
_RULE_INDENT = "    "
_VALUE_INDENT = "      "
_NAME = key_prefix("- ", "name")
_INTERVAL = key_prefix(_GROUP_INDENT, "interval")
_RULES = key_prefix(_GROUP_INDENT, "rules")
_RECORD = key_prefix("  - ", "record")
_ALERT = key_prefix("  - ", "alert")
_EXPR = key_prefix(_RULE_INDENT, "expr")
_FOR = key_prefix(_RULE_INDENT, "for")
_LABELS = key_prefix(_RULE_INDENT, "labels")
_ANNOTATIONS = key_prefix(_RULE_INDENT, "annotations")


def _member(prefix: str, value: object, child_indent: str, key_indent: str, out: list[str]) -> None:
    """``prefix value``: a one-line string inline (nearly every value), anything else as the generic emitter."""
    if type(value) is str and "\n" not in value:
        out.append(f"{prefix} {string(value)}")
    else:
        emit_member(prefix, value, child_indent, out, key_indent)


class _Blocks:
    """Rendered ``labels:``/``annotations:`` blocks by the tuple they came from.

    Looked up by identity first (the plan hands every rule of an SLO the same tuple; the entry keeps the tuple
    alive so its id cannot be reused), then by value for tuples of exact ``str`` only: equal tuples of other
    types (a ``str`` ``Enum`` equals its value but is written differently) must not share a rendering.
    """

    def __init__(self, head: str) -> None:
        self._head = head
        self._by_id: dict[int, tuple[Labels, str]] = {}
        self._by_value: dict[Labels, str] = {}

    def get(self, mapping: Labels) -> str:
        hit = self._by_id.get(id(mapping))
        if hit is not None and hit[0] is mapping:
            return hit[1]
        plain = type(mapping) is tuple and all(
            type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str and type(pair[1]) is str for pair in mapping
        )
        text = self._by_value.get(mapping) if plain else None
        if text is None:
            lines = [self._head]
            emit_mapping(dict(mapping), _VALUE_INDENT, _VALUE_INDENT, lines)
            text = "\n".join(lines)
            if plain:
                self._by_value[mapping] = text
        self._by_id[id(mapping)] = (mapping, text)
        return text


def dump_groups(groups: Sequence[RuleGroup]) -> str:
    """The ``groups:`` document of a rule file, ending in a newline."""
    if not groups:
        return "groups: []\n"
    labels = _Blocks(_LABELS)
    annotations = _Blocks(_ANNOTATIONS)
    out = ["groups:"]
    append = out.append
    for group in groups:
        _member(_NAME, group.name, _RULE_INDENT, _GROUP_INDENT, out)
        if group.interval:
            _member(_INTERVAL, group.interval, _RULE_INDENT, _GROUP_INDENT, out)
        if not group.rules:
            append(f"{_RULES} []")
            continue
        append(_RULES)
        for rule in group.rules:
            if isinstance(rule, AlertingRule):
                _member(_ALERT, rule.alert, _VALUE_INDENT, _RULE_INDENT, out)
                _member(_EXPR, rule.expr, _VALUE_INDENT, _RULE_INDENT, out)
                if rule.for_:
                    _member(_FOR, rule.for_, _VALUE_INDENT, _RULE_INDENT, out)
                if rule.labels:
                    append(labels.get(rule.labels))
                if rule.annotations:
                    append(annotations.get(rule.annotations))
            else:
                _member(_RECORD, rule.record, _VALUE_INDENT, _RULE_INDENT, out)
                _member(_EXPR, rule.expr, _VALUE_INDENT, _RULE_INDENT, out)
                if rule.labels:
                    append(labels.get(rule.labels))
    return "\n".join(out) + "\n"
