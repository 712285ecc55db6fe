"""slok/go-http-metrics: HTTP availability (5xx and 429) and latency."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import (
    EXCLUDE_ERRORS_MATCHER,
    bucket,
    checked_filter,
    exclude_errors,
    with_comma,
)

_AVAILABILITY = Template(
    "\n"
    'sum(rate(http_request_duration_seconds_count{ ${filter_error}code=~"(5..|429)" }[{{.window}}]))\n'
    "/\n"
    "sum(rate(http_request_duration_seconds_count{ ${filter_total} }[{{.window}}]))\n"
)
_LATENCY = Template(
    "\n"
    "1 - (\n"
    '  sum(rate(http_request_duration_seconds_bucket{ ${filter_bucket}le="${bucket}" }[{{.window}}]))\n'
    "  /\n"
    "  sum(rate(http_request_duration_seconds_count{ ${filter_count} }[{{.window}}]))\n"
    ")\n"
)


def availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: 5xx and 429 responses; ``filter`` is required."""
    filter_ = checked_filter(options, required=True)
    return _AVAILABILITY.substitute(filter_error=with_comma(filter_), filter_total=filter_)


def latency(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: requests slower than ``bucket``; ``filter`` is required, ``exclude_errors`` leaves 5xx out."""
    le = bucket(options)
    filter_ = checked_filter(options, required=True)
    if exclude_errors(options):
        filter_ = f"{filter_},{EXCLUDE_ERRORS_MATCHER}"
    return _LATENCY.substitute(filter_bucket=with_comma(filter_), filter_count=filter_, bucket=le)


PLUGINS = (
    SLIPlugin("sloth-common/slok-go-http-metrics/availability", availability),
    SLIPlugin("sloth-common/slok-go-http-metrics/latency", latency),
)
