"""Label and annotation sets as plugins handle them: sorted tuples of pairs, merged left to right (right wins)."""

from __future__ import annotations

from codegen.plan import Labels


def merge(*sets: Labels) -> Labels:
    """Sloth's ``MergeLabels``: later sets override earlier ones; the result is sorted by key."""
    merged: dict[str, str] = {}
    for labels in sets:
        merged.update(labels)
    return tuple(sorted(merged.items()))
