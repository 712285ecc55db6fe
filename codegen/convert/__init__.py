"""``slogen convert``: any spec slogen reads, written as slogen's spec, plain Sloth ``prometheus/v1`` or OpenSLO v1.

A converter is a function of the parsed model (``SpecSet``), so every input format converts to every output format
and nothing here reads a file. Each input file becomes one output file (same relative path); what the target
cannot express is a warning (``Conversion.warnings``) or, when nothing sensible can be written, a
``ConvertError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal, get_args

from codegen import __version__
from codegen.convert.openslo import ConvertError, document_objects
from codegen.convert.sloth import lower_document
from codegen.convert.spec import document_data
from codegen.model import SLO, SpecDocument, SpecSet, WindowCatalog
from codegen.slo_plugins.labels import merge
from codegen.yamlfmt import dump

Target = Literal["slogen", "sloth", "openslo"]
TARGETS: Final[tuple[str, ...]] = get_args(Target)

__all__ = ["TARGETS", "Conversion", "ConvertError", "Target", "convert_specs"]


@dataclass
class Conversion:
    """Converted files by their path relative to the input root, and one warning per loss (in order, unique)."""

    files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def header(target: Target, source: str) -> str:
    return f"# Converted by slogen {__version__} (slogen convert --to {target}) from {source}.\n"


def _with_run_labels(doc: SpecDocument, specs: SpecSet) -> tuple[SLO, ...]:
    """``--extra-labels`` are baked into the SLO labels (they win, as when compiling)."""
    extra = specs.options.extra_labels
    return tuple(replace(s, labels=merge(s.labels, extra)) for s in doc.slos) if extra else doc.slos


def convert_specs(
    specs: SpecSet, target: Target, catalogs: Mapping[int, WindowCatalog], default_period: int
) -> Conversion:
    """Every file of ``specs`` in ``target``'s format. ``catalogs`` are the run's alert windows by period (an SLO
    with other tiers carries its own), ``default_period`` the run's (what Sloth compiles an SLO without a period
    with). Raises ``ConvertError`` listing what cannot be written."""
    default_windows = catalogs[default_period]
    result = Conversion()
    warnings: list[str] = []
    errors: list[str] = []
    taken: set[str] = set()  # OpenSLO object names of the run
    for spec_file in specs.files:
        parts: list[str] = []
        if spec_file.dashboards:
            warnings.append(f"{spec_file.path}: dashboard documents are not converted (slogen/v1 Dashboard)")
        for doc in spec_file.documents:
            slos = _with_run_labels(doc, specs)
            match target:
                case "slogen":
                    data = document_data(doc, slos, period=True, no_data=True, threshold_alerts=True, catalogs=catalogs)
                    parts.append(dump(data))
                case "sloth":
                    lowered = lower_document(replace(doc, slos=slos), default_windows, warnings)
                    data = document_data(doc, lowered, period=False, no_data=False, threshold_alerts=False)
                    parts.append(dump(data))
                case "openslo":
                    try:
                        objects = document_objects(replace(doc, slos=slos), warnings, taken)
                    except ConvertError as exc:
                        errors.append(str(exc))
                        continue
                    parts.extend(dump(obj) for obj in objects)
        if parts:
            result.files[spec_file.relative] = header(target, spec_file.path) + "---\n".join(parts)
    if errors:
        raise ConvertError("\n".join(errors))
    result.warnings = list(dict.fromkeys(warnings))
    return result
