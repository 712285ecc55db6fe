"""Reusable test helpers: a real Kafka-protocol broker (Tansu), free ports, service processes, topic readers.

The Kafka helpers (`TopicCollector`, `produce_rows`) are imported from `tests.support.kafka` by the tests that
need them, so importing this package needs no Kafka client.

Fixtures built on them live in `tests.support.fixtures` (each test directory's conftest.py imports the ones it
needs); the helpers themselves are plain functions and classes so the end-to-end stack and benchmarks can use
them too.
"""

from tests.support.ports import free_port, wait_for_port
from tests.support.processes import ServiceProcess, http_get, wait_http_ok

__all__ = [
    "ServiceProcess",
    "free_port",
    "http_get",
    "wait_for_port",
    "wait_http_ok",
]
