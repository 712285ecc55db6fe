"""A minimal client for Prometheus' and Alertmanager's HTTP APIs (stdlib only): what the snapshot and the
end-to-end test need, with errors that carry Prometheus' own message."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class PrometheusError(RuntimeError):
    """Prometheus refused a query (bad PromQL, timeout) or could not be reached."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value); NaN values kept as float("nan")


class PrometheusClient:
    """Instant and range queries against one Prometheus (`base_url` like http://127.0.0.1:9090)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, path: str, params: dict[str, str] | list[tuple[str, str]], method: str = "POST") -> Any:
        """POST (long queries) or GET (endpoints that only take GET in Prometheus 2.x, like label values)."""
        encoded = urllib.parse.urlencode(params)
        if method == "GET":
            request = urllib.request.Request(f"{self.base_url}{path}?{encoded}")
        else:
            request = urllib.request.Request(
                f"{self.base_url}{path}",
                data=encoded.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("error", "")
            except ValueError:
                detail = ""
            raise PrometheusError(f"{path} {dict(params)}: HTTP {exc.code} {detail}") from exc
        except (OSError, urllib.error.URLError, ValueError) as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.base_url}: {exc}") from exc
        if payload.get("status") != "success":
            raise PrometheusError(f"{path} {dict(params)}: {payload.get('error')}")
        return payload["data"]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Instant query; scalars come back as one sample without labels."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._call("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        if data["resultType"] != "vector":
            raise PrometheusError(f"{expr!r} is a {data['resultType']}, expected an instant vector")
        return [Sample(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The single value of `expr`, None when it returns nothing; an error when it returns several series."""
        samples = self.query(expr, at)
        if len(samples) > 1:
            raise PrometheusError(f"{expr!r} returned {len(samples)} series, expected at most one")
        return samples[0].value if samples else None

    def raw_samples(self, selector: str, window: str, at: float | None = None) -> list[Series]:
        """The stored samples of `selector` over the last `window` (a range-vector query): real timestamps,
        no resampling, as a recording rule wrote them."""
        params = {"query": f"{selector}[{window}]"}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._call("/api/v1/query", params)
        return [Series(dict(r["metric"]), [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._call("/api/v1/query_range", params)
        return [Series(dict(r["metric"]), [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]]

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        params: list[tuple[str, str]] = [("match[]", match)] if match else []
        return list(self._call(f"/api/v1/label/{urllib.parse.quote(label)}/values", params, method="GET"))

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' active alerts (pending and firing) with their labels."""
        request = urllib.request.Request(f"{self.base_url}/api/v1/alerts")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return list(json.loads(response.read())["data"]["alerts"])
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            raise PrometheusError(f"cannot list alerts at {self.base_url}: {exc}") from exc

    def targets(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.base_url}/api/v1/targets", timeout=self.timeout) as response:
            return list(json.loads(response.read())["data"]["activeTargets"])


def alertmanager_alerts(base_url: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Alerts Alertmanager holds (`GET /api/v2/alerts`): what Prometheus delivered to it."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/api/v2/alerts", timeout=timeout) as response:
            return list(json.loads(response.read()))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise PrometheusError(f"cannot list alerts at Alertmanager {base_url}: {exc}") from exc
