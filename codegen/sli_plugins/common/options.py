"""Option readers the common plugins share, each with its Go original's rules and error text."""

from __future__ import annotations

import re
from collections.abc import Mapping

from codegen.sli_plugins.api import SLIPluginError
from codegen.sli_plugins.golang import parse_bool, parse_float, regexp_error, trim_space

# The label-filter shape several plugins insist on: k="v" pairs, comma separated, optionally in braces.
PROM_FILTER_RE = re.compile(r'(?m)^{?([^=]+="[^=,"]+",)*([^=]+="[^=,"]+")$')
EXCLUDE_ERRORS_MATCHER = 'code!~"5.."'


def trimmed_filter(options: Mapping[str, str]) -> str:
    """``filter`` without surrounding braces and commas (absent is empty)."""
    return options.get("filter", "").strip("{},")


def with_comma(filter_: str) -> str:
    """A filter ready to prepend to more matchers."""
    return f"{filter_}," if filter_ else ""


def checked_filter(options: Mapping[str, str], required: bool) -> str:
    """``filter`` trimmed and required to look like ``k1="v1",k2="v2"``."""
    raw = options.get("filter", "")
    if not raw:
        if required:
            raise SLIPluginError("could not get filter: filter is required")
        return ""
    filter_ = raw.strip("{},")
    if not PROM_FILTER_RE.search(filter_):
        raise SLIPluginError(f"could not get filter: invalid prometheus filter: {filter_}")
    return filter_


def bucket(options: Mapping[str, str]) -> str:
    """``bucket``: required, kept as written, and it must parse as a float."""
    value = options.get("bucket", "")
    if not value:
        raise SLIPluginError('could not get bucket: "bucket" option is required')
    try:
        parse_float(value)
    except ValueError as exc:
        raise SLIPluginError(f"could not get bucket: not a valid bucket, can't parse to float64: {exc}") from exc
    return value


def required_value(options: Mapping[str, str], key: str, what: str, message: str) -> str:
    """A required option, taken as written (absent and empty are both missing)."""
    value = options.get(key, "")
    if not value:
        raise SLIPluginError(f"could not get {what}: {message}")
    return value


def required_trimmed(options: Mapping[str, str], key: str, what: str, message: str) -> str:
    """A required option with surrounding whitespace removed."""
    value = trim_space(options.get(key, ""))
    if not value:
        raise SLIPluginError(f"could not get {what}: {message}")
    return value


def required_regex(options: Mapping[str, str], key: str, what: str, message: str) -> str:
    """A required, trimmed option that must compile as a Go regular expression."""
    value = required_trimmed(options, key, what, message)
    problem = regexp_error(value)
    if problem:
        raise SLIPluginError(f"could not get {what}: invalid regex: {problem}")
    return value


def exclude_errors(options: Mapping[str, str]) -> bool:
    """``exclude_errors``: a Go boolean, false when absent or empty."""
    value = options.get("exclude_errors", "")
    if not value:
        return False
    try:
        return parse_bool(value)
    except ValueError as exc:
        raise SLIPluginError(
            f"could not get filter: could not get exclude_errors: not a valid exclude_errors, "
            f"can't parse to bool: {exc}"
        ) from exc


def filter_excluding_errors(options: Mapping[str, str]) -> str:
    """The trimmed filter, with the 5xx exclusion appended when ``exclude_errors`` is true; comma-terminated."""
    filter_ = trimmed_filter(options)
    matchers = [m for m in (filter_, EXCLUDE_ERRORS_MATCHER if exclude_errors(options) else "") if m]
    return "".join(f"{m}," for m in matchers)
