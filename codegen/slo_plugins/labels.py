"""Label and annotation sets as plugins handle them: sorted tuples of pairs, merged left to right (right wins)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from operator import itemgetter

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
    at, present = _slot(labels, key)
    if present:
        return (*labels[:at], (key, value), *labels[at + 1 :]) if override else labels
    return (*labels[:at], (key, value), *labels[at:])


def label_setter(labels: Labels, key: str, override: bool = True) -> Callable[[str], Labels]:
    """``value -> with_label(labels, key, value, override)``: the key's place is found once for many values (an
    SLO's SLI recordings differ only in their window)."""
    at, present = _slot(labels, key)
    if present:
        if not override:
            return lambda value: labels
        head, tail = labels[:at], labels[at + 1 :]
    else:
        head, tail = labels[:at], labels[at:]
    return lambda value: (*head, (key, value), *tail)


def _slot(labels: Labels, key: str) -> tuple[int, bool]:
    """Where ``key`` goes in ``labels``, and whether it is there already."""
    at = bisect_left(labels, key, key=_key)
    return at, at < len(labels) and labels[at][0] == key


_key = itemgetter(0)
