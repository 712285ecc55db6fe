"""Property tests of the consumer's per-message handling: whatever the bytes, a prediction that encodes or a
dead letter that fits, never an exception; and the batch fast path agrees with the one-record reference."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import CollectorRegistry

from services.config import Settings
from services.consumer import (
    MAX_PRODUCT_ID_CHARS,
    BatchOutcome,
    Outgoing,
    PredictionConsumer,
    handle_record,
)
from services.features import FEATURE_COLUMNS
from services.kafka_io import DLQ_MAX_RECORD_BYTES, MAX_REQUEST_BYTES
from services.metrics import consumer_metrics
from services.model import BaselineModel

PROPERTY = settings(
    max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
SETTINGS = Settings()
MODEL = BaselineModel()
RECORD_OVERHEAD = 200  # kafka-python's batch + record headers, generously: a record must fit MAX_REQUEST_BYTES

GOOD_ROW: dict[str, Any] = {
    "product_id": "BTC-USD",
    "timestamp": "2025-01-01T00:00:00Z",
    **{name: 0.001 * (i + 1) for i, name in enumerate(FEATURE_COLUMNS)},
}

# Text with everything JSON can carry: lone surrogates (legal as \ud800 escapes), controls, astral characters.
# Each kind is drawn as often as the others: surrogates are 2,048 of 1.1 million code points, rare if uniform.
# (A list joined, not st.text: st.text merges the alphabets into one range and draws uniformly from it.)
any_text = st.lists(
    st.one_of(
        st.characters(categories=["Cs"]),
        st.characters(categories=["Cc", "Zs"]),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(categories=["L", "N", "P", "S"]),
    ),
    max_size=40,
).map("".join)
any_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)
any_json = st.recursive(
    st.one_of(st.none(), st.booleans(), any_number, any_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def feature_message_like(draw: st.DrawFn) -> dict[str, Any]:
    """A valid row with some fields replaced, removed or added: reaches validation, scoring and encoding."""
    row = dict(GOOD_ROW)
    for name in draw(st.lists(st.sampled_from(sorted(row)), max_size=3, unique=True)):
        action = draw(st.sampled_from(["replace", "text", "drop"]))
        if action == "drop":
            del row[name]
        else:
            row[name] = draw(any_json if action == "replace" else any_text)
    if draw(st.booleans()):
        row[draw(any_text)] = draw(any_json)
    return row


def _encode(value: Any, ensure_ascii: bool) -> bytes:
    """JSON text as different writers produce it; NaN/Infinity literals and raw surrogate bytes included."""
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


message_values = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.builds(_encode, any_json, st.booleans()),
    st.builds(_encode, feature_message_like(), st.booleans()),
    st.builds(_encode, any_text.map(lambda text: {**GOOD_ROW, "product_id": text}), st.booleans()),
    st.builds(_encode, any_text.map(lambda text: {**GOOD_ROW, "timestamp": text}), st.booleans()),
)
message_keys = st.one_of(st.none(), st.binary(max_size=40))


def record(value: bytes | None, key: bytes | None, offset: int = 7) -> ConsumerRecord:
    return ConsumerRecord(
        SETTINGS.input_topic, 0, -1, offset, 1_700_000_000_000, 0, key, value, [], None, -1, len(value or b""), -1
    )


def check_outgoing(result: Outgoing, source: ConsumerRecord) -> None:
    """A prediction that encodes and fits, or a dead letter that fits and finds its source."""
    assert isinstance(result, Outgoing)
    assert result.source is source
    assert isinstance(result.value, bytes) and (result.key is None or isinstance(result.key, bytes))
    size = len(result.value) + len(result.key or b"")
    if result.topic == SETTINGS.output_topic:
        assert result.poison is None
        prediction = orjson.loads(result.value)  # strict: valid UTF-8, no NaN
        assert result.key == prediction["product_id"].encode("utf-8")
        assert 0 < len(prediction["product_id"]) <= MAX_PRODUCT_ID_CHARS
        assert math.isfinite(prediction["score"]) and prediction["prediction"] in (0, 1)
        assert size + RECORD_OVERHEAD <= MAX_REQUEST_BYTES
    else:
        assert result.topic == SETTINGS.dlq_topic and result.poison
        assert size <= DLQ_MAX_RECORD_BYTES
        letter = orjson.loads(result.value)
        assert letter["error_type"] == result.poison and letter["error"]
        assert (letter["topic"], letter["partition"], letter["offset"]) == (source.topic, 0, source.offset)
        raw = source.value or b""
        assert letter["original_size_bytes"] == len(raw)
        assert letter["original_sha256"] == hashlib.sha256(raw).hexdigest()


@PROPERTY
@given(value=message_values, key=message_keys)
def test_handle_record_never_raises_and_always_yields_something_that_fits(
    value: bytes | None, key: bytes | None
) -> None:
    source = record(value, key)
    check_outgoing(handle_record(source, MODEL, SETTINGS), source)


@PROPERTY
@given(st.lists(st.tuples(message_values, message_keys), min_size=1, max_size=8))
def test_the_batch_path_agrees_with_the_one_record_reference(batch: list[tuple[bytes | None, bytes | None]]) -> None:
    """Good messages are mixed in, so the batch's single model call is exercised next to the poison."""
    good = json.dumps({**GOOD_ROW, "product_id": "ETH-USD"}).encode()
    records = [record(v, k, offset=i) for i, (v, k) in enumerate([(good, b"ETH-USD"), *batch])]
    loop = PredictionConsumer(SETTINGS, MODEL, consumer_metrics(CollectorRegistry()), None, None)  # type: ignore[arg-type]
    outcome = BatchOutcome(records=len(records))
    outgoing, _times, scores = loop._build(records, outcome)
    expected = [handle_record(r, MODEL, SETTINGS) for r in records]
    by_offset = sorted(outgoing, key=lambda m: m.source.offset)  # the batch sends its dead letters first
    assert [_comparable(m) for m in by_offset] == [_comparable(e) for e in expected]
    for message in outgoing:
        check_outgoing(message, message.source)
    assert outcome.predictions == len(scores) == sum(1 for e in expected if e.poison is None)
    assert sum(outcome.poison.values()) == sum(1 for e in expected if e.poison is not None)


def _comparable(message: Outgoing) -> tuple[Any, ...]:
    """A message without the dead letter's wall-clock field."""
    value: Any = orjson.loads(message.value)
    if message.poison is not None:
        value.pop("failed_at_ms")
    else:
        value["score"] = round(value["score"], 9)  # one batch call vs one call per row: same model, same math
    return (message.topic, message.key, message.source.offset, message.poison, json.dumps(value, sort_keys=True))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("product_id", "\ud800"),
        ("product_id", "BTC\udc00\ud800"),
        ("product_id", "A" * (MAX_PRODUCT_ID_CHARS + 1)),
        ("timestamp", "2025-01-01T00:00:00\udfffZ"),
        ("timestamp", " " * 10_000 + "2025-01-01T00:00:00Z"),
        ("rv_60s", "\ud800"),
        ("\ud800", 1.0),
    ],
    ids=["surrogate-id", "reversed-pair-id", "long-id", "surrogate-time", "padded-time", "surrogate-value", "key"],
)
def test_a_string_the_prediction_cannot_carry_is_a_poison_message(field: str, value: Any) -> None:
    """Old code: the lone surrogate made orjson raise while encoding the prediction, crashing the loop."""
    source = record(json.dumps({**GOOD_ROW, field: value}).encode(), b"BTC-USD")
    result = handle_record(source, MODEL, SETTINGS)
    assert result.topic == SETTINGS.dlq_topic and result.poison == "invalid_message"
    check_outgoing(result, source)
    loop = PredictionConsumer(SETTINGS, MODEL, consumer_metrics(CollectorRegistry()), None, None)  # type: ignore[arg-type]
    outcome = BatchOutcome()
    good = record(json.dumps(GOOD_ROW).encode(), b"BTC-USD", offset=8)
    outgoing, _, _ = loop._build([source, good], outcome)
    assert [m.topic for m in outgoing] == [SETTINGS.dlq_topic, SETTINGS.output_topic]
    assert outcome.predictions == 1 and outcome.poison == {"invalid_message": 1}


def test_a_feature_message_carries_its_encoded_key() -> None:
    source = record(json.dumps({**GOOD_ROW, "product_id": "SOL-€"}).encode(), None)
    result = handle_record(source, MODEL, SETTINGS)
    assert result.topic == SETTINGS.output_topic and result.key == "SOL-€".encode()
