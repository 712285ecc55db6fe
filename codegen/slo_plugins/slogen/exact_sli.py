"""``slogen.dev/exact_sli/v1``: SLI windows and the period as ratios of recorded tiles (``codegen.exact_rules``).

Rewrites the SLI recordings that still hold an expression of ``sloth.dev/core/sli_rules/v1`` (Sloth's ratio, the
NaN-safe ratio, or the optimized period average) into ratios of tile sums, and adds the tiles before them in the
same group, so every rule reads tiles recorded earlier in the same evaluation. A recording another plugin changed,
a window that is not whole 5m tiles and a raw SLI's alert windows are left as they are. Names and labels of the
SLI recordings do not change, so the metadata rules, the alerts and Sloth's dashboards read them as before.

Config (optional): ``interval``, the SLI group's evaluation interval; it must divide 5m (tiles are read at whole
5m offsets). Counter-increment tiles are exact at any such interval; rate tiles (queries not linear in their rates)
are most accurate at the scrape interval of the SLI's metrics. Without it the group keeps its interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from codegen.conventions import LABEL_WINDOW, TOTAL_TILE_PREFIX
from codegen.durations import DurationError, format_duration, parse_duration
from codegen.exact_rules import BASE_TILE, SLOTiles, slo_tiles, tile_record, tile_rules
from codegen.lowering import error_ratio, nan_safe_error_ratio
from codegen.model import SLO, NativeLatencySLI, SliceRatioSLI
from codegen.plan import SLI_ROLES, RecordingRule, Rule, RuleGroup, SLORules
from codegen.slo_plugins.api import SLO_PLUGIN_VERSION, PluginConfigError, PluginRequest, PluginUtils, SLOPlugin
from codegen.slo_plugins.config import config_mapping
from codegen.slo_plugins.core.sli_rules import optimized_period_expr

__all__ = ["SLO_PLUGIN_ID", "SLO_PLUGIN_VERSION", "new_plugin"]

SLO_PLUGIN_ID = "slogen.dev/exact_sli/v1"
BASE_TOTAL = tile_record(TOTAL_TILE_PREFIX, BASE_TILE)


_seconds = lru_cache(maxsize=256)(parse_duration)  # the same few windows for every SLO


def _built_by_sli_rules(slo: SLO, rule: RecordingRule, window: str) -> bool:
    """Whether ``rule`` still holds what the core SLI plugin (and ``nan_safe_sli``) wrote for ``window``."""
    expr = rule.expr  # likeliest first: the period is the optimized average, the windows NaN-safe ratios
    base = slo.windows.base_window
    if rule.role == "sli_period" and expr == optimized_period_expr(slo, window, format_duration(base)):
        return True
    return expr == nan_safe_error_ratio(slo, window) or expr == error_ratio(slo, window)


def _tiled(slo: SLO, rule: Rule, tiles: SLOTiles) -> str | None:
    """The tiled expression of an SLI recording the core plugin built; None to leave ``rule`` as it is."""
    if not (isinstance(rule, RecordingRule) and rule.role in SLI_ROLES and rule.window):
        return None
    if not _built_by_sli_rules(slo, rule, rule.window):
        return None
    return tiles.window_expr(_seconds(rule.window), is_period=rule.role == "sli_period")


def tileable(slo: SLO) -> bool:
    """Tiles sum one series per SLO: a grouped SLO keeps the per-group raw windows (the tiles' zero fill would
    merge its groups), and the native-histogram and slice-ratio SLIs have no tile form yet."""
    return not slo.grouping and not isinstance(slo.sli, NativeLatencySLI | SliceRatioSLI)


@dataclass(frozen=True)
class ExactSLIPlugin:
    interval: str | None

    def process(self, request: PluginRequest, rules: SLORules) -> None:
        slo = request.slo
        if not tileable(slo):
            return
        group = rules.sli_recordings
        out: list[Rule] = []
        tiled: list[int] = []
        first: int | None = None  # where the tiles go: before the first rewritten recording
        tile_labels: tuple[tuple[str, str], ...] = ()
        tiles = slo_tiles(slo)
        for rule in group.rules:
            expr = _tiled(slo, rule, tiles)
            if isinstance(rule, RecordingRule) and rule.window and expr is not None:
                if first is None:
                    first = len(out)
                    tile_labels = tuple((k, v) for k, v in rule.labels if k != LABEL_WINDOW)
                tiled.append(_seconds(rule.window))
                rule = rule.with_expr(expr)
            out.append(rule)
        if first is None:  # nothing (left) to tile; declared again after the default, its interval still applies
            if self.interval and any(isinstance(r, RecordingRule) and r.record == BASE_TOTAL for r in group.rules):
                rules.sli_recordings = RuleGroup(group.name, group.rules, self.interval)
            return
        out[first:first] = tile_rules(slo, tiled, tile_labels, tiles)
        rules.sli_recordings = RuleGroup(group.name, tuple(out), self.interval or group.interval)


def new_plugin(config: Any, utils: PluginUtils) -> SLOPlugin:
    """Config: ``{"interval": "30s"}`` (optional; must divide 5m)."""
    cfg = config_mapping(config, {"interval": str})
    interval: str | None = cfg["interval"]
    if interval is not None:
        try:
            seconds = parse_duration(interval)
        except DurationError as exc:
            raise PluginConfigError(f"config key 'interval': {exc}") from exc
        if BASE_TILE % seconds:
            raise PluginConfigError(
                f"config key 'interval': {interval} does not divide {format_duration(BASE_TILE)}: the tiles are "
                "read at whole 5m offsets, so the evaluations must land on them (e.g. 15s, 30s, 1m, 5m)"
            )
        interval = format_duration(seconds)
    return ExactSLIPlugin(interval)
