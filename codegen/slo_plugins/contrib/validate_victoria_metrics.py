"""``sloth.dev/contrib/validate_victoria_metrics/v1``: Sloth's SLO validation with the MetricsQL dialect.

Replaces ``sloth.dev/core/validate/v1`` for VictoriaMetrics backends (disable the defaults and list the core
generators again): the same checks on names, objective, labels, annotations and SLI templates, but queries are
checked as MetricsQL (``codegen.slo_plugins.contrib.metricsql``) instead of being parsed as PromQL.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from codegen.lowering import event_templates
from codegen.model import SLO, EventsSLI, LatencySLI, NativeLatencySLI, RawSLI, SliceRatioSLI, TimesliceSLI
from codegen.plan import SLORules
from codegen.slo_plugins.api import PluginProcessError, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.contrib._config import config_object
from codegen.slo_plugins.contrib._templates import render_window
from codegen.slo_plugins.contrib.metricsql import MetricsQLError, check_metricsql

SLO_PLUGIN_ID = "sloth.dev/contrib/validate_victoria_metrics/v1"
NAME_RE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")  # Sloth's name/ID rule
WINDOW_VAR_RE = re.compile(r"{{ *\.window *}}")  # Sloth requires this exact spelling in SLI templates
_FAKE_WINDOW = "1m"


def _name(kind: str, value: str) -> None:
    if not value:
        raise PluginProcessError(f"invalid SLO {kind}: required")
    if not NAME_RE.match(value):
        raise PluginProcessError(
            f"invalid SLO {kind} {value!r}: must start and end with an alphanumeric and can only contain "
            "alphanumerics, '.', '_' and '-'"
        )


def _labels(what: str, labels: Iterable[tuple[str, str]]) -> None:
    for key, value in labels:
        if not key or key == "__name__":
            raise PluginProcessError(f"invalid {what} label key {key!r}: not allowed")
        if not value:
            raise PluginProcessError(f"invalid {what} label value for {key!r}: the label value is required")


def _annotations(what: str, annotations: Iterable[tuple[str, str]]) -> None:
    for key, value in annotations:
        if not key:
            raise PluginProcessError(f"invalid {what} annotation key {key!r}")
        if not value:
            raise PluginProcessError(f"invalid {what} annotation value for {key!r}: the annotation value is required")


def _query(what: str, template: str, need_window: bool = True) -> None:
    if not template:
        raise PluginProcessError(f"invalid SLI: {what}: query template is required")
    if need_window and not WINDOW_VAR_RE.search(template):
        raise PluginProcessError(f"invalid SLI: {what}: template must contain the {{{{ .window }}}} variable")
    try:
        check_metricsql(render_window(template, _FAKE_WINDOW, what))
    except MetricsQLError as exc:
        raise PluginProcessError(f"invalid SLI: {what} expression: {exc}") from exc


def validate_slo_metricsql(slo: SLO) -> None:
    """Sloth's ``ValidateSLO`` with the MetricsQL dialect; raises ``PluginProcessError`` naming the problem."""
    _name("ID", slo.id)
    _name("name", slo.name)
    _name("service", slo.service)
    if slo.period <= 0:
        raise PluginProcessError("time window is required")
    if not 0 < slo.objective <= 100:
        raise PluginProcessError(f"objective must be >0 and <=100 (got {slo.objective})")
    _labels("SLO", slo.labels)
    sli = slo.sli
    match sli:
        case EventsSLI() | LatencySLI():
            templates = event_templates(sli, slo.grouping)
            assert templates is not None  # a ratio of counts always has both templates
            error_query, total_query = templates
            if error_query == total_query:
                raise PluginProcessError("invalid SLI: both error and total queries can't be the same")
            _query("sli error query", error_query)
            _query("sli total query", total_query)
        case RawSLI():
            _query("sli raw query", sli.error_ratio_query)
        case TimesliceSLI():
            _query("sli timeslice query", sli.query, need_window=False)
        case SliceRatioSLI():
            _query("sli slice ratio query", sli.error_ratio_query)
        case NativeLatencySLI():
            raise PluginProcessError("invalid SLI: native histograms (histogram_fraction) are not MetricsQL")
    alerting = slo.alerting
    for tier, opts in (("page", alerting.page), ("ticket", alerting.ticket)):
        if opts.disabled:
            continue
        if not alerting.name:
            raise PluginProcessError(f"invalid alert: {tier} alert: alert name is required")
        _labels(f"{tier} alert", (*alerting.labels, *opts.labels))
        _annotations(f"{tier} alert", (*alerting.annotations, *opts.annotations))


@dataclasses.dataclass(frozen=True)
class ValidateVictoriaMetricsPlugin:
    def process(self, request: PluginRequest, rules: SLORules) -> None:
        try:
            validate_slo_metricsql(request.slo)
        except PluginProcessError as exc:
            raise PluginProcessError(f"invalid slo {request.slo.id!r}: {exc}") from exc


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """No config."""
    config_object(config, (), utils.logger, SLO_PLUGIN_ID)
    return ValidateVictoriaMetricsPlugin()
