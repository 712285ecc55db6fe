"""Every dashboard of a folder, rendered from a Prometheus into PNGs (`python -m stack.snapshot`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from stack.dashboards import load_dashboard
from stack.prometheus_api import PrometheusClient, PrometheusError
from stack.snapshot.chromium import SnapshotError, screenshot
from stack.snapshot.data import TimeRange
from stack.snapshot.page import PanelReport, render_page
from stack.snapshot.style import DEFAULT_WIDTH


@dataclass
class SnapshotResult:
    dashboard: str
    png: Path
    width: int
    height: int
    panels: list[PanelReport]

    @property
    def empty_panels(self) -> list[str]:
        return [p.title for p in self.panels if not p.has_data]


def scrape_interval_of(client: PrometheusClient, default: float = 15.0) -> float:
    """The global scrape interval of the running Prometheus (its /api/v1/status/config), for $__rate_interval."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{client.base_url}/api/v1/status/config", timeout=client.timeout) as response:
            config = yaml.safe_load(json.loads(response.read())["data"]["yaml"])
        text = str(config["global"]["scrape_interval"])
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return default
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return float(text[: -len(unit)]) * units[unit]
    return default


def snapshot_dashboard(
    dashboard_path: Path,
    client: PrometheusClient,
    window: TimeRange,
    out_dir: Path,
    *,
    width: int = DEFAULT_WIDTH,
    source: str = "",
    chosen: Mapping[str, str] | None = None,
) -> SnapshotResult:
    dashboard = load_dashboard(dashboard_path)
    page = render_page(dashboard, client, window, width=width, source=source, chosen=chosen)
    png = screenshot(page.html, out_dir / f"{dashboard.get('uid') or dashboard_path.stem}.png", width, page.height)
    return SnapshotResult(str(dashboard.get("title", dashboard_path.stem)), png, width, page.height, page.panels)


def _default_prometheus() -> str:
    state = Path(__file__).resolve().parents[1] / ".work" / "stack" / "state.json"
    if state.exists():
        try:
            return str(json.loads(state.read_text())["urls"]["prometheus"])
        except (ValueError, KeyError):
            pass
    return "http://127.0.0.1:9090"


def parse_choice(text: str) -> tuple[str, str, str]:
    """``[UID:]NAME=VALUE`` → (uid or "", name, value): a variable value for one dashboard, or for every one."""
    target, equals, value = text.partition("=")
    uid, _, name = target.rpartition(":")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected [UID:]NAME=VALUE, got {text!r}")
    return uid, name, value


def choices_for(uid: str, choices: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    return {name: value for target, name, value in choices if target in ("", uid)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.snapshot", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prometheus",
        default=os.environ.get("PROMETHEUS_URL") or _default_prometheus(),
        help="Prometheus base URL (default: the running `make stack`, else http://127.0.0.1:9090)",
    )
    parser.add_argument("--dashboards", type=Path, default=Path("dashboards"), help="dashboard JSON directory")
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="where the PNGs go")
    parser.add_argument("--minutes", type=float, default=30.0, help="time range: the last N minutes")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="page width in pixels")
    parser.add_argument(
        "--var",
        dest="choices",
        type=parse_choice,
        action="append",
        default=[],
        metavar="[UID:]NAME=VALUE",
        help="select a variable's value (in dashboard UID only, if given) instead of All; repeatable",
    )
    args = parser.parse_args(argv)
    client = PrometheusClient(args.prometheus)
    end = time.time()
    window = TimeRange(end - args.minutes * 60, end, scrape_interval_of(client))
    paths = sorted(args.dashboards.glob("*.json"))
    if not paths:
        print(f"no dashboards in {args.dashboards}", file=sys.stderr)
        return 2
    try:
        client.query("vector(1)")
        for path in paths:
            chosen = choices_for(str(load_dashboard(path).get("uid", path.stem)), args.choices)
            result = snapshot_dashboard(
                path, client, window, args.out, width=args.width, source=args.prometheus, chosen=chosen
            )
            size = result.png.stat().st_size // 1024
            empty = f"; no data: {', '.join(result.empty_panels)}" if result.empty_panels else ""
            print(f"{result.png} ({result.width}x{result.height}, {size} KB){empty}")
    except (PrometheusError, SnapshotError, ValueError) as exc:
        print(f"snapshot failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
