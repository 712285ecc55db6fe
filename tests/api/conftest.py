"""The API tests' fixtures: a fresh Prometheus registry per test."""

from tests.support.fixtures import registry as registry
