"""The validators' shortcuts give what the long way gives: an absent alert block reads as an empty one."""

from __future__ import annotations

import pytest

from codegen.fields import Fields
from codegen.loader import Document
from codegen.model import SpecKind
from codegen.parse_alerts import parse_alerting


@pytest.mark.parametrize("kind", ["prometheus/v1", "sloth.slok.dev/v1"])
def test_absent_alert_blocks_read_as_empty_ones(kind: SpecKind) -> None:
    ctx = Fields(Document("x.yaml", 0, None), kind, [])
    blocks = [ctx.key(k) for k in ("page_alert", "ticket_alert", "no_data_alert")]
    absent = parse_alerting(ctx, {"name": "Burn"}, ("alerting",))
    empty = parse_alerting(ctx, {"name": "Burn", **{b: {} for b in blocks}}, ("alerting",))
    assert absent == empty
    assert not ctx.errors
