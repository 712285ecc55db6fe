"""Prometheus and Alertmanager configuration for the local stack, as pure functions of ports and intervals.

The same shape as `deploy/prometheus/prometheus.yml` and `deploy/alertmanager/alertmanager.yml` (the compose
files), with loopback addresses instead of service names and intervals a caller may shorten: the end-to-end
test scrapes and evaluates every second so burn-rate alerts on its short windows fire within seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

API_JOB = "volatility-api"
CONSUMER_JOB = "volatility-consumer"
DRIFT_JOB = "volatility-drift"


@dataclass(frozen=True)
class PrometheusTargets:
    """Where Prometheus finds everything it talks to (host:port strings)."""

    api: str
    consumer: str
    prometheus: str
    alertmanager: str | None = None
    drift: str | None = None


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for unit in ("ms", "s", "m", "h"):
        if duration.endswith(unit) and duration[: -len(unit)].replace(".", "", 1).isdigit():
            return float(duration[: -len(unit)]) * units[unit]
    raise ValueError(f"unsupported duration {duration!r} (use e.g. 1s, 15s, 1m)")


def prometheus_config(
    targets: PrometheusTargets,
    rule_files: Sequence[str],
    *,
    scrape_interval: str = "15s",
    evaluation_interval: str = "15s",
    external_labels: dict[str, str] | None = None,
) -> str:
    """prometheus.yml text: the service jobs (the job names every rule and dashboard selects on), the rules,
    and Alertmanager when one is given. The scrape timeout never exceeds the interval (Prometheus refuses)."""
    interval = _seconds(scrape_interval)
    timeout = scrape_interval if interval < 10 else "10s"
    config: dict[str, object] = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": timeout,
            "evaluation_interval": evaluation_interval,
            "external_labels": dict(external_labels or {"stack": "local"}),
        },
        "rule_files": list(rule_files),
        "scrape_configs": [
            {"job_name": API_JOB, "static_configs": [{"targets": [targets.api]}]},
            {"job_name": CONSUMER_JOB, "static_configs": [{"targets": [targets.consumer]}]},
            {"job_name": "prometheus", "static_configs": [{"targets": [targets.prometheus]}]},
        ],
    }
    scrape = config["scrape_configs"]
    assert isinstance(scrape, list)
    if targets.drift is not None:
        scrape.insert(2, {"job_name": DRIFT_JOB, "static_configs": [{"targets": [targets.drift]}]})
    if targets.alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [targets.alertmanager]}]}]}
        scrape.append({"job_name": "alertmanager", "static_configs": [{"targets": [targets.alertmanager]}]})
    return yaml.safe_dump(config, sort_keys=False)


def alertmanager_config(
    *,
    webhook_url: str | None = None,
    group_wait: str = "30s",
    group_interval: str = "5m",
    repeat_interval: str = "4h",
) -> str:
    """alertmanager.yml text: pages (severity=critical) and tickets (severity=warning) each to its receiver.

    Without `webhook_url` both receivers are null receivers (alerts are visible in the UI and API, nobody is
    notified); with it, pages go to `<url>/page` and tickets to `<url>/ticket`, so a test can see routing work.
    A page inhibits the ticket of the same SLO, as the SRE workbook suggests.
    """

    def receiver(name: str) -> dict[str, object]:
        if webhook_url is None:
            return {"name": name}
        return {"name": name, "webhook_configs": [{"url": f"{webhook_url.rstrip('/')}/{name}", "send_resolved": True}]}

    config = {
        "route": {
            "receiver": "default",
            "group_by": ["alertname", "sloth_service", "sloth_slo", "severity"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
            "routes": [
                {"receiver": "page", "matchers": ['severity="critical"']},
                {"receiver": "ticket", "matchers": ['severity="warning"']},
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "sloth_service", "sloth_slo"],
            }
        ],
        "receivers": [{"name": "default"}, receiver("page"), receiver("ticket")],
    }
    return yaml.safe_dump(config, sort_keys=False)
