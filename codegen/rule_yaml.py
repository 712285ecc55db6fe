"""A writer for one shape only, a Prometheus rule file's ``groups:`` list, byte-identical to
``yamlfmt.dump({"groups": groups_dict(groups)})``.

At 10,000 SLOs the rule files are ~200 MB. Building dicts for them and walking them with the generic emitter
spends, besides the block-literal checks of every expression (unavoidable), a call per member and a full render of
every rule's ``labels:`` mapping, although an SLO's rules carry the same few labels. Here the fixed keys are
precomputed prefixes, a labels or annotations block is rendered once per tuple and otherwise joined from cached
``key: value`` lines, and every value that is not a one-line string goes to ``yamlfmt.emit_member``: the quoting and
block-literal choices stay in ``yamlfmt`` alone.
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


def _line(prefix: str, text: str) -> str:
    """``prefix text`` for a one-line ``str`` (how ``yamlfmt.emit_member`` writes one)."""
    return f"{prefix} {string(text)}"


def _member(prefix: str, value: object, child_indent: str, key_indent: str, out: list[str]) -> None:
    """``prefix value``: a one-line string inline (nearly every value), anything else as the generic emitter."""
    if type(value) is str and "\n" not in value:
        out.append(_line(prefix, value))
    else:
        emit_member(prefix, value, child_indent, out, key_indent)


class _Blocks:
    """Rendered ``labels:``/``annotations:`` blocks, and their lines, for one document.

    A block is looked up by the identity of its tuple (rules of one SLO often share one; the entry keeps the tuple
    alive so its id cannot be reused). Tuples differ in a label or two (``sloth_window``, ``sloth_severity``), so
    a new block is joined from cached ``key: value`` lines, keyed by exact ``str`` pairs only: a ``str`` ``Enum``
    equals its value but is written differently. Any other member sends the whole block to the generic emitter.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Labels, str, str]] = {}
        self._lines: dict[tuple[str, str], str] = {}

    def get(self, head: str, mapping: Labels) -> str:
        hit = self._by_id.get(id(mapping))
        if hit is not None and hit[0] is mapping and hit[1] is head:
            return hit[2]
        members = dict(mapping)  # as ``groups_dict`` does: a repeated key keeps its first place and last value
        parts = [head]
        lines = self._lines
        for key, value in members.items():
            if type(key) is not str or type(value) is not str or "\n" in value:
                parts = [head]
                emit_mapping(members, _VALUE_INDENT, _VALUE_INDENT, parts)
                break
            line = lines.get((key, value))
            if line is None:
                line = lines[key, value] = _line(key_prefix(_VALUE_INDENT, key), value)
            parts.append(line)
        text = "\n".join(parts)
        self._by_id[id(mapping)] = (mapping, head, text)
        return text


def dump_groups(groups: Sequence[RuleGroup]) -> str:
    """The ``groups:`` document of a rule file, ending in a newline."""
    if not groups:
        return "groups: []\n"
    blocks = _Blocks()
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
                emit_member(_EXPR, rule.expr, _VALUE_INDENT, out, _RULE_INDENT)
                if rule.for_:
                    _member(_FOR, rule.for_, _VALUE_INDENT, _RULE_INDENT, out)
                if rule.labels:
                    append(blocks.get(_LABELS, rule.labels))
                if rule.annotations:
                    append(blocks.get(_ANNOTATIONS, rule.annotations))
            else:
                _member(_RECORD, rule.record, _VALUE_INDENT, _RULE_INDENT, out)
                emit_member(_EXPR, rule.expr, _VALUE_INDENT, out, _RULE_INDENT)
                if rule.labels:
                    append(blocks.get(_LABELS, rule.labels))
    return "\n".join(out) + "\n"
