"""Alert-window catalogs: Sloth's built-in 30d/28d SRE-workbook windows, or ``AlertWindows`` files that replace them."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from codegen.durations import DurationError, format_duration, parse_duration
from codegen.errors import SpecError
from codegen.fields import Fields
from codegen.loader import FieldPath, discover, load_yaml_file
from codegen.model import AlertTier, TierName, WindowCatalog

_TIERS: tuple[tuple[TierName, str, str], ...] = (
    ("page-quick", "page", "quick"),
    ("page-slow", "page", "slow"),
    ("ticket-quick", "ticket", "quick"),
    ("ticket-slow", "ticket", "slow"),
)


@cache
def _shipped_catalogs() -> tuple[WindowCatalog, ...]:
    """Parsed once per process: every spec load asks for them (the test suite thousands of times)."""
    out: list[WindowCatalog] = []
    folder = resources.files("codegen").joinpath("windows")
    for name in ("google-30d.yaml", "google-28d.yaml"):
        text = folder.joinpath(name).read_text(encoding="utf-8")
        catalog, errors = parse_alert_windows(yaml.safe_load(text), f"<builtin>/{name}")
        assert catalog is not None and not errors, errors
        out.append(catalog)
    return tuple(out)


def builtin_catalogs() -> dict[int, WindowCatalog]:
    """The 30d and 28d catalogs shipped with the package (a fresh dict; the catalogs are frozen)."""
    return {catalog.period: catalog for catalog in _shipped_catalogs()}


def load_catalogs(directory: str | None) -> tuple[dict[int, WindowCatalog], list[SpecError]]:
    """Sloth semantics: a ``--slo-period-windows-path`` directory *replaces* the built-in catalogs."""
    if directory is None:
        return builtin_catalogs(), []
    root = Path(directory)
    if not root.is_dir():
        return {}, [SpecError(str(root), None, None, "", "SLO period windows path is not a directory")]
    catalogs: dict[int, WindowCatalog] = {}
    found, errors = discover(directory)
    for path, _ in found:
        documents, load_errors = load_yaml_file(path)
        errors.extend(load_errors)
        if load_errors:
            continue
        if len(documents) != 1:
            errors.append(SpecError(str(path), None, None, "", "expected exactly one AlertWindows document"))
            continue
        data = documents[0].data
        catalog, errs = parse_alert_windows(data, str(path))
        errors.extend(errs)
        if catalog is not None:
            if catalog.period in catalogs:
                errors.append(
                    SpecError(
                        str(path),
                        None,
                        None,
                        "spec.sloPeriod",
                        f"period {format_duration(catalog.period)} is defined twice",
                    )
                )
            catalogs[catalog.period] = catalog
    if not catalogs and not errors:  # pragma: no cover - discover reports an empty directory
        errors.append(SpecError(str(root), None, None, "", "no AlertWindows specs found"))
    return catalogs, errors


def parse_alert_windows(data: Any, path: str) -> tuple[WindowCatalog | None, list[SpecError]]:
    """Validate one ``sloth.slok.dev/v1 AlertWindows`` document; every tier and window is required."""
    errors: list[SpecError] = []

    def err(fld: str, msg: str) -> None:
        errors.append(SpecError(path, None, None, fld, msg))

    if not isinstance(data, dict) or data.get("kind") != "AlertWindows":
        err("kind", "expected an AlertWindows spec (apiVersion: sloth.slok.dev/v1, kind: AlertWindows)")
        return None, errors
    if data.get("apiVersion") != "sloth.slok.dev/v1":
        err("apiVersion", "must be sloth.slok.dev/v1")
    spec = data.get("spec")
    if not isinstance(spec, dict):
        err("spec", "required")
        return None, errors
    try:
        period = parse_duration(str(spec.get("sloPeriod", "")))
    except DurationError as exc:
        err("spec.sloPeriod", str(exc))
        return None, errors
    tiers: list[AlertTier] = []
    for tier_name, severity, speed in _TIERS:
        base = f"spec.{severity}.{speed}"
        raw = (spec.get(severity) or {}).get(speed) if isinstance(spec.get(severity), dict) else None
        if not isinstance(raw, dict):
            err(base, "required")
            continue
        try:
            percent = float(raw["errorBudgetPercent"])
        except (KeyError, TypeError, ValueError):
            err(f"{base}.errorBudgetPercent", "required number")
            continue
        if not 0 < percent <= 100:
            err(f"{base}.errorBudgetPercent", "must be > 0 and <= 100")
        windows: dict[str, int] = {}
        for key in ("shortWindow", "longWindow"):
            try:
                windows[key] = parse_duration(str(raw.get(key, "")))
            except DurationError:
                label = "short" if key == "shortWindow" else "long"
                err(f"{base}.{key}", f"{label} window is required (a duration such as 5m)")
        if len(windows) == 2:
            if windows["shortWindow"] >= windows["longWindow"]:
                err(f"{base}.shortWindow", "short window must be shorter than the long window")
            tiers.append(
                AlertTier(
                    tier_name,
                    severity,  # type: ignore[arg-type]
                    percent,
                    windows["shortWindow"],
                    windows["longWindow"],
                    period,
                )
            )
    if errors:
        return None, errors
    return WindowCatalog(period, *tiers), errors


def slo_alert_windows(ctx: Fields, value: Any, path: FieldPath, period: int) -> WindowCatalog | None:
    """Extension: one SLO's own tiers (``alert_windows``: an ``AlertWindows`` spec's ``page``/``ticket`` without
    ``sloPeriod``, which is the SLO's period), e.g. an OpenSLO alert policy's burn rates converted to our spec. A
    tier may give its ``burnFactor`` as such (Pyrra's 14/7/2/1) beside the budget share it stands for."""
    if not isinstance(value, dict):
        ctx.err(path, "must be a mapping with page and ticket tiers, as in an AlertWindows spec")
        return None
    factors: dict[str, float] = {}
    tiers: dict[str, Any] = {}
    for key, speeds in value.items():
        if key not in ("page", "ticket"):
            ctx.err((*path, key), f"unknown key {key!r} (valid keys: page, ticket)")
            continue
        tiers[key] = speeds
        if not isinstance(speeds, dict):
            continue
        tiers[key] = {speed: dict(tier) if isinstance(tier, dict) else tier for speed, tier in speeds.items()}
        for speed, tier in tiers[key].items():
            factor = tier.pop("burnFactor", None) if isinstance(tier, dict) else None
            if (
                isinstance(factor, bool)
                or not isinstance(factor, int | float | None)
                or (factor is not None and factor <= 0)
            ):
                ctx.err((*path, key, speed, "burnFactor"), "must be a positive number")
            elif factor is not None:
                factors[f"{key}-{speed}"] = float(factor)
    spec = {"sloPeriod": format_duration(period), **tiers}
    catalog, errors = parse_alert_windows({"apiVersion": "sloth.slok.dev/v1", "kind": "AlertWindows", "spec": spec}, "")
    for error in errors:
        ctx.err((*path, *error.field.removeprefix("spec.").split(".")), error.message)
    if catalog is None or not factors:
        return catalog
    given = [replace(t, factor=factors.get(t.name)) for t in catalog.tiers]
    return WindowCatalog(catalog.period, *given)
