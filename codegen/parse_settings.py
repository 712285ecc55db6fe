"""What every front end (Sloth's forms, OpenSLO) reads documents with, and the period-to-windows lookup they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from codegen.durations import format_duration
from codegen.errors import SpecError
from codegen.fields import Fields
from codegen.loader import FieldPath
from codegen.model import WindowCatalog
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS, SLIPlugin


@dataclass
class ParseSettings:
    """What the CLI decides for every document: default period, window catalogs, the SLI plugins ``sli.plugin``
    ids resolve against, Sloth-compatible reading, and where warnings go."""

    default_period: int
    catalogs: dict[int, WindowCatalog]
    sli_plugins: Mapping[str, SLIPlugin] = field(default_factory=lambda: BUILTIN_SLI_PLUGINS)
    sloth_compat: bool = False
    warnings: list[SpecError] = field(default_factory=list)
    # SLO IDs repeated across documents: "files" errs across files (slogen's rule), "all" also across documents
    # of one file (Sloth's validate), "ignore" never (Sloth's generate, --ignore-slo-duplicates). A repeat inside
    # one document is always an error, as in Sloth.
    slo_duplicates: Literal["files", "all", "ignore"] = "files"


def catalog_for(ctx: Fields, period: int, path: FieldPath, settings: ParseSettings) -> WindowCatalog | None:
    """The alert windows of an SLO period, or an error naming the periods that have windows."""
    catalog = settings.catalogs.get(period)
    if catalog is None:
        known = ", ".join(format_duration(p) for p in sorted(settings.catalogs))
        ctx.err(
            path,
            f"no alert windows for SLO period {format_duration(period)} (known periods: {known}); "
            "add an AlertWindows file with --slo-period-windows-path",
        )
    return catalog
