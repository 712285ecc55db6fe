"""Sloth v0.16's input flags for ``generate``/``validate``, kept apart from ``cli`` so the two merge cleanly:
``-e/--fs-exclude``, ``-n/--fs-include``, ``-p/--plugins-path``, ``-s/--slo-plugins``,
``--disable-default-slo-plugins`` and (validate) ``--ignore-slo-duplicates``, each also read from the
``SLOTH_<FLAG>`` environment variable kingpin's ``DefaultEnvars`` gives it (repeatable flags: one value a line).
A flag given on the command line replaces its environment value, as in kingpin."""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

from codegen.loader import PathFilter, walk_path
from codegen.plugin_files import LoadedPlugins, load_plugin_dirs
from codegen.slo_plugins.api import PluginRef

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class SlothFlagError(ValueError):
    """A Sloth flag value is unusable (bad regex, bad JSON, bad boolean); exit 2."""


def env_name(flag: str) -> str:
    """kingpin's ``DefaultEnvars`` name for ``--flag-name`` of app ``sloth``: ``SLOTH_FLAG_NAME``."""
    return "SLOTH_" + flag.upper().replace("-", "_")


def add_sloth_input_flags(parser: argparse.ArgumentParser, command: Literal["generate", "validate"]) -> None:
    parser.add_argument(
        "-e", "--fs-exclude", default=None, metavar="REGEX",
        help="ignore discovered spec paths matching REGEX (directory input; wins over --fs-include)",
    )  # fmt: skip
    parser.add_argument(
        "-n", "--fs-include", default=None, metavar="REGEX",
        help="read only discovered spec paths matching REGEX (directory input)",
    )  # fmt: skip
    parser.add_argument(
        "-p", "--plugins-path", action="append", default=None, metavar="DIR",
        help="directory of Python SLI/SLO plugin files (plugin.py, found recursively; repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "-s", "--slo-plugins", action="append", default=None, metavar="JSON",
        help='run-wide SLO plugin, Sloth\'s JSON: \'{"id": "...", "priority": 0, "config": {...}}\' (repeatable)',
    )  # fmt: skip
    parser.add_argument(
        "--disable-default-slo-plugins", action="store_const", const=True, default=None,
        help="run no default SLO plugins (declare the whole chain with -s or in the specs)",
    )  # fmt: skip
    if command == "validate":
        parser.add_argument(
            "--ignore-slo-duplicates", action="store_const", const=True, default=None,
            help="accept the same SLO ID (service and name) in several documents or files",
        )  # fmt: skip


@dataclass(frozen=True)
class SlothInputs:
    """The resolved Sloth input flags of one run."""

    path_filter: PathFilter | None
    slo_plugins: tuple[PluginRef, ...]
    plugin_paths: tuple[str, ...]
    disable_default_slo_plugins: bool
    ignore_slo_duplicates: bool

    def load_plugins(self) -> LoadedPlugins:
        """The ``-p`` plugin files (``PluginFileError`` names a file that cannot be used)."""
        return load_plugin_dirs(self.plugin_paths)


def _value(args: argparse.Namespace, flag: str) -> Any:
    given = getattr(args, flag.replace("-", "_"), None)
    return given if given is not None else os.environ.get(env_name(flag))


def _bool(args: argparse.Namespace, flag: str) -> bool:
    value = _value(args, flag)
    if value is None or value is True:
        return bool(value)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SlothFlagError(f"{env_name(flag)}={value!r}: expected true or false")


def _list(args: argparse.Namespace, flag: str) -> list[str]:
    value = _value(args, flag)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [line for line in re.split(r"\r?\n", value) if line.strip()]


def _regex(args: argparse.Namespace, flag: str) -> re.Pattern[str] | None:
    text = _value(args, flag)
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise SlothFlagError(f"invalid {flag.split('-')[-1]} regex {text!r}: {exc}") from exc


def path_filter(exclude: re.Pattern[str] | None, include: re.Pattern[str] | None) -> PathFilter | None:
    """Sloth's discovery filter: unanchored matches on the walked path; exclude wins over include."""
    if exclude is None and include is None:
        return None

    def keep(path: str) -> bool:
        if exclude is not None and exclude.search(path):
            return False
        return include is None or include.search(path) is not None

    return keep


def parse_slo_plugin_flag(text: str) -> PluginRef:
    """One ``-s`` value: a JSON object with ``id``, ``priority`` and ``config`` (keys in any case, as Go reads
    them; unknown keys are ignored as Sloth ignores them)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SlothFlagError(f"could not load slo plugin json {text!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise SlothFlagError(f"could not load slo plugin json {text!r}: expected an object")
    fields = {str(k).casefold(): v for k, v in data.items()}
    plugin_id, priority = fields.get("id"), fields.get("priority", 0)
    if not isinstance(plugin_id, str) or not plugin_id:
        raise SlothFlagError(f'slo plugin {text!r}: "id" is required (a string)')
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise SlothFlagError(f'slo plugin {text!r}: "priority" must be an integer')
    return PluginRef(id=plugin_id, config=fields.get("config"), priority=priority)


def sloth_inputs(args: argparse.Namespace) -> SlothInputs:
    """Resolve the flags (command line, else environment); ``SlothFlagError`` for an unusable value."""
    exclude, include = _regex(args, "fs-exclude"), _regex(args, "fs-include")
    return SlothInputs(
        path_filter=path_filter(exclude, include),
        slo_plugins=tuple(parse_slo_plugin_flag(text) for text in _list(args, "slo-plugins")),
        plugin_paths=tuple(_list(args, "plugins-path")),
        disable_default_slo_plugins=_bool(args, "disable-default-slo-plugins"),
        ignore_slo_duplicates=_bool(args, "ignore-slo-duplicates") if hasattr(args, "ignore_slo_duplicates") else False,
    )


__all__ = ["SlothFlagError", "SlothInputs", "add_sloth_input_flags", "env_name", "sloth_inputs", "walk_path"]
