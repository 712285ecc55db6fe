"""``slogen``: Sloth's ``generate``/``validate`` flags, plus our renderers and ``import-dashboards``.

Exit codes: 0 ok, 1 invalid spec, 2 usage error, 3 generated files are stale (``--check``), 4 dashboard import
failed."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from codegen import __version__
from codegen.cli_sloth import SlothFlagError, SlothInputs, add_sloth_input_flags, sloth_inputs
from codegen.compiler import compile_specs
from codegen.conventions import RESERVED_LABELS
from codegen.convert.command import add_convert_flags, run_convert
from codegen.errors import SpecError, SpecErrors, printable
from codegen.exit_codes import EXIT_IMPORT_FAILED, EXIT_INVALID, EXIT_OK, EXIT_STALE, EXIT_USAGE
from codegen.fields import LABEL_KEY_RE
from codegen.grafana_http import Auth, GrafanaClient, GrafanaImportError, parse_grafana_url
from codegen.grafana_import import import_dashboards, load_dashboards
from codegen.model import CompileOptions
from codegen.parse import load_specs
from codegen.pipeline import STDOUT, Layout, OutputConflict, cyclic_gc_off, iter_files, stdout_rules
from codegen.plugin_files import LoadedPlugins, PluginFileError
from codegen.sli_plugins import BUILTIN_SLI_PLUGINS, SLIPlugin
from codegen.slo_plugins.registry import DuplicatePluginError, Registry, builtin_registry
from codegen.workers import AUTO_MAX_JOBS, AUTO_MIN_SLOS, MAX_JOBS, auto_jobs
from codegen.writer import WriteError, write_outputs


def _env(name: str, default: str | None = None) -> str | None:
    """Every flag can also come from ``SLOTH_<FLAG>`` like in Sloth."""
    return os.environ.get(f"SLOTH_{name.upper().replace('-', '_')}", default)


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not LABEL_KEY_RE.match(key) or not value:
        raise argparse.ArgumentTypeError(f"invalid extra label {text!r}: expected key=value")
    if key in RESERVED_LABELS:
        raise argparse.ArgumentTypeError(f"invalid extra label {text!r}: {key} is set from the service and SLO name")
    return key, value


def _add_spec_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--input",
        required=_env("input") is None,
        default=_env("input"),
        help="SLO spec file or directory (read recursively for .yml/.yaml)",
    )
    parser.add_argument(
        "--default-slo-period",
        default=_env("default-slo-period", "30d"),
        help="SLO period for specs without a per-SLO `period` (default: 30d)",
    )
    parser.add_argument(
        "--slo-period-windows-path",
        default=_env("slo-period-windows-path"),
        help="directory of Sloth AlertWindows specs; replaces the built-in 30d/28d windows",
    )
    parser.add_argument(
        "-l",
        "--extra-labels",
        action="append",
        type=_label,
        default=[],
        metavar="KEY=VALUE",
        help="label added to every recording rule (repeatable; overrides spec labels)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slogen",
        description="Compile Sloth-compatible SLO specs into Prometheus rules, promtool tests, Grafana "
        "dashboards and docs.",
        epilog="Exit codes: 0 ok, 1 invalid spec, 2 usage error, 3 generated files are stale (--check), "
        "4 dashboard import failed.",
    )
    parser.add_argument("--version", action="version", version=f"slogen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser(
        "generate",
        help="generate rules (and optionally tests, dashboards, docs)",
        description="Generate Prometheus rules from SLO specs. A directory input mirrors into a directory output.",
    )
    _add_spec_flags(gen)
    add_sloth_input_flags(gen, "generate")
    gen.add_argument(
        "-o",
        "--out",
        default=_env("out", STDOUT),
        help="output file, or directory for a directory input; '-' writes to stdout (default)",
    )
    gen.add_argument("--tests-out", help="directory for generated promtool tests")
    gen.add_argument("--dashboards-out", help="directory for generated Grafana dashboards (JSON)")
    gen.add_argument("--docs-out", help="path of the generated SLO document (Markdown)")
    gen.add_argument("--dashboards-docs-out", help="path of the generated page describing the dashboards (Markdown)")
    gen.add_argument("--disable-alerts", action="store_true", help="do not generate alert rules")
    gen.add_argument("--disable-recordings", action="store_true", help="do not generate recording rules")
    gen.add_argument(
        "--sloth-compat",
        action="store_true",
        help="emit exactly Sloth v0.16's expressions (no NaN guards, no-data alerts, severity, "
        "description or runbook_url additions; one YAML document per spec document)",
    )
    gen.add_argument(
        "--runbook-base-url",
        default=CompileOptions.runbook_base_url,
        help="base URL of docs/runbook.md; alerts link to <base>#<alertname-lowercase>",
    )
    gen.add_argument(
        "--check", action="store_true", help="write nothing; exit 3 if any generated file differs from what is on disk"
    )
    gen.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default="auto",
        help=f"processes rendering the outputs (default auto: the available cores, at most {AUTO_MAX_JOBS}, from "
        f"{AUTO_MIN_SLOS:,} SLOs on, else 1); the output is the same for any value",
    )

    val = sub.add_parser(
        "validate",
        help="validate SLO specs and report every error",
        description="Validate specs: runs the whole compilation and discards the output.",
    )
    _add_spec_flags(val)
    add_sloth_input_flags(val, "validate")
    val.add_argument(
        "--sloth-compat",
        action="store_true",
        help="read specs as Sloth v0.16 reads them: unknown keys are warnings, prometheus/v1 keys match in any case",
    )

    conv = sub.add_parser(
        "convert",
        help="convert specs to slogen's spec, plain Sloth prometheus/v1 or OpenSLO v1",
        description="Convert any spec slogen reads; what the target cannot express is a warning. A directory "
        "input mirrors into a directory output.",
    )
    _add_spec_flags(conv)
    add_sloth_input_flags(conv, "generate")
    add_convert_flags(conv)

    imp = sub.add_parser(
        "import-dashboards",
        help="upsert the generated dashboards into Grafana over its HTTP API",
        description="Save every dashboards/*.json into Grafana (POST /api/dashboards/db, overwrite), "
        "creating the folder if missing and checking the datasource first. Idempotent. "
        "Credentials can also come from GRAFANA_TOKEN, or GRAFANA_USER and GRAFANA_PASSWORD.",
        epilog="Exit codes: 0 ok, 2 usage error, 4 import failed.",
    )
    imp.add_argument(
        "--grafana-url",
        default=os.environ.get("GRAFANA_URL"),
        required="GRAFANA_URL" not in os.environ,
        help="Grafana root URL, e.g. http://localhost:3000 (env GRAFANA_URL)",
    )
    imp.add_argument(
        "--token", default=os.environ.get("GRAFANA_TOKEN"), help="service-account token (env GRAFANA_TOKEN)"
    )
    imp.add_argument("--user", default=os.environ.get("GRAFANA_USER"), help="basic-auth user (env GRAFANA_USER)")
    imp.add_argument(
        "--password", default=os.environ.get("GRAFANA_PASSWORD"), help="basic-auth password (env GRAFANA_PASSWORD)"
    )
    imp.add_argument("--folder", help="Grafana folder title, created if missing (default: General)")
    imp.add_argument("--dir", default="dashboards", help="directory of dashboard JSON files (default: dashboards)")
    imp.add_argument(
        "--no-overwrite",
        action="store_true",
        help="create only: fail (412) rather than replace a dashboard that exists in Grafana",
    )
    imp.add_argument(
        "--timeout",
        type=_seconds,
        default=15.0,
        help="seconds each HTTP request may take in total: connect, send and the whole answer (default: 15)",
    )
    return parser


def _jobs(text: str) -> int | Literal["auto"]:
    if text == "auto":
        return "auto"
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"invalid --jobs {text!r}: expected auto or a number from 1 to {MAX_JOBS}")
    return jobs


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (``-1``, ``0``, ``nan`` and ``inf`` are not deadlines)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds (got {text!r})")
    return value


def _import_dashboards(args: argparse.Namespace) -> int:
    """``slogen import-dashboards``: exit 0 when every dashboard was saved, 4 otherwise, 2 for bad flags.

    Every line printed is passed through ``say``: control characters escaped (one message, one line) and the
    credentials masked, whatever a server echoed back.
    """
    secrets: tuple[str, ...] = ()

    def say(text: str, error: bool = False) -> None:
        for secret in secrets:
            text = text.replace(secret, "***")
        print(printable(text), file=sys.stderr if error else sys.stdout)

    try:
        endpoint = parse_grafana_url(args.grafana_url)
    except ValueError as exc:
        say(f"slogen: {exc}", error=True)
        return EXIT_USAGE
    auth = Auth(args.token, args.user, args.password)
    if endpoint.user is not None or endpoint.password is not None:
        if args.token or args.user or args.password:
            say("slogen: credentials given twice: in --grafana-url and as --token/--user/--password", error=True)
            return EXIT_USAGE
        auth = Auth(user=endpoint.user, password=endpoint.password)
    secrets = auth.secrets()
    problem = auth.problem()
    if problem:
        say(f"slogen: {problem}", error=True)
        return EXIT_USAGE
    if endpoint.cleartext_to_remote:
        say(
            f"warning: the credentials go unencrypted (http://) to {endpoint.host}; use https:// unless the "
            "network between here and Grafana is trusted",
            error=True,
        )
    with GrafanaClient(endpoint, auth, args.timeout) as client:
        try:
            boards = load_dashboards(args.dir)
            report = import_dashboards(client, boards, args.folder, overwrite=not args.no_overwrite)
        except GrafanaImportError as exc:
            say(f"error: {exc}", error=True)
            return EXIT_IMPORT_FAILED
    for warning in report.warnings:
        say(f"warning: {warning}", error=True)
    if report.folder_created:
        say(f"created folder {report.folder_title!r} (uid {report.folder_uid})")
    for uid, url, version in report.imported:
        say(f"imported {uid} -> {endpoint.origin}{url} (version {version}) in {report.folder_title!r}")
    for failure in report.failures:
        say(f"error: {failure}", error=True)
    if report.failures:
        say(f"slogen: {len(report.failures)} of {len(boards)} dashboard(s) not imported", error=True)
        return EXIT_IMPORT_FAILED
    return EXIT_OK


def _overlaps(a: str, b: str) -> bool:
    """Whether two paths are one, or one holds the other, once symbolic links are resolved."""
    real_a, real_b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    return real_a == real_b or real_a in real_b.parents or real_b in real_a.parents


class _InputOverlap(ValueError):
    """An output would be a spec file, or hold one: a spec reached through a symbolic link into an output."""


class _InputFiles:
    """The spec files' real paths, resolved once: comparing every output with every spec re-resolved both each
    time, quadratic in the files (4 s of an 18 s run at 10,000 SLOs)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.files: dict[Path, str] = {}
        self.holders: dict[Path, str] = {}  # every directory holding a spec -> the first such spec
        for path in paths:
            real = Path(os.path.realpath(path))
            self.files.setdefault(real, path)
            for parent in real.parents:
                self.holders.setdefault(parent, path)

    def overlapping(self, path: str) -> str | None:
        """The spec ``path`` is, holds, or lies inside (``_overlaps`` against each spec), or None."""
        real = Path(os.path.realpath(path))
        for candidate in (real, *real.parents):
            if candidate in self.files:
                return self.files[candidate]
        return self.holders.get(real)


def _away_from(inputs: _InputFiles, files: Iterable[tuple[str, str]]) -> Iterator[tuple[Path, str]]:
    """The outputs as they are rendered, each checked against the inputs before the writer stages it."""
    for path, text in files:
        source = inputs.overlapping(path)
        if source is not None:
            raise _InputOverlap(f"output {path} and input {source} overlap (a symbolic link?)")
        yield Path(path), text


def _usage_problem(args: argparse.Namespace) -> str | None:
    """Flags that would make slogen overwrite or later re-read its own input, or write tests for no rule file."""
    inputs = [("-i", args.input)]
    if args.slo_period_windows_path:
        inputs.append(("--slo-period-windows-path", args.slo_period_windows_path))
    if args.command != "generate":
        return None
    if args.out == STDOUT and args.tests_out:
        return "--tests-out needs a rule file to test: give -o FILE or -o DIR, not stdout"
    outputs = [
        (flag, value)
        for flag, value in (
            ("-o", None if args.out == STDOUT else args.out),
            ("--tests-out", args.tests_out),
            ("--dashboards-out", args.dashboards_out),
            ("--docs-out", args.docs_out),
            ("--dashboards-docs-out", args.dashboards_docs_out),
        )
        if value
    ]
    for out_flag, out in outputs:
        for in_flag, source in inputs:
            if _overlaps(out, source):
                return (
                    f"{out_flag} {out} and {in_flag} {source} overlap: an output may not be an input, be inside one, "
                    "or hold one"
                )
    return None


def _error(message: str) -> None:
    print(printable(message), file=sys.stderr)


def _slo_duplicates(command: str, sloth_compat: bool, inputs: SlothInputs) -> Literal["files", "all", "ignore"]:
    """Sloth's generate never compares SLO IDs across documents; its validate does unless told to ignore them."""
    if inputs.ignore_slo_duplicates or (command == "generate" and sloth_compat):
        return "ignore"
    return "all" if command == "validate" else "files"


def _apply_slo_plugin_flags(options: CompileOptions, inputs: SlothInputs) -> CompileOptions:
    """``-s`` and ``--disable-default-slo-plugins`` reach the plugin chain through the run's options."""
    return dataclasses.replace(
        options, slo_plugins=inputs.slo_plugins, disable_default_plugins=inputs.disable_default_slo_plugins
    )


def _registry(plugins: LoadedPlugins) -> Registry:
    """The built-in SLO plugins plus the ``-p`` ones (an id both define is an error naming it)."""
    try:
        return builtin_registry().with_plugins(plugins.slo)
    except DuplicatePluginError as exc:
        raise PluginFileError(f"{exc} (a -p plugin may not reuse a built-in id)") from exc


def _sli_plugins(plugins: LoadedPlugins) -> dict[str, SLIPlugin]:
    """The built-in SLI plugins plus the ``-p`` ones (an id both define is an error naming it)."""
    clash = sorted(set(plugins.sli) & set(BUILTIN_SLI_PLUGINS))
    if clash:
        where = ", ".join(f"{i} ({plugins.sources['sli:' + i]})" for i in clash)
        raise PluginFileError(f"SLI plugin id(s) already built in: {where}")
    return {**BUILTIN_SLI_PLUGINS, **plugins.sli}


def _print_warnings(warnings: Sequence[SpecError]) -> None:
    for warning in sorted(set(warnings), key=lambda w: (w.path, w.line or 0, w.field, w.message)):
        print(f"warning: {warning}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """The entry point: whatever happens, one line on stderr and an exit code, never a traceback."""
    try:
        with cyclic_gc_off():
            return _main(argv)
    except KeyboardInterrupt:
        _error("slogen: interrupted; nothing was changed")
        return 130
    except BrokenPipeError:  # `slogen generate ... | head`: the reader left; say nothing more on stdout
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INVALID
    except Exception as exc:  # the last resort: every known failure is handled below with its own message
        if os.environ.get("SLOGEN_DEBUG"):
            raise
        _error(f"slogen: internal error: {type(exc).__name__}: {exc}")
        return EXIT_INVALID


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    if args.command == "import-dashboards":
        return _import_dashboards(args)
    options = CompileOptions(
        extra_labels=tuple(sorted(dict(args.extra_labels).items())),
        sloth_compat=getattr(args, "sloth_compat", False),
        disable_alerts=getattr(args, "disable_alerts", False),
        disable_recordings=getattr(args, "disable_recordings", False),
        runbook_base_url=getattr(args, "runbook_base_url", CompileOptions.runbook_base_url),
    )
    problem = _usage_problem(args)
    if problem:
        _error(f"slogen: {problem}")
        return EXIT_USAGE
    input_is_dir = Path(args.input).is_dir()
    if args.command == "generate" and input_is_dir and args.out != STDOUT and Path(args.out).is_file():
        _error("slogen: a directory input needs a directory output (-o DIR)")
        return EXIT_USAGE
    warnings: list[SpecError] = []
    try:
        inputs = sloth_inputs(args)
        options = _apply_slo_plugin_flags(options, inputs)
        plugins = inputs.load_plugins()  # every -p file must load
        registry = _registry(plugins)
        sli_plugins = _sli_plugins(plugins)
    except SlothFlagError as exc:
        _error(f"slogen: {exc}")
        return EXIT_USAGE
    except PluginFileError as exc:
        _error(f"error: {exc}")
        return EXIT_INVALID
    try:
        specs = load_specs(
            args.input,
            options,
            args.default_slo_period,
            args.slo_period_windows_path,
            sli_plugins,
            path_filter=inputs.path_filter if input_is_dir or args.command == "validate" else None,
            slo_duplicates=_slo_duplicates(args.command, options.sloth_compat, inputs),
            warnings=warnings,
        )
        compiled = compile_specs(specs, registry)  # runs every SLO's plugin chain: validate reports its errors too
    except SpecErrors as exc:
        _print_warnings(warnings)
        for error in exc.errors:
            _error(f"error: {error}")
        _error(f"slogen: {len(exc.errors)} error(s); nothing was written")
        return EXIT_INVALID
    _print_warnings(warnings)
    if args.command == "convert":
        return run_convert(args, specs)
    if args.command == "validate":
        print(f"{len(specs.slos)} SLO(s) in {len(specs.files)} file(s) are valid")
        return EXIT_OK
    layout = Layout(
        input_root=args.input,
        input_is_dir=input_is_dir,
        rules_out=args.out,
        tests_out=args.tests_out,
        dashboards_out=args.dashboards_out,
        docs_out=args.docs_out,
        dashboards_docs_out=args.dashboards_docs_out,
    )
    managed = [Path(p) for p in (args.tests_out, args.dashboards_out) if p]
    if input_is_dir and args.out != STDOUT:
        managed.append(Path(args.out))
    try:
        stdout = stdout_rules(compiled, layout)
        jobs = auto_jobs(len(specs.slos)) if args.jobs == "auto" else args.jobs
        files = _away_from(_InputFiles(f.path for f in specs.files), iter_files(compiled, layout, jobs))
        report = write_outputs(files, managed, check=args.check)
    except OutputConflict as exc:
        _error(f"slogen: {exc}; choose different output paths")
        return EXIT_USAGE
    except _InputOverlap as exc:
        _error(f"slogen: {exc}")
        return EXIT_USAGE
    except WriteError as exc:
        _error(f"slogen: {exc}")
        return EXIT_INVALID
    for path in report.kept:
        _error(f"warning: kept {path}: changed since slogen wrote it, so it is no longer slogen's; delete it by hand")
    if args.check:
        if report.stale:
            for path in report.stale:
                _error(f"stale: {path}")
            _error("slogen: generated files are out of date; run `make generate`")
            return EXIT_STALE
        print(f"{len(report.unchanged)} generated file(s) up to date")
        return EXIT_OK
    if stdout is not None:  # after the files: a failed write prints nothing
        sys.stdout.write(stdout)
    for path in report.written:
        _error(f"wrote {path}")
    for path in report.removed:
        _error(f"removed stale {path}")
    return EXIT_OK
