"""`python -m stack up|down|status`: the local stack behind `make stack` and `make stack-down`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from stack.local import REPO_ROOT, STATE_FILE, LocalStack, StackError, StackSettings, read_state, stop_recorded
from stack.processes import ProcessError


def _up(args: argparse.Namespace) -> int:
    settings = StackSettings(
        state_dir=args.state_dir,
        scrape_interval=args.scrape_interval,
        evaluation_interval=args.scrape_interval,
        model_variant=args.model_variant,
        fault_injection=args.enable_faults,
        producer_rate=args.producer_rate,
        producer_duration_seconds=args.producer_duration,
        client_rate=args.client_rate,
        drift=not args.no_drift,
        prefer_default_ports=not args.free_ports,
    )
    stack = LocalStack(settings)
    print(f"starting the local stack (state and logs in {args.state_dir}) ...", flush=True)
    try:
        stack.start()
    except (StackError, ProcessError, OSError) as exc:
        print(f"stack failed to start: {exc}", file=sys.stderr)
        return 1
    print("local stack is up:")
    for name, line in stack.urls().items():
        print(f"  {name:<13} {line}")
    print(f"model variant {settings.model_variant}; fault injection {'on' if settings.fault_injection else 'off'}")
    print("Grafana cannot run here: `make snapshot` renders the dashboards from this Prometheus into docs/img/.")
    print("stop it with `make stack-down`.")
    return 0


def _down(args: argparse.Namespace) -> int:
    path: Path = args.state_dir / STATE_FILE
    if not path.exists():
        print(f"no local stack recorded in {path}; nothing to stop")
        return 0
    try:
        for name, pid, outcome in stop_recorded(args.state_dir):
            print(f"  {name:<13} pid {pid}: {outcome}")
    except StackError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print("local stack stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    path: Path = args.state_dir / STATE_FILE
    if not path.exists():
        print("no local stack running")
        return 1
    records = read_state(path)
    for record in records:
        state = "running" if record.alive() else "gone"
        port = f" :{record.port}" if record.port else ""
        print(f"  {record.name:<13} pid {record.pid}{port} {state}")
    return 0 if all(r.alive() for r in records) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    parser.add_argument(
        "--state-dir", type=Path, default=REPO_ROOT / ".work" / "stack", help="PIDs, ports, configs and logs"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything on 127.0.0.1 and return")
    up.add_argument("--model-variant", choices=("ml", "baseline"), default=os.environ.get("MODEL_VARIANT", "ml"))
    up.add_argument("--enable-faults", action="store_true", help="FAULT_INJECTION_ENABLED=1 (/admin/faults)")
    up.add_argument("--scrape-interval", default="5s", help="scrape and rule evaluation interval")
    up.add_argument("--producer-rate", type=float, default=2.0, help="feature messages per second")
    up.add_argument("--producer-duration", type=float, default=3600.0, help="producer and client stop after (s)")
    up.add_argument("--client-rate", type=float, default=5.0, help="POST /predict per second (0: no client)")
    up.add_argument("--no-drift", action="store_true", help="skip the drift job (its first run takes ~15 s)")
    up.add_argument("--free-ports", action="store_true", help="pick free ports instead of 8000/8001/9090/...")
    sub.add_parser("down", help="stop exactly what `up` started")
    sub.add_parser("status", help="which recorded processes still run")
    args = parser.parse_args(argv)
    handlers = {"up": _up, "down": _down, "status": _status}
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
