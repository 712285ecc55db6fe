"""SLO plugin declarations: ``slo_plugins`` (spec level; ``sloPlugins`` in Kubernetes) and ``plugins`` (SLO level).

Both levels have Sloth's shape, in both spec kinds::

    slo_plugins:
      overridePrevious: false          # true: drop the defaults (and, on an SLO, the spec level's plugins)
      chain:
        - {id: sloth.dev/core/debug/v1, priority: 100, config: {msg: hello}}

``config`` is free-form JSON-like data handed to the plugin's factory, which validates it when the chain is built.
Whether an id exists is checked then too (``-p`` plugins are only known at that point).
"""

from __future__ import annotations

import math
from typing import Any

from codegen.fields import Fields
from codegen.loader import FieldPath
from codegen.model import NO_PLUGINS, PluginChainSpec, PluginRef, Source

CHAIN_KEYS = ["overridePrevious", "chain"]
PLUGIN_KEYS = ["id", "config", "priority"]


def json_like(value: Any) -> Any:
    """``value`` if it is JSON data (mappings with string keys, lists, strings, finite numbers, booleans, null).

    Raises ``TypeError`` naming the first offending value (e.g. a YAML timestamp or a non-string key).
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{value!r} is not a JSON number")
        return value
    if isinstance(value, list):
        return [json_like(v) for v in value]
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise TypeError(f"mapping key {bad[0]!r} is not a string")
        return {k: json_like(v) for k, v in value.items()}
    raise TypeError(f"{value!r} ({type(value).__name__}) is not JSON data; quote it")


def parse_plugin_chain(ctx: Fields, value: Any, path: FieldPath) -> PluginChainSpec:
    """One declaration level; errors go to ``ctx`` and leave the level empty."""
    if value is None:
        return NO_PLUGINS
    before = len(ctx.errors)
    fields = ctx.mapping(value, path, CHAIN_KEYS)
    override = ctx.boolean(fields["overridePrevious"], (*path, "overridePrevious"))
    raw_chain = fields["chain"]
    refs: list[PluginRef] = []
    if raw_chain is not None and not isinstance(raw_chain, list):
        ctx.err((*path, "chain"), "must be a list of plugins ({id, config, priority})")
    for index, raw in enumerate(raw_chain if isinstance(raw_chain, list) else []):
        ref = _parse_ref(ctx, raw, (*path, "chain", index))
        if ref is not None:
            refs.append(ref)
    if len(ctx.errors) > before:
        return NO_PLUGINS
    return PluginChainSpec(tuple(refs), override)


def _parse_ref(ctx: Fields, raw: Any, here: FieldPath) -> PluginRef | None:
    before = len(ctx.errors)
    fields = ctx.mapping(raw, here, PLUGIN_KEYS, required=True)
    plugin_id = ctx.string(fields["id"], (*here, "id"))
    if not plugin_id:
        ctx.err((*here, "id"), "plugin ID is required")
    priority = fields["priority"]
    if priority is None:
        priority = 0
    elif isinstance(priority, bool) or not isinstance(priority, int):
        ctx.err(
            (*here, "priority"), f"priority must be an integer (negative runs before the defaults), got {priority!r}"
        )
        priority = 0
    try:
        config = json_like(fields["config"])
    except TypeError as exc:
        ctx.err((*here, "config"), f"config must be JSON data: {exc}")
        config = None
    if len(ctx.errors) > before:
        return None
    return PluginRef(plugin_id, config, priority, Source(ctx.doc.path, ctx.doc.line((*ctx.base, *here))))
