"""Where ticks come from: a seeded simulator, a replayed NDJSON capture, or the live Coinbase WebSocket.

All three speak the Coinbase Advanced Trade message shape, so everything downstream (features, producer) is
the same whichever source feeds it.
"""

from services.ticks.ndjson import ReplayError, replay, write_ndjson
from services.ticks.simulator import MarketParams, SimSecond, params_for, simulate, simulate_with_truth

__all__ = [
    "MarketParams",
    "ReplayError",
    "SimSecond",
    "params_for",
    "replay",
    "simulate",
    "simulate_with_truth",
    "write_ndjson",
]
