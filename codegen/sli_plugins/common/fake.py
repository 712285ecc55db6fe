"""Fake: a constant error ratio that burns the budget at ``burn_rate``, optionally with a jitter."""

from __future__ import annotations

from collections.abc import Mapping

from codegen.sli_plugins.api import META_OBJECTIVE, SLIPlugin, SLIPluginError
from codegen.sli_plugins.golang import format_f, parse_float


def _number(source: Mapping[str, str], key: str, what: str, missing: str | None) -> float:
    if key not in source:
        if missing is None:
            return 0.0
        raise SLIPluginError(f"could not get {what}: {missing}")
    try:
        return parse_float(source[key])
    except ValueError as exc:
        raise SLIPluginError(f"could not get {what}: not a valid {key}, can't parse to float64: {exc}") from exc


def fake(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """``burn_rate`` x the error budget as a flat ratio; ``jitter_percent`` adds a pseudo-random wobble."""
    objective = _number(meta, META_OBJECTIVE, "objective", "'objective' metadata missing")
    burn_rate = _number(options, "burn_rate", "burn rate", "'burn_rate' option is required")
    jitter = _number(options, "jitter_percent", "jitter percent", None)
    error_ratio = (100 - objective) / 100 * burn_rate
    query = f"max_over_time(vector({format_f(error_ratio)})[{{{{.window}}}}:])"
    if jitter == 0:
        return query
    wobble = (
        f"({format_f(error_ratio)} * ({format_f(jitter)} - "
        f"((time() * minute() * hour() * day_of_week() * month()) % {format_f(jitter * 2)}))) / 100"
    )
    return f"({query}) - ({wobble})"


PLUGINS = (SLIPlugin("sloth-common/fake", fake),)
