"""``sloth.dev/core/validate/v1``: Sloth's SLO validation for the Prometheus dialect, first in the default chain.

The parser already checks all of this with file and line (and more); the plugin keeps Sloth's contract for chains
that run after other plugins changed the SLO, and for ``-p`` plugins that rely on it.
"""

from __future__ import annotations

import re
from typing import Any

from codegen.conventions import WINDOW_TEMPLATE_RE
from codegen.lowering import event_templates
from codegen.model import SLO, AlertOptions, EventsSLI, RawSLI
from codegen.plan import SLORules
from codegen.promql import check_template
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginProcessError, PluginRequest, PluginUtils, SLOPlugin

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin", "validate_slo"]

SLO_PLUGIN_ID = "sloth.dev/core/validate/v1"
NAME_RE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")
NAME_RULE = "name must start and end with an alphanumeric and can only contain alphanumeric, '.', '_', and '-'"


def _name(value: str, what: str) -> None:
    if not value:
        raise PluginProcessError(f"invalid SLO {what}: required")
    if not NAME_RE.match(value):
        raise PluginProcessError(f"invalid SLO {what}: {NAME_RULE}")


def _label_pairs(pairs: tuple[tuple[str, str], ...], what: str) -> None:
    for key, value in pairs:
        if what.endswith("label") and key == "__name__":
            raise PluginProcessError(f"invalid {what} key {key!r}: the label key '__name__' is not allowed")
        if not key:
            raise PluginProcessError(f"invalid {what} key {key!r}: the {what.split()[-1]} key is not valid")
        if not value:
            raise PluginProcessError(f"invalid {what} value {value!r}: the {what.split()[-1]} value is required")


def _template(query: str, what: str) -> None:
    if not query:
        raise PluginProcessError(f"invalid SLI: {what} template: query template is required")
    if not WINDOW_TEMPLATE_RE.search(query):
        raise PluginProcessError(f"invalid SLI: {what} template: template must contain the {{{{ .window }}}} variable")
    problem = check_template(query)
    if problem:
        raise PluginProcessError(f"invalid SLI: {what} expression: {problem}")


def _sli(slo: SLO) -> None:
    sli = slo.sli
    if isinstance(sli, RawSLI):
        _template(sli.error_ratio_query, "sli raw query")
        return
    templates = event_templates(sli, slo.grouping)
    if templates is None:  # timeslice: an instant gauge condition, validated by the parser
        return
    error, total = templates
    if isinstance(sli, EventsSLI) and error == total:
        raise PluginProcessError("invalid SLI: both error and total queries can't be the same")
    _template(error, "sli error query")
    _template(total, "sli total query")


def _alert(slo: SLO, options: AlertOptions, what: str) -> None:
    if options.disabled:
        return
    if not slo.alerting.name:
        raise PluginProcessError(f"invalid alert: {what} alert: alert name is required")
    _label_pairs((*slo.alerting.labels, *options.labels), f"alert: {what} alert: alert label")
    _label_pairs((*slo.alerting.annotations, *options.annotations), f"alert: {what} alert: alert annotation")


def validate_slo(slo: SLO) -> None:
    """Raise ``PluginProcessError`` with Sloth's message for the first problem found."""
    _name(slo.id, "ID")
    _name(slo.name, "name")
    _name(slo.service, "service")
    if slo.period <= 0:
        raise PluginProcessError("time window is required")
    if not 0 < slo.objective <= 100:
        raise PluginProcessError("objective must >0 and <=100")
    _label_pairs(slo.labels, "SLO label")
    _sli(slo)
    _alert(slo, slo.alerting.page, "page")
    _alert(slo, slo.alerting.ticket, "ticket")
    for level in (slo.spec_plugins, slo.plugins):
        if any(not ref.id for ref in level.plugins):
            raise PluginProcessError("invalid plugins: plugin ID is required")
    if slo.plugins.override_previous and not slo.plugins.plugins:
        raise PluginProcessError("invalid plugins: override plugins is set but no plugins are defined")
    if slo.spec_plugins.override_previous and not (slo.spec_plugins.plugins or slo.plugins.plugins):
        raise PluginProcessError("invalid plugins: override plugins is set but no plugins are defined")


class ValidatePlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        try:
            validate_slo(request.slo)
        except PluginProcessError as exc:
            raise PluginProcessError(f'invalid slo "{request.slo.id}": {exc}') from None


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config (Sloth ignores any)."""
    return ValidatePlugin()
