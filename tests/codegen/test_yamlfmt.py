"""The hand-rolled YAML emitter must read back as exactly what it was given."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen.yamlfmt import dump

scalars = st.one_of(
    st.text(max_size=40), st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)
keys = st.text(min_size=1, max_size=12)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=25,
)


@pytest.mark.slow  # 400 hypothesis examples: ~8 s
@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, documents, max_size=5))
def test_round_trip(data: dict[str, Any]) -> None:
    assert yaml.safe_load(dump(data)) == (data or {})


def test_promql_uses_block_literals_and_tricky_strings_are_quoted() -> None:
    text = dump({"expr": "sum(a)\n/\nsum(b)\n", "v": "99.9", "t": "true", "s": "{{$labels.x}} is: bad", "n": "1e3"})
    assert "expr: |\n  sum(a)\n  /\n  sum(b)\n" in text
    assert yaml.safe_load(text) == {
        "expr": "sum(a)\n/\nsum(b)\n",
        "v": "99.9",
        "t": "true",
        "s": "{{$labels.x}} is: bad",
        "n": "1e3",
    }
