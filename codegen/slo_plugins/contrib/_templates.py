"""Rendering Sloth's ``{{.window}}`` query templates the way Go's ``text/template`` (``missingkey=error``) does.

Only the ``.window`` variable exists: any other template action (``{{.Window}}``, ``{{}.window}}``) is an error, as
it is when Sloth renders it.
"""

from __future__ import annotations

import re

from codegen.slo_plugins.api import PluginProcessError

# Go's text/template allows spaces inside the action and trim markers ("{{- .window -}}" trims around it).
_WINDOW_ACTION_RE = re.compile(
    r"\s*{{-\s+\.window\s+-}}\s*|\s*{{-\s+\.window\s*}}|{{\s*\.window\s+-}}\s*|{{\s*\.window\s*}}"
)


def render_window(template: str, window: str, what: str = "query") -> str:
    """Substitute every ``{{.window}}``; any other action left is an error naming it."""
    rendered = _WINDOW_ACTION_RE.sub(lambda _m: window, template)
    start = rendered.find("{{")
    if start >= 0:
        end = rendered.find("}}", start)
        action = rendered[start : end + 2] if end >= 0 else rendered[start:]
        raise PluginProcessError(f"{what} template: unsupported template action {action!r} (only {{{{.window}}}})")
    return rendered
