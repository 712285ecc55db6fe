"""Label and annotation sets as plugins handle them: sorted tuples of pairs, merged left to right (right wins)."""

from __future__ import annotations

from bisect import bisect_left

from codegen.plan import Labels


def merge(*sets: Labels) -> Labels:
    """Sloth's ``MergeLabels``: later sets override earlier ones; the result is sorted by key."""
    merged: dict[str, str] = {}
    for labels in sets:
        merged.update(labels)
    return tuple(sorted(merged.items()))


def has_key(labels: Labels, key: str) -> bool:
    return any(k == key for k, _ in labels)


def with_label(labels: Labels, key: str, value: str, override: bool = True) -> Labels:
    """``labels`` with ``key=value`` in its sorted place; an existing ``key`` is replaced only if ``override``."""
    keys = [k for k, _ in labels]
    at = bisect_left(keys, key)
    if at < len(keys) and keys[at] == key:
        return (*labels[:at], (key, value), *labels[at + 1 :]) if override else labels
    return (*labels[:at], (key, value), *labels[at:])
