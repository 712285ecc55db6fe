"""HAProxy: frontend availability from 5xx responses."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import trimmed_filter, with_comma

_FRONTEND_AVAILABILITY = Template(
    "\n"
    'sum(rate(haproxy_frontend_http_responses_total{ ${filter}code="5xx" }[{{.window}}]))\n'
    "/\n"
    "sum(rate(haproxy_frontend_http_responses_total{ ${filter} }[{{.window}}]))\n"
)


def frontend_availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: 5xx responses. The total keeps the filter's trailing comma, as the Go plugin does."""
    return _FRONTEND_AVAILABILITY.substitute(filter=with_comma(trimmed_filter(options)))


PLUGINS = (SLIPlugin("sloth-common/haproxy/frontend/availability", frontend_availability),)
