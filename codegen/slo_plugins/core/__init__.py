"""Sloth's core SLO plugins (``sloth.dev/core/...``), re-implemented: one module per plugin, each defining
``SLO_PLUGIN_ID`` and ``new_plugin(config, utils)`` like a ``-p`` plugin file."""
