"""The SLI plugin contract (Sloth's ``prometheus/v1`` SLI plugins, in Python).

An SLI plugin turns a spec's ``sli.plugin: {id, options}`` into an error-ratio query template (it may contain
``{{.window}}``), which then becomes a raw SLI exactly as if the spec had written ``sli.raw.error_ratio_query``.
As in Sloth, every argument is a string mapping: ``meta`` holds the service, the SLO name and the objective
(``"%f"``-formatted, e.g. ``"99.900000"``), ``labels`` the spec-level labels, ``options`` the spec's options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

SLI_PLUGIN_VERSION = "prometheus/v1"

META_SERVICE = "service"
META_SLO = "slo"
META_OBJECTIVE = "objective"

SLIGenerate = Callable[[Mapping[str, str], Mapping[str, str], Mapping[str, str]], str]
"""``generate(meta, labels, options) -> query template``; raises ``SLIPluginError`` for invalid options."""


class SLIPluginError(ValueError):
    """A plugin rejected its input; the message says what is wrong (the caller adds file, SLO and plugin id)."""


@dataclass(frozen=True)
class SLIPlugin:
    """One SLI plugin: its registering id and its query generator."""

    id: str
    generate: SLIGenerate


def plugin_meta(service: str, slo: str, objective: float) -> dict[str, str]:
    """The ``meta`` mapping Sloth hands a plugin: the objective formatted with Go's ``%f`` (six decimals)."""
    return {META_SERVICE: service, META_SLO: slo, META_OBJECTIVE: f"{objective:f}"}
