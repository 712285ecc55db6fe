"""Pytest fixtures over the helpers: a fresh Tansu broker per test, a fresh metrics registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from stack.broker import SERVICE_TOPICS, BrokerError, LocalBroker, broker_binary, start_broker


def _require_broker_binary() -> None:
    try:
        broker_binary()
    except BrokerError as exc:  # a missing test dependency is an install problem, reported loudly
        pytest.fail(f"Tansu broker unavailable: {exc}")


@pytest.fixture
def tansu() -> Iterator[LocalBroker]:
    """A Tansu broker on a free loopback port with the service topics; stopped after the test."""
    _require_broker_binary()
    broker = start_broker(topics=SERVICE_TOPICS)
    try:
        yield broker
    finally:
        broker.stop()
        if broker.log_path is not None:
            broker.log_path.unlink(missing_ok=True)


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh Prometheus registry: metric values never leak between tests."""
    return CollectorRegistry()
