"""The Sloth names the contrib plugins read and write (to be re-exported from ``codegen.conventions``)."""

from __future__ import annotations

from codegen.model import SLO

SLO_ID_LABEL = "sloth_id"
SLO_SERVICE_LABEL = "sloth_service"
SLO_NAME_LABEL = "sloth_slo"
WINDOW_LABEL = "sloth_window"
INFO_METRIC = "sloth_slo_info"
BUDGET_REMAINING_METRIC = "slo:period_error_budget_remaining:ratio"


def sli_error_metric(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def id_labels(slo: SLO) -> dict[str, str]:
    return {SLO_ID_LABEL: slo.id, SLO_SERVICE_LABEL: slo.service, SLO_NAME_LABEL: slo.name}
