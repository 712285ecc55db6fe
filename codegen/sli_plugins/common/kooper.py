"""Kooper (Kubernetes controllers): event handling availability and latency, and event queue congestion."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common.options import bucket, required_value, trimmed_filter, with_comma

_PROCESSED = "kooper_controller_processed_event_duration_seconds"
_IN_QUEUE = "kooper_controller_event_in_queue_duration_seconds"
_AVAILABILITY = Template(
    "\n"
    "(\n"
    '  sum(rate(${processed}_count{ ${filter}controller="${controller}",success="false" }[{{ .window }}]))\n'
    "  /\n"
    "  ((\n"
    '    sum(rate(${processed}_count{ ${filter}controller="${controller}" }[{{ .window }}]))\n'
    "    -\n"
    '    (sum(rate(kooper_controller_queued_events_total{ ${filter}controller="${controller}",requeue="true" }'
    "[{{ .window }}])) OR on() vector(0))\n"
    "  ) > 0)\n"
    ") OR on() vector(0)\n"
)
_HISTOGRAM_LATENCY = (
    "\n"
    "1 - ((\n"
    '  sum(rate(${metric}_bucket{ ${filter}controller="${controller}",le="${bucket}" }[{{ .window }}]))\n'
    "  /\n"
    '  (sum(rate(${metric}_count{ ${filter}controller="${controller}" }[{{ .window }}])) > 0)\n'
    ") OR on() vector(1))\n"
)


def _controller(options: Mapping[str, str]) -> str:
    return required_value(options, "controller", "controller", '"controller" option is required')


def availability(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: failed event handlings, over handlings minus requeues (so retries do not count twice)."""
    controller = _controller(options)
    return _AVAILABILITY.substitute(
        processed=_PROCESSED, controller=controller, filter=with_comma(trimmed_filter(options))
    )


def _histogram(metric: str, options: Mapping[str, str]) -> str:
    le = bucket(options)
    controller = _controller(options)
    return Template(_HISTOGRAM_LATENCY).substitute(
        metric=metric, controller=controller, bucket=le, filter=with_comma(trimmed_filter(options))
    )


def latency(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: event handlings slower than the ``bucket`` boundary."""
    return _histogram(_PROCESSED, options)


def queue_congestion(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    """Bad events: events that waited in the queue longer than the ``bucket`` boundary."""
    return _histogram(_IN_QUEUE, options)


PLUGINS = (
    SLIPlugin("sloth-common/kubernetes/kooper/availability", availability),
    SLIPlugin("sloth-common/kubernetes/kooper/latency", latency),
    SLIPlugin("sloth-common/kubernetes/kooper/queue-congestion", queue_congestion),
)
