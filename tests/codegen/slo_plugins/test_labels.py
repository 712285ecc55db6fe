"""codegen.slo_plugins.labels: ``label_setter`` (a key's place found once, for many values) is ``with_label``."""

from __future__ import annotations

import pytest

from codegen.plan import Labels
from codegen.slo_plugins.labels import label_setter, with_label

SETS: list[Labels] = [(), (("a", "1"),), (("a", "1"), ("c", "3")), (("b", "2"),), (("a", "1"), ("b", "2"), ("c", "3"))]


@pytest.mark.parametrize("labels", SETS)
@pytest.mark.parametrize("key", ["a", "b", "c", "d", "0"])
@pytest.mark.parametrize("override", [True, False])
def test_label_setter_is_with_label(labels: Labels, key: str, override: bool) -> None:
    setter = label_setter(labels, key, override)
    for value in ("x", "y"):
        assert setter(value) == with_label(labels, key, value, override)


def test_with_label_keeps_the_order_and_the_override_rule() -> None:
    labels: Labels = (("a", "1"), ("c", "3"))
    assert with_label(labels, "b", "2") == (("a", "1"), ("b", "2"), ("c", "3"))
    assert with_label(labels, "c", "9") == (("a", "1"), ("c", "9"))
    assert with_label(labels, "c", "9", override=False) == labels
    assert with_label(labels, "d", "4") == (("a", "1"), ("c", "3"), ("d", "4"))
