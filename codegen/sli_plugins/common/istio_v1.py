"""Istio v1: availability (5xx and 429) and latency of a destination service."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import (
    bucket,
    filter_excluding_errors,
    required_trimmed,
    trimmed_filter,
    with_comma,
)

_SELECTOR = '${filter}destination_service_name="${service}",destination_service_namespace="${namespace}"'
_AVAILABILITY = Template(
    "\n"
    "(\n"
    "  sum(rate(istio_requests_total{ " + _SELECTOR + ',response_code=~"(5..|429)" }[{{.window}}])) \n'
    "  /          \n"
    "  (sum(rate(istio_requests_total{ " + _SELECTOR + " }[{{.window}}])) > 0)\n"
    ") OR on() vector(0)\n"
)
_LATENCY = Template(
    "\n"
    "1 - ((\n"
    "  sum(rate(istio_request_duration_milliseconds_bucket{ " + _SELECTOR + ',le="${bucket}" }[{{.window}}]))\n'
    "  /\n"
    "  (sum(rate(istio_request_duration_milliseconds_count{ " + _SELECTOR + " }[{{.window}}])) > 0)\n"
    ") OR on() vector(1))\n"
)


def _destination(options: Mapping[str, str]) -> dict[str, str]:
    return {
        "service": required_trimmed(options, "service", "service", "service is required"),
        "namespace": required_trimmed(options, "namespace", "namespace", "namespace is required"),
    }


def availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: 5xx and 429 responses of ``service`` in ``namespace``."""
    destination = _destination(options)
    return _AVAILABILITY.substitute(filter=with_comma(trimmed_filter(options)), **destination)


def latency(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: requests slower than ``bucket`` (milliseconds); ``exclude_errors`` leaves 5xx out."""
    le = bucket(options)
    destination = _destination(options)
    return _LATENCY.substitute(filter=filter_excluding_errors(options), bucket=le, **destination)


PLUGINS = (
    SLIPlugin("sloth-common/istio/v1/availability", availability),
    SLIPlugin("sloth-common/istio/v1/latency", latency),
)
