"""The prediction consumer: `python -m services.consumer`.

- loop: the poll → predict → publish → commit loop (`PredictionConsumer`), partition ownership and lag, `main`;
- messages: what happens to one record (decode, validate, score, encode, dead-letter), never raising.

The Kafka clients it shares with the producer are in services.kafka_io; its metrics and their error types in
services.metrics.
"""

from services.consumer.loop import BatchOutcome, PartitionLagListener, PredictionConsumer, check_topics, main, serve
from services.consumer.messages import (
    MAX_PRODUCT_ID_CHARS,
    MAX_TIMESTAMP_CHARS,
    FeatureMessage,
    Outgoing,
    PoisonMessage,
    dead_letter,
    decode_feature_message,
    encode_prediction,
    handle_record,
    message_time_seconds,
)

__all__ = [
    "MAX_PRODUCT_ID_CHARS",
    "MAX_TIMESTAMP_CHARS",
    "BatchOutcome",
    "FeatureMessage",
    "Outgoing",
    "PartitionLagListener",
    "PoisonMessage",
    "PredictionConsumer",
    "check_topics",
    "dead_letter",
    "decode_feature_message",
    "encode_prediction",
    "handle_record",
    "main",
    "message_time_seconds",
    "serve",
]
