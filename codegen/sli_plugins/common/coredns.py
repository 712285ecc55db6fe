"""CoreDNS: availability from response codes, latency from the request duration histogram."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin, SLIPluginError
from codegen.sli_plugins.common.options import bucket, trimmed_filter, with_comma
from codegen.sli_plugins.golang import regexp_error, trim_space

DEFAULT_ERROR_RCODES = "SERVFAIL"

_AVAILABILITY = Template(
    "\n"
    'sum(rate(coredns_dns_responses_total{ ${filter_error}rcode=~"${rcodes}" }[{{.window}}]))\n'
    "/\n"
    "(sum(rate(coredns_dns_responses_total{ ${filter_total} }[{{.window}}])) > 0)\n"
)
_LATENCY = Template(
    "\n"
    "1 - ((\n"
    '  sum(rate(coredns_dns_request_duration_seconds_bucket{ ${filter_error}le="${bucket}" }[{{ .window }}]))\n'
    "  /\n"
    "  (sum(rate(coredns_dns_request_duration_seconds_count{ ${filter_total} }[{{ .window }}])) > 0)\n"
    ") OR on() vector(1))\n"
)


def availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: responses whose rcode matches ``custom_rcode_regex`` (default SERVFAIL)."""
    rcodes = trim_space(options.get("custom_rcode_regex", "")) or DEFAULT_ERROR_RCODES
    problem = regexp_error(rcodes)
    if problem:
        raise SLIPluginError(f"could not get custom rcodes regex: invalid regex: {problem}")
    filter_ = trimmed_filter(options)
    return _AVAILABILITY.substitute(filter_error=with_comma(filter_), filter_total=filter_, rcodes=rcodes)


def latency(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: requests slower than the ``bucket`` boundary."""
    le = bucket(options)
    filter_ = trimmed_filter(options)
    return _LATENCY.substitute(filter_error=with_comma(filter_), filter_total=filter_, bucket=le)


PLUGINS = (
    SLIPlugin("sloth-common/coredns/availability", availability),
    SLIPlugin("sloth-common/coredns/latency", latency),
)
