"""``python -m services.ticks simulate|capture``: write an NDJSON capture from the simulator or the live feed.

A capture is what ``replay()`` reads back, so the same file drives training, the producer and the replay test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from services.ticks.live import CoinbaseTickerClient
from services.ticks.ndjson import write_ndjson
from services.ticks.simulator import simulate


async def _capture(product_ids: list[str], seconds: float, out: Path) -> int:
    client = CoinbaseTickerClient(product_ids)
    deadline = time.monotonic() + seconds
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        async for message in client.messages():
            handle.write(json.dumps(message, separators=(",", ":")) + "\n")
            count += 1
            if time.monotonic() >= deadline:
                client.stop()
    print(f"{count} messages, {client.stats.gaps} gaps, {client.stats.reconnects} reconnects", file=sys.stderr)
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ticks")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="write a seeded simulated capture")
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument("--seconds", type=float, default=600)
    sim.add_argument("--products", default="BTC-USD", help="comma-separated product ids")
    sim.add_argument("--drift", action="store_true", help="busier market with wider spreads")
    sim.add_argument("--start", default=None, help="ISO-8601 start (default 2025-01-01T00:00Z)")
    sim.add_argument("--heartbeats", action="store_true")
    sim.add_argument("--out", type=Path, required=True)
    cap = sub.add_parser("capture", help="record the live Coinbase feed ($COINBASE_WS_URL overrides the URL)")
    cap.add_argument("--products", default="BTC-USD")
    cap.add_argument("--minutes", type=float, default=15)
    cap.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    products = [p.strip() for p in args.products.split(",") if p.strip()]
    if args.command == "simulate":
        if not math.isfinite(args.seconds):
            parser.error("--seconds must be finite for a file")
        start = datetime.fromisoformat(args.start.replace("Z", "+00:00")) if args.start else None
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        n = write_ndjson(
            args.out,
            simulate(args.seed, args.seconds, products, args.drift, start, heartbeats=args.heartbeats),
        )
        print(f"wrote {n} messages to {args.out}", file=sys.stderr)
        return 0
    asyncio.run(_capture(products, args.minutes * 60, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
