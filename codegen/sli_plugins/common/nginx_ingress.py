"""ingress-nginx (Kubernetes): availability from 5xx and 429 responses."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import checked_filter, with_comma

_AVAILABILITY = Template(
    "\n"
    'sum(rate(nginx_ingress_controller_requests{ ${filter_error}status=~"(5..|429)" }[{{.window}}]))\n'
    "/\n"
    "sum(rate(nginx_ingress_controller_requests{ ${filter_total} }[{{.window}}]))\n"
    "or on() vector(0)\n"
)


def availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: 5xx and 429 responses."""
    filter_ = checked_filter(options, required=False)
    return _AVAILABILITY.substitute(filter_error=with_comma(filter_), filter_total=filter_)


PLUGINS = (SLIPlugin("sloth-common/kubernetes/nginx-ingress/availability", availability),)
