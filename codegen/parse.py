"""Turn loaded YAML into the frozen SLO model, collecting every error with file, line, SLO and field.

Accepts Sloth ``prometheus/v1`` (snake_case) and Kubernetes ``sloth.slok.dev/v1 PrometheusServiceLevel``
(camelCase) documents, plus our documented extensions (``period``, ``for``, ``no_data_alert``, ``sli.latency``,
``sli.timeslice``, ``threshold_alerts``). Unlike Sloth, unknown keys are errors with a suggestion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from codegen.conventions import K8S_SPEC, threshold_group
from codegen.dashboard_spec import dashboard_uid_errors, is_dashboard_document, parse_dashboard_document
from codegen.durations import DurationError, format_duration, parse_duration
from codegen.errors import SpecError, SpecErrors
from codegen.fields import (
    DNS_LABEL_RE,
    DNS_SUBDOMAIN_RE,
    K8S_KEY_RE,
    LABEL_KEY_RE,
    NAME_RE,
    NAME_RULE,
    Fields,
    merge_labels,
)
from codegen.loader import Document, FieldPath, LoadedFile, PathFilter, load_files
from codegen.model import (
    SLO,
    CompileOptions,
    K8sMeta,
    PluginChainSpec,
    Source,
    SpecDocument,
    SpecFile,
    SpecSet,
    WindowCatalog,
)
from codegen.openslo_v1_objects import is_openslo_v1
from codegen.parse_alerts import parse_alerting, parse_threshold_alerts
from codegen.parse_openslo import parse_openslo_document
from codegen.parse_openslo_v1 import parse_openslo_v1
from codegen.parse_plugins import parse_plugin_chain
from codegen.parse_pyrra import is_pyrra, parse_pyrra_document
from codegen.parse_settings import ParseSettings, catalog_for
from codegen.parse_sli import PluginCall, parse_grouping, parse_sli
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS, SLIPlugin, plugin_meta
from codegen.windows import load_catalogs, slo_alert_windows

__all__ = ["LABEL_KEY_RE", "ParseSettings", "load_specs", "parse_document", "parse_files"]

K8S_API = "sloth.slok.dev/v1"


# ---------------------------------------------------------------------------------------------------------------
# Documents


def parse_document(doc: Document, settings: ParseSettings, errors: list[SpecError]) -> SpecDocument | None:
    data = doc.data
    if not isinstance(data, dict):
        errors.append(SpecError(doc.path, doc.line(()), None, "", "a spec document must be a YAML mapping"))
        return None
    if "apiVersion" in data or "kind" in data:
        return _parse_k8s(doc, data, settings, errors)
    ctx = Fields(doc, "prometheus/v1", errors, sloth_compat=settings.sloth_compat, warnings=settings.warnings)
    top = ctx.mapping(data, (), ["version", "service", "labels", "slos", "threshold_alerts", "slo_plugins"])
    if top["version"] != "prometheus/v1":
        ctx.err(("version",), f'invalid spec version {top["version"]!r}: must be "prometheus/v1"')
        return None
    return _parse_body(ctx, top, settings, Source(doc.path, doc.line(())), None)


def _parse_k8s(
    doc: Document, data: dict[str, Any], settings: ParseSettings, errors: list[SpecError]
) -> SpecDocument | None:
    if data.get("kind") == "SLO" or str(data.get("apiVersion", "")).startswith("openslo/"):
        return parse_openslo_document(doc, data, settings, errors)
    if is_pyrra(data):
        return parse_pyrra_document(doc, data, settings, errors)
    ctx = Fields(doc, "sloth.slok.dev/v1", errors, sloth_compat=settings.sloth_compat, warnings=settings.warnings)
    top = ctx.mapping(data, (), ["api_version", "kind", "metadata", "spec"])
    if top["kind"] != "PrometheusServiceLevel":
        ctx.err(("kind",), f"unsupported kind {top['kind']!r}: expected PrometheusServiceLevel")
        return None
    if top["api_version"] != K8S_API:
        ctx.err(("apiVersion",), f"unsupported apiVersion {top['api_version']!r}: expected {K8S_API}")
        return None
    meta = ctx.mapping(top["metadata"], ("metadata",), ["name", "namespace", "labels", "annotations"], required=True)
    name = ctx.string(meta["name"], ("metadata", "name"), required=True)
    if name and (len(name) > 253 or not DNS_SUBDOMAIN_RE.match(name)):
        ctx.err(
            ("metadata", "name"),
            f"invalid Kubernetes name {name[:80]!r}: a DNS subdomain (RFC 1123) is lowercase letters, digits, "
            "'-' and '.', starts and ends with a letter or digit, at most 253 characters",
        )
    namespace = ctx.string(meta["namespace"], ("metadata", "namespace"))
    if namespace and (len(namespace) > 63 or not DNS_LABEL_RE.match(namespace)):
        ctx.err(
            ("metadata", "namespace"),
            f"invalid Kubernetes namespace {namespace[:80]!r}: a DNS label (RFC 1123) is lowercase letters, digits "
            "and '-', starts and ends with a letter or digit, at most 63 characters",
        )
    k8s = K8sMeta(
        name=name,
        namespace=namespace or None,
        labels=ctx.labels(meta["labels"], ("metadata", "labels"), key_re=K8S_KEY_RE),
        annotations=ctx.labels(meta["annotations"], ("metadata", "annotations"), "annotation", key_re=K8S_KEY_RE),
    )
    ctx.base = ("spec",)
    spec = ctx.mapping(top["spec"], (), ["service", "labels", "slos", "threshold_alerts", "slo_plugins"], required=True)
    return _parse_body(ctx, spec, settings, Source(doc.path, doc.line(())), k8s)


def _parse_body(
    ctx: Fields, top: dict[str, Any], settings: ParseSettings, source: Source, k8s: K8sMeta | None
) -> SpecDocument | None:
    spec_plugins = parse_plugin_chain(ctx, top["slo_plugins"], (ctx.key("slo_plugins"),))
    service = ctx.string(top["service"], ("service",))
    if not service:
        ctx.err(("service",), "invalid SLO service: required")
    elif not NAME_RE.match(service):
        ctx.err(("service",), f"invalid SLO service: {NAME_RULE}")
    spec_labels = ctx.labels(top["labels"], ("labels",))
    raw_slos = top["slos"]
    slos: list[SLO] = []
    if not isinstance(raw_slos, list) or not raw_slos:
        ctx.err(("slos",), "at least one SLO is required")
    else:
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_slos):
            slo = _parse_slo(ctx, raw, index, service, spec_labels, settings, spec_plugins)
            if slo is None:
                continue
            if slo.id in seen:
                ctx.slo = slo.name
                ctx.err(("slos", index, "name"), f'SLO ID "{slo.id}" is repeated (first at slos[{seen[slo.id]}])')
                ctx.slo = None
            seen[slo.id] = index
            slos.append(slo)
    alerts = parse_threshold_alerts(ctx, top["threshold_alerts"])
    return SpecDocument(source, ctx.kind, service, tuple(slos), alerts, k8s)


# ---------------------------------------------------------------------------------------------------------------
# SLOs


def _parse_slo(
    ctx: Fields,
    raw: Any,
    index: int,
    service: str,
    spec_labels: tuple[tuple[str, str], ...],
    settings: ParseSettings,
    spec_plugins: PluginChainSpec,
) -> SLO | None:
    here: FieldPath = ("slos", index)
    name_guess = raw.get("name") if isinstance(raw, dict) else None
    ctx.slo = str(name_guess) if name_guess else f"slos[{index}]"
    fields = ctx.mapping(
        raw,
        here,
        [
            "name",
            "objective",
            "description",
            "labels",
            "sli",
            "alerting",
            "plugins",
            "period",
            "alert_windows",
            "grouping",
        ],
        required=True,
    )
    before = len(ctx.errors)
    name = ctx.string(fields["name"], (*here, "name"))
    if not name:
        ctx.err((*here, "name"), "invalid SLO name: required")
    elif not NAME_RE.match(name):
        ctx.err((*here, "name"), f"invalid SLO name: {NAME_RULE}")
    objective = fields["objective"]
    if isinstance(objective, bool) or not isinstance(objective, int | float):
        ctx.err((*here, "objective"), "objective is required and must be a number (a percentage, e.g. 99.9)")
        objective = 0.0
    elif not 0 < objective <= 100 or math.isnan(objective):
        ctx.err((*here, "objective"), "objective must >0 and <=100")
    description = ctx.string(fields["description"], (*here, "description"))
    labels = merge_labels(spec_labels, ctx.labels(fields["labels"], (*here, "labels")))
    plugins = parse_plugin_chain(ctx, fields["plugins"], (*here, "plugins"))
    windows = _resolve_period(ctx, fields["period"], (*here, "period"), settings, fields["alert_windows"])
    plugin_call = PluginCall(
        settings.sli_plugins, plugin_meta(service, name, float(objective)), dict(spec_labels), settings.sloth_compat
    )
    sli = parse_sli(ctx, fields["sli"], (*here, "sli"), plugin_call)
    alerting = parse_alerting(ctx, fields["alerting"], (*here, "alerting"))
    grouping = parse_grouping(ctx, fields["grouping"], (*here, "grouping"), sli)
    ctx.slo = None
    if len(ctx.errors) > before or sli is None or windows is None:
        return None
    return SLO(
        service=service,
        name=name,
        objective=float(objective),
        description=description,
        labels=labels,
        sli=sli,
        alerting=alerting,
        windows=windows,
        source=Source(ctx.doc.path, ctx.doc.line((*ctx.base, *here))),
        spec_kind=ctx.kind,
        grouping=grouping,
        spec_plugins=spec_plugins,
        plugins=plugins,
    )


def _resolve_period(
    ctx: Fields, value: Any, path: FieldPath, settings: ParseSettings, alert_windows: Any = None
) -> WindowCatalog | None:
    """The period's catalog, or the SLO's own ``alert_windows`` (then the period needs no catalog)."""
    if value is None:
        period = settings.default_period
    else:
        try:
            period = parse_duration(str(value))
        except DurationError as exc:
            ctx.err(path, str(exc))
            return None
    if alert_windows is not None:
        return slo_alert_windows(ctx, alert_windows, (*path[:-1], ctx.key("alert_windows")), period)
    return catalog_for(ctx, period, path, settings)


# ---------------------------------------------------------------------------------------------------------------
# Whole runs


def parse_files(loaded: Sequence[LoadedFile], settings: ParseSettings, errors: list[SpecError]) -> list[SpecFile]:
    files: list[SpecFile] = []
    openslo_v1 = parse_openslo_v1([d for f in loaded for d in f.documents if is_openslo_v1(d.data)], settings, errors)
    for lf in loaded:
        slo_docs = [
            item
            for d in lf.documents
            if not is_dashboard_document(d.data) and not is_openslo_v1(d.data)
            for item in _list_items(d)
        ]
        docs = [d for d in (parse_document(doc, settings, errors) for doc in slo_docs) if d is not None]
        docs += openslo_v1.get(lf.path, [])  # OpenSLO v1 objects refer to each other across files
        boards = [
            b
            for doc in lf.documents
            if is_dashboard_document(doc.data)
            if (b := parse_dashboard_document(doc, errors)) is not None
        ]
        if not lf.documents:
            errors.append(SpecError(lf.path, None, None, "", "file holds no spec documents"))
        files.append(SpecFile(lf.path, lf.relative, tuple(docs), tuple(boards)))
    _check_duplicates(files, errors, settings.slo_duplicates)
    errors.extend(dashboard_uid_errors([b for f in files for b in f.dashboards]))
    return files


def _list_items(doc: Document) -> list[Document]:
    """A top-level list of OpenSLO objects (as go-sdk writes them) as one document per item; else the document."""
    data = doc.data
    if not (isinstance(data, list) and data and all(isinstance(i, dict) and "apiVersion" in i for i in data)):
        return [doc]
    return [
        Document(doc.path, doc.index, item, {p[1:]: line for p, line in doc.lines.items() if p[:1] == (index,)})
        for index, item in enumerate(data)
    ]


def _check_duplicates(
    files: Sequence[SpecFile], errors: list[SpecError], slo_duplicates: Literal["files", "all", "ignore"] = "files"
) -> None:
    """SLO IDs (see ``ParseSettings.slo_duplicates``) and alert names must be unique across the whole run, and the
    rule groups of one output file must have distinct names (promtool rejects a file that repeats one) unless the
    run ignores duplicates, as Sloth's ``--ignore-slo-duplicates`` and its ``generate`` do."""
    slo_ids: dict[str, tuple[Source, int]] = {}
    alert_owner: dict[str, str] = {}
    for spec_file in files:
        threshold_groups: dict[str, int] = {}
        for doc_index, doc in enumerate(spec_file.documents):
            prefix = "spec." if doc.kind == K8S_SPEC else ""
            for index, slo in enumerate(doc.slos):
                seen = slo_ids.get(slo.id)
                if seen is None:
                    slo_ids[slo.id] = (slo.source, doc_index)
                elif seen[0] != slo.source:
                    first, first_doc = seen
                    same_file = first.path == slo.source.path
                    across_runs = slo_duplicates != "ignore" and (
                        not same_file or (slo_duplicates == "all" and first.line != slo.source.line)
                    )
                    one_file = same_file and first_doc != doc_index and slo_duplicates != "ignore"
                    if one_file or across_runs:
                        where = f"{first.path}:{first.line}" if not same_file else f"line {first.line}"
                        errors.append(
                            SpecError(
                                slo.source.path,
                                slo.source.line,
                                slo.name,
                                f"{prefix}slos[{index}].name",
                                f'SLO duplicated: ID "{slo.id}" already exists in {where}',
                            )
                        )
                if slo.alerting.enabled and slo.alerting.name:
                    alert_owner.setdefault(slo.alerting.name, slo.id)
            if doc.threshold_alerts and doc.k8s is None:
                group = threshold_group(doc.service)
                if group in threshold_groups:
                    errors.append(
                        SpecError(
                            doc.source.path,
                            doc.threshold_alerts[0].source.line,
                            None,
                            "threshold_alerts",
                            f"rule group {group} is already made by document {threshold_groups[group] + 1} of this "
                            "file: keep the threshold alerts of one service in one document",
                        )
                    )
                threshold_groups.setdefault(group, doc_index)
            for alert in doc.threshold_alerts:
                owner = alert_owner.get(alert.name)
                if owner is not None:
                    errors.append(
                        SpecError(
                            alert.source.path,
                            alert.source.line,
                            None,
                            "threshold_alerts.name",
                            f"alert name {alert.name!r} is already used by {owner}",
                        )
                    )
                alert_owner[alert.name] = f"{alert.source.path}:{alert.source.line}"


def load_specs(
    input_path: str,
    options: CompileOptions | None = None,
    default_period: str = "30d",
    windows_path: str | None = None,
    sli_plugins: Mapping[str, SLIPlugin] | None = None,
    *,
    path_filter: PathFilter | None = None,
    slo_duplicates: Literal["files", "all", "ignore"] = "files",
    warnings: list[SpecError] | None = None,
) -> SpecSet:
    """Read, validate and model every spec under ``input_path``; raise ``SpecErrors`` with all problems.

    ``sli_plugins`` replaces the built-in SLI plugins (``BUILTIN_SLI_PLUGINS``) ``sli.plugin`` ids resolve
    against; ``path_filter`` is ``-e``/``-n``; under ``options.sloth_compat`` specs are read as Sloth reads them;
    ``warnings`` collects what was read differently than written (reported even when errors are raised).
    """
    sloth_compat = (options or CompileOptions()).sloth_compat
    errors: list[SpecError] = []
    catalogs, window_errors = load_catalogs(windows_path)
    errors.extend(window_errors)
    try:
        period = parse_duration(default_period)
    except DurationError as exc:
        raise SpecErrors([SpecError("--default-slo-period", None, None, "", str(exc))]) from exc
    if catalogs and period not in catalogs:
        errors.append(
            SpecError(
                "--default-slo-period",
                None,
                None,
                "",
                f"invalid default slo period: no alert windows for {format_duration(period)}",
            )
        )
    loaded, load_errors = load_files(input_path, path_filter, sloth_compat)
    errors.extend(load_errors)
    settings = ParseSettings(
        period,
        catalogs,
        BUILTIN_SLI_PLUGINS if sli_plugins is None else sli_plugins,
        sloth_compat,
        warnings if warnings is not None else [],
        slo_duplicates,
    )
    files = parse_files(loaded, settings, errors)
    if errors:
        raise SpecErrors(errors)
    return SpecSet(tuple(files), options or CompileOptions())
