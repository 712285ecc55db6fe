"""Noop: an error ratio that is always 0 (a placeholder)."""

from __future__ import annotations

from collections.abc import Mapping

from codegen.sli_plugins.api import SLIPlugin


def noop(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Always 0, whatever the options."""
    return "max_over_time(vector(0)[{{.window}}:])"


PLUGINS = (SLIPlugin("sloth-common/noop", noop),)
