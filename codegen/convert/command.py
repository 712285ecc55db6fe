"""``slogen convert``: its flags and what it does with the parsed specs (``cli.main`` loads and compiles them first,
so only a spec that compiles is converted)."""

from __future__ import annotations

import argparse
import posixpath
import sys
from pathlib import Path

from codegen.convert import TARGETS, ConvertError, Target, convert_specs
from codegen.durations import parse_duration
from codegen.exit_codes import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from codegen.model import SpecSet
from codegen.pipeline import STDOUT
from codegen.windows import load_catalogs
from codegen.writer import write_outputs


def add_convert_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, choices=TARGETS, help="output format")
    parser.add_argument(
        "--sloth-compat",
        action="store_true",
        help="read the input as Sloth v0.16 reads it (unknown keys and what Sloth drops are warnings)",
    )
    parser.add_argument(
        "-o",
        "--out",
        default=STDOUT,
        help="output file, or directory for a directory input; '-' writes to stdout (default)",
    )


def _usage_problem(args: argparse.Namespace) -> str | None:
    source, out = Path(args.input), args.out
    if out == STDOUT:
        return None
    if Path(out).resolve() == source.resolve():
        return "the output must differ from the input (convert never overwrites its input)"
    if source.is_dir() and Path(out).is_file():
        return "a directory input needs a directory output (-o DIR)"
    if not source.is_dir() and Path(out).is_dir():
        return "a file input needs a file output (-o FILE), not a directory"
    return None


def run_convert(args: argparse.Namespace, specs: SpecSet) -> int:
    """Convert, print each loss as a warning, then write every file or none."""
    problem = _usage_problem(args)
    if problem:
        print(f"slogen: {problem}", file=sys.stderr)
        return EXIT_USAGE
    catalogs, _ = load_catalogs(args.slo_period_windows_path)  # load_specs reported any problem already
    target: Target = args.to
    try:
        result = convert_specs(specs, target, catalogs, parse_duration(args.default_slo_period))
    except ConvertError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        print(f"slogen: cannot convert to {target}; nothing was written", file=sys.stderr)
        return EXIT_INVALID
    if specs.options.slo_plugins:
        result.warnings.append("run-wide -s SLO plugins are not written into the converted specs")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.out == STDOUT:
        sys.stdout.write("---\n".join(result.files.values()))
        return EXIT_OK
    if Path(args.input).is_dir():
        files = {Path(posixpath.join(Path(args.out).as_posix(), rel)): text for rel, text in result.files.items()}
    else:
        files = {Path(args.out): text for text in result.files.values()}
    report = write_outputs(files)
    for path in report.written:
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK
