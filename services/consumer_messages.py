"""What one input record becomes: its prediction, or its dead letter (the consumer's per-message logic).

Pure functions over a record, a model and the settings; no Kafka client. `handle_record` is the whole way for
one record and never raises; services.consumer runs the same steps over a batch (one model call) and falls back
to `handle_record` when the batch path meets an exception it did not expect.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import orjson

from services.config import Settings
from services.features import FeatureError, parse_timestamp_us, validate_feature_row
from services.kafka_io import DLQ_MAX_RECORD_BYTES, ConsumerRecord, cap_text, dlq_record, encode_json
from services.metrics import BAD_JSON, INTERNAL_ERROR, INVALID_MESSAGE, MODEL_ERROR
from services.model import Model
from services.strict_json import loads_strict

log = logging.getLogger("services.consumer")

# A product id or timestamp is echoed into the prediction (the id twice, as its key): bounding them bounds every
# prediction record far below the producer's limit. Real ones are a few dozen characters.
MAX_PRODUCT_ID_CHARS = 128
MAX_TIMESTAMP_CHARS = 64


class PoisonMessage(ValueError):
    """A record that can never be predicted; `error_type` labels it in volatility_consumer_errors_total."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class FeatureMessage(NamedTuple):
    """A decoded input message (a named tuple: built once per message, it must be cheap)."""

    product_id: str
    timestamp: str
    features: dict[str, float]
    key: bytes  # product_id as UTF-8, the prediction's Kafka key: encoded here, where a failure is a clear error


def decode_feature_message(value: bytes | None) -> FeatureMessage:
    """Decode `{"product_id", "timestamp", <features>}` or raise PoisonMessage saying what is wrong."""
    if not value:
        raise PoisonMessage(BAD_JSON, "empty message" if value is not None else "no value (a tombstone)")
    try:
        payload = loads_strict(value)
    except (ValueError, RecursionError) as exc:
        raise PoisonMessage(BAD_JSON, f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PoisonMessage(INVALID_MESSAGE, f"expected a JSON object, got {type(payload).__name__}")
    product_id = payload.get("product_id")
    if not isinstance(product_id, str) or not product_id:
        raise PoisonMessage(INVALID_MESSAGE, "product_id: missing or not a string")
    if len(product_id) > MAX_PRODUCT_ID_CHARS:
        raise PoisonMessage(INVALID_MESSAGE, f"product_id: longer than {MAX_PRODUCT_ID_CHARS} characters")
    try:
        key = product_id.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: legal as a JSON escape, not as text
        raise PoisonMessage(INVALID_MESSAGE, f"product_id: not valid Unicode text ({product_id!r})") from None
    timestamp = payload.get("timestamp")
    try:
        if not isinstance(timestamp, str):
            raise FeatureError(f"timestamp: missing or not ISO-8601 text ({timestamp!r:.80})")
        if len(timestamp) > MAX_TIMESTAMP_CHARS:
            raise FeatureError(f"timestamp: longer than {MAX_TIMESTAMP_CHARS} characters")
        parse_timestamp_us(timestamp)
        features = validate_feature_row(payload)
    except FeatureError as exc:
        raise PoisonMessage(INVALID_MESSAGE, str(exc)) from None
    except (OverflowError, TypeError, ValueError) as exc:  # anything else a bad message can provoke
        raise PoisonMessage(INVALID_MESSAGE, f"invalid message ({exc})") from None
    return FeatureMessage(product_id, timestamp, features, key)


def encode_prediction(message: FeatureMessage, score: float, model: Model) -> bytes:
    """The prediction for `message` as JSON bytes, or PoisonMessage when it cannot be encoded."""
    prediction = {
        "product_id": message.product_id,
        "timestamp": message.timestamp,
        "score": score,
        "prediction": int(score >= model.threshold),
        "model_variant": model.variant,
        "model_version": model.version,
    }
    try:
        # orjson writes NaN as null; callers pass finite scores only (see PredictionConsumer._score).
        return orjson.dumps(prediction)
    except (TypeError, orjson.JSONEncodeError) as exc:  # e.g. a lone surrogate in the timestamp
        raise PoisonMessage(INVALID_MESSAGE, f"the prediction cannot be encoded: {exc}") from None


def message_time_seconds(record: ConsumerRecord, decoded: FeatureMessage | None) -> float | None:
    """When the message entered the pipeline: the record's Kafka timestamp, else its `timestamp` field."""
    if record.timestamp is not None and record.timestamp >= 0:
        return float(record.timestamp) / 1000.0
    if decoded is not None:
        return parse_timestamp_us(decoded.timestamp) / 1_000_000
    return None


class Outgoing(NamedTuple):
    """One message to publish (a named tuple for the same reason), with the input record it answers."""

    topic: str
    key: bytes | None  # bytes already: the producer has nothing left to encode, so nothing left to fail
    value: bytes
    source: ConsumerRecord  # to dead-letter it if the broker refuses this message
    poison: str | None = None  # the error type when this is a dead letter
    minimal: bool = False  # a dead letter without the copy: nothing smaller can be sent


def dead_letter(
    record: ConsumerRecord, error_type: str, error: str, dlq_topic: str, *, minimal: bool = False
) -> Outgoing:
    """The DLQ message for `record` (never raises; fits DLQ_MAX_RECORD_BYTES); `minimal` leaves out the copy."""
    try:
        key, value = dlq_record(record, error_type, error, max_bytes=0 if minimal else DLQ_MAX_RECORD_BYTES)
    except Exception as exc:  # a record of an unexpected shape: keep what surely encodes
        key, minimal = None, True
        value = encode_json(
            {
                "error_type": error_type,
                "error": cap_text(f"{error} (and building the dead letter failed: {type(exc).__name__}: {exc})"),
                "topic": str(getattr(record, "topic", "")),
                "partition": _int_or_none(getattr(record, "partition", None)),
                "offset": _int_or_none(getattr(record, "offset", None)),
            }
        )
    return Outgoing(dlq_topic, key, value, record, error_type, minimal)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def handle_record(record: ConsumerRecord, model: Model, settings: Settings) -> Outgoing:
    """The whole way of one record, alone: its prediction, or its dead letter. Never raises.

    The batch path (`PredictionConsumer._build`) does the same with one model call per batch; this is its
    fallback and the reference it is tested against.
    """
    try:
        message = decode_feature_message(record.value)
        try:
            score = float(model.predict_proba([message.features])[0])
        except Exception as exc:  # the model is third-party code
            raise PoisonMessage(MODEL_ERROR, f"{type(exc).__name__}: {exc}") from None
        if not math.isfinite(score):
            raise PoisonMessage(MODEL_ERROR, f"ValueError: non-finite score {score}")
        return Outgoing(settings.output_topic, message.key, encode_prediction(message, score, model), record)
    except PoisonMessage as exc:
        return dead_letter(record, exc.error_type, str(exc), settings.dlq_topic)
    except Exception as exc:
        log.exception("unexpected error on %s", record_location(record))
        return dead_letter(record, INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", settings.dlq_topic)


def dead_letter_error(message: Outgoing) -> str:
    """The error text a dead letter carries (for logs)."""
    try:
        return str(orjson.loads(message.value)["error"])
    except Exception:
        return "(unknown error)"


def record_location(record: ConsumerRecord) -> str:
    """topic/partition@offset, for logs (safe on any object)."""
    return f"{getattr(record, 'topic', '?')}/{getattr(record, 'partition', '?')}@{getattr(record, 'offset', '?')}"
