"""Traefik v1 (backends) and v2 (services): availability and latency."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import (
    bucket,
    filter_excluding_errors,
    required_regex,
    trimmed_filter,
    with_comma,
)

_AVAILABILITY = Template(
    "\n"
    "(\n"
    '  sum(rate(${metric}{ ${filter}${label}=~"${regex}",code=~"${codes}" }[{{.window}}]))\n'
    "  /\n"
    '  (sum(rate(${metric}{ ${filter}${label}=~"${regex}" }[{{.window}}])) > 0)\n'
    ") OR on() vector(0)\n"
)
_LATENCY = Template(
    "\n"
    "1 - ((\n"
    '  sum(rate(${metric}_bucket{ ${filter}${label}=~"${regex}",le="${bucket}" }[{{.window}}]))\n'
    "  /\n"
    '  (sum(rate(${metric}_count{ ${filter}${label}=~"${regex}" }[{{.window}}])) > 0)\n'
    ") OR on() vector(1))\n"
)


def _backend(options: Mapping[str, str]) -> str:
    return required_regex(options, "backend_regex", "backend regex", "backend is required")


def _service(options: Mapping[str, str]) -> str:
    return required_regex(options, "service_name_regex", "service name", "service name is required")


def v1_availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: 5xx and 429 responses of the backends matching ``backend_regex``."""
    return _AVAILABILITY.substitute(
        metric="traefik_backend_requests_total",
        label="backend",
        regex=_backend(options),
        codes="(5..|429)",
        filter=with_comma(trimmed_filter(options)),
    )


def v1_latency(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: backend requests slower than ``bucket``; ``exclude_errors`` leaves 5xx out."""
    le = bucket(options)
    regex = _backend(options)
    return _LATENCY.substitute(
        metric="traefik_backend_request_duration_seconds",
        label="backend",
        regex=regex,
        bucket=le,
        filter=filter_excluding_errors(options),
    )


def v2_availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: 5xx responses of the services matching ``service_name_regex``."""
    return _AVAILABILITY.substitute(
        metric="traefik_service_requests_total",
        label="service",
        regex=_service(options),
        codes="(5..)",
        filter=with_comma(trimmed_filter(options)),
    )


def v2_latency(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: service requests slower than ``bucket``; ``exclude_errors`` leaves 5xx out."""
    le = bucket(options)
    regex = _service(options)
    return _LATENCY.substitute(
        metric="traefik_service_request_duration_seconds",
        label="service",
        regex=regex,
        bucket=le,
        filter=filter_excluding_errors(options),
    )


PLUGINS = (
    SLIPlugin("sloth-common/traefik/v1/availability", v1_availability),
    SLIPlugin("sloth-common/traefik/v1/latency", v1_latency),
    SLIPlugin("sloth-common/traefik/v2/availability", v2_availability),
    SLIPlugin("sloth-common/traefik/v2/latency", v2_latency),
)
