"""The Sloth names the contrib plugins read and write, from ``codegen.conventions`` (their one home)."""

from __future__ import annotations

from codegen import conventions
from codegen.conventions import (
    LABEL_ID as SLO_ID_LABEL,
)
from codegen.conventions import (
    LABEL_SERVICE as SLO_SERVICE_LABEL,
)
from codegen.conventions import (
    LABEL_SLO as SLO_NAME_LABEL,
)
from codegen.conventions import (
    LABEL_WINDOW as WINDOW_LABEL,
)
from codegen.conventions import (
    PERIOD_BUDGET_REMAINING as BUDGET_REMAINING_METRIC,
)
from codegen.conventions import (
    SLO_INFO as INFO_METRIC,
)
from codegen.conventions import (
    sli_error_record as sli_error_metric,
)
from codegen.model import SLO

__all__ = [
    "BUDGET_REMAINING_METRIC",
    "INFO_METRIC",
    "SLO_ID_LABEL",
    "SLO_NAME_LABEL",
    "SLO_SERVICE_LABEL",
    "WINDOW_LABEL",
    "id_labels",
    "sli_error_metric",
]


def id_labels(slo: SLO) -> dict[str, str]:
    return dict(conventions.id_labels(slo.service, slo.name))
