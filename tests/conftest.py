"""Shared fixtures come from tests.support (a package the end-to-end stack can import too)."""

pytest_plugins = ["tests.support.fixtures"]
