"""SLI plugin ``integration_test``: the Python port of Sloth's integration-test SLI plugin.

Availability of the ``integration_test`` counter for one ``job`` (option, required): 5xx and 429 are errors. An
optional ``filter`` (``k1="v1",k2="v2"``, braces and edge commas allowed) narrows both sides. The spec must carry
the ``owner`` and ``tier`` labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from codegen.sli_plugins import SLIPluginError

SLI_PLUGIN_VERSION = "prometheus/v1"
SLI_PLUGIN_ID = "integration_test"

FILTER_RE = re.compile(r'([^=]+="[^=,"]+",)+')
REQUIRED_LABELS = ("owner", "tier")


def generate(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    if "job" not in options:
        raise SLIPluginError("job options is required")
    job = options["job"]
    for key in REQUIRED_LABELS:
        if not labels.get(key):
            raise SLIPluginError(f'invalid labels: "{key}" label is required')
    filter_ = options.get("filter", "")
    if filter_:
        filter_ = filter_.strip("{}").strip(",") + ","
        if not FILTER_RE.search(filter_):
            raise SLIPluginError(f"invalid prometheus filter: {filter_}")
    return (
        "\n"
        f'sum(rate(integration_test{{ {filter_}job="{job}",code=~"(5..|429)" }}[{{{{.window}}}}]))\n'
        "/\n"
        f'sum(rate(integration_test{{ {filter_}job="{job}" }}[{{{{.window}}}}]))'
    )
