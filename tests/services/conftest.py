"""Fixtures for the services' own modules and the consumer: a fresh registry, a real Tansu broker."""

from tests.support.fixtures import registry as registry
from tests.support.fixtures import tansu as tansu
