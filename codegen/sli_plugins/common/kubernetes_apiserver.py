"""Kubernetes API server: availability (5xx and 429) and latency (non-WATCH requests) of its HTTP requests."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import bucket, checked_filter, with_comma

_AVAILABILITY = Template(
    "\n"
    'sum(rate(apiserver_request_total{ ${filter_error}code=~"(5..|429)" }[{{.window}}]))\n'
    "/\n"
    "sum(rate(apiserver_request_total{ ${filter_total} }[{{.window}}]))\n"
)
_LATENCY = Template(
    "\n"
    "(\n"
    '  sum(rate(apiserver_request_duration_seconds_count{ ${filter}verb!="WATCH" }[{{.window}}]))\n'
    "  -\n"
    '  sum(rate(apiserver_request_duration_seconds_bucket{ ${filter}le="${bucket}",verb!="WATCH" }[{{.window}}]))\n'
    ")\n"
    "/\n"
    'sum(rate(apiserver_request_duration_seconds_count{ ${filter}verb!="WATCH" }[{{.window}}]))\n'
)


def availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: 5xx and 429 responses."""
    filter_ = checked_filter(options, required=False)
    return _AVAILABILITY.substitute(filter_error=with_comma(filter_), filter_total=filter_)


def latency(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: non-WATCH requests slower than the ``bucket`` boundary."""
    le = bucket(options)
    return _LATENCY.substitute(filter=with_comma(checked_filter(options, required=False)), bucket=le)


PLUGINS = (
    SLIPlugin("sloth-common/kubernetes/apiserver/availability", availability),
    SLIPlugin("sloth-common/kubernetes/apiserver/latency", latency),
)
