"""SLI plugin ``getting_started_availability``: the Python port of Sloth's getting-started example plugin.

The error ratio of HTTP requests (``http_request_duration_seconds_count``) of one ``job`` (option, required),
counting 5xx and 429 responses as errors; an optional ``filter`` (``k1="v1",k2="v2"``) narrows both sides. The
spec must carry the ``owner`` and ``tier`` labels (the plugin shows how to read them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from codegen.sli_plugins import SLIPluginError

SLI_PLUGIN_VERSION = "prometheus/v1"
SLI_PLUGIN_ID = "getting_started_availability"

FILTER_RE = re.compile(r'([^=]+="[^=,"]+",)+')
REQUIRED_LABELS = ("owner", "tier")
METRIC = "http_request_duration_seconds_count"


def sanitized_filter(options: Mapping[str, str]) -> str:
    """``filter`` without braces or edge commas, ending in a comma so more matchers can follow."""
    filter_ = options.get("filter", "")
    if not filter_:
        return ""
    filter_ = filter_.strip("{}").strip(",") + ","
    if not FILTER_RE.search(filter_):
        raise SLIPluginError(f"invalid prometheus filter: {filter_}")
    return filter_


def generate(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Errors over total requests; ``{{.window}}`` is left for slogen to fill per alert window."""
    if "job" not in options:
        raise SLIPluginError("job options is required")
    job = options["job"]
    for key in REQUIRED_LABELS:
        if not labels.get(key):
            raise SLIPluginError(f'invalid labels: "{key}" label is required')
    filter_ = sanitized_filter(options)
    return (
        "\n"
        f'sum(rate({METRIC}{{ {filter_}job="{job}",code=~"(5..|429)" }}[{{{{.window}}}}]))\n'
        "/\n"
        f'sum(rate({METRIC}{{ {filter_}job="{job}" }}[{{{{.window}}}}]))'
    )
