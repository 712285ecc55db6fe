"""Tick sources: simulator calibration and determinism, NDJSON replay, live client vs a loopback server."""

from __future__ import annotations

import asyncio
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve

from services.ml.features import FeatureEngine, features_from_messages, tickers_of
from services.ticks import ReplayError, replay, simulate, simulate_with_truth, write_ndjson
from services.ticks.live import Backoff, CoinbaseTickerClient
from services.ticks.messages import TICKER_FIELDS, heartbeat_envelope, iso_us, ticker_envelope


def first_ticker(message: dict[str, Any]) -> dict[str, str]:
    ticker: dict[str, str] = message["events"][0]["tickers"][0]
    return ticker


@pytest.fixture(scope="module")
def hour() -> tuple[list[dict[str, Any]], list[Any], list[dict[str, Any]]]:
    messages, truth = simulate_with_truth(seed=11, seconds=3600)
    return messages, truth, list(features_from_messages(messages))


# ---------------------------------------------------------------------------------------------------------
# Simulator calibration (BTC-USD captures: ~5-7 ticks/s, calm 1-s log-return std ~1e-4, median spread $0.01)


def test_tick_rate_matches_btc_usd(hour: Any) -> None:
    messages, _, _ = hour
    assert 5.0 <= len(messages) / 3600 <= 7.0


def test_calm_one_second_volatility_is_about_1e_minus_4_and_turbulence_is_higher(hour: Any) -> None:
    _, truth, rows = hour
    returns = np.array([r["log_return_1s"] for r in rows[1:3600]])
    calm = np.array([not s.turbulent for s in truth[1:3600]])
    assert 0.5 < calm.mean() < 0.95  # both regimes visited
    calm_std, turbulent_std = returns[calm].std(), returns[~calm].std()
    assert 0.7e-4 <= calm_std <= 1.4e-4
    assert turbulent_std > 1.8 * calm_std


def test_returns_have_fat_tails_and_volatility_clusters(hour: Any) -> None:
    _, truth, _ = hour
    latent = np.array([s.log_return for s in truth])
    kurtosis = float(np.mean((latent - latent.mean()) ** 4) / latent.var() ** 2)
    assert kurtosis > 4.0  # Gaussian: 3
    squared = latent**2
    autocorr = float(np.corrcoef(squared[:-1], squared[1:])[0, 1])
    assert autocorr > 0.05  # clustering: big moves follow big moves


def test_spreads_and_activity_rise_with_volatility(hour: Any) -> None:
    messages, truth, rows = hour
    spreads = np.array([float(first_ticker(m)["best_ask"]) - float(first_ticker(m)["best_bid"]) for m in messages])
    assert np.median(spreads) == pytest.approx(0.01)
    assert np.percentile(spreads, 90) > 0.1  # but a heavy tail, as in captures
    turbulent = np.array([s.turbulent for s in truth[: len(rows)]])
    counts = np.array([s.ticks for s in truth[: len(rows)]])
    assert counts[turbulent].mean() > 1.2 * counts[~turbulent].mean()
    spread_bps = np.array([r["spread_bps_mean_30s"] for r in rows])
    assert spread_bps[turbulent].mean() > spread_bps[~turbulent].mean()


def test_order_book_imbalance_is_wide_like_l1_data(hour: Any) -> None:
    messages, _, _ = hour
    bid = np.array([float(first_ticker(m)["best_bid_quantity"]) for m in messages])
    ask = np.array([float(first_ticker(m)["best_ask_quantity"]) for m in messages])
    imbalance = (bid - ask) / (bid + ask)
    assert 0.5 <= imbalance.std() <= 0.9
    assert abs(imbalance.mean()) < 0.05


def test_drift_mode_is_busier_with_wider_spreads(hour: Any) -> None:
    messages, _ = simulate_with_truth(seed=11, seconds=900, drift=True)
    normal = [m for m in hour[0] if m["timestamp"] < "2025-01-01T00:15"]
    assert len(messages) > 1.5 * len(normal)
    spreads = [float(first_ticker(m)["best_ask"]) - float(first_ticker(m)["best_bid"]) for m in messages]
    assert np.median(spreads) > 0.05


# ---------------------------------------------------------------------------------------------------------
# Shape and determinism


def test_envelopes_have_the_advanced_trade_shape() -> None:
    messages = list(simulate(3, 20, ("BTC-USD", "ETH-USD"), heartbeats=True))
    assert [m["sequence_num"] for m in messages] == list(range(len(messages)))
    assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)
    heartbeats = [m for m in messages if m["channel"] == "heartbeats"]
    assert [h["events"][0]["heartbeat_counter"] for h in heartbeats] == list(range(20))
    tickers = [m for m in messages if m["channel"] == "ticker"]
    first_types: dict[str, str] = {}
    for m in tickers:
        assert set(m) == {"channel", "client_id", "timestamp", "sequence_num", "events"}
        assert m["timestamp"].endswith("Z")
        ticker = first_ticker(m)
        assert tuple(ticker) == TICKER_FIELDS and all(isinstance(v, str) for v in ticker.values())
        assert float(ticker["best_bid"]) < float(ticker["best_ask"])
        assert ticker["price"] in (ticker["best_bid"], ticker["best_ask"])
        first_types.setdefault(ticker["product_id"], m["events"][0]["type"])
    assert first_types == {"BTC-USD": "snapshot", "ETH-USD": "snapshot"}
    assert sum(m["events"][0]["type"] == "snapshot" for m in tickers) == 2


def test_same_seed_same_stream_and_duration_does_not_change_the_prefix() -> None:
    short = list(simulate(5, 100))
    again = list(simulate(5, 100))
    longer = list(simulate(5, 1300))
    assert short == again
    assert longer[: len(short)] == short
    assert longer[len(short)]["timestamp"] >= "2025-01-01T00:01:40"
    assert list(simulate(6, 100)) != short


def test_simulate_and_truth_variant_emit_the_same_ticks() -> None:
    messages, truth = simulate_with_truth(9, 120)
    assert [first_ticker(m) for m in messages] == [first_ticker(m) for m in simulate(9, 120)]
    assert sum(s.ticks for s in truth) == len(messages)


def test_endless_stream_and_bad_arguments() -> None:
    stream = simulate(1, math.inf)
    assert len([next(stream) for _ in range(5000)]) == 5000
    with pytest.raises(ValueError, match="duplicates"):
        next(simulate(1, 10, ("BTC-USD", "BTC-USD")))
    with pytest.raises(ValueError, match="seconds"):
        next(simulate(1, -1))


# ---------------------------------------------------------------------------------------------------------
# Replay


@pytest.mark.parametrize("name", ["capture.ndjson", "capture.ndjson.gz"])
def test_replay_round_trips_a_capture(tmp_path: Path, name: str) -> None:
    messages = list(simulate(2, 60, heartbeats=True))
    assert write_ndjson(tmp_path / name, messages) == len(messages)
    assert list(replay(tmp_path / name)) == messages


def test_replay_reports_bad_lines_with_their_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text('{"channel":"ticker"}\n\n[1,2]\n{"channel":"heartbeats"}\n{"truncated": \n')
    with pytest.raises(ReplayError, match=r"bad.ndjson:3: expected a JSON object"):
        list(replay(path))
    assert [m["channel"] for m in replay(path, skip_bad=True)] == ["ticker", "heartbeats"]


def test_features_replayed_from_a_file_equal_streamed_ones(tmp_path: Path) -> None:
    # streamed: what the producer does, message by message, as they are generated
    engine = FeatureEngine()
    streamed: list[dict[str, Any]] = []
    captured: list[dict[str, Any]] = []
    for message in simulate(21, 900, ("BTC-USD", "ETH-USD"), heartbeats=True):
        captured.append(message)
        for ticker in tickers_of(message):
            streamed.extend(engine.update(ticker))
    streamed.extend(engine.flush())
    # replayed: the same messages through a file and the batch entry point
    write_ndjson(tmp_path / "capture.ndjson", captured)
    replayed = list(features_from_messages(replay(tmp_path / "capture.ndjson")))
    assert len(replayed) == len(streamed) == 2 * 900
    for a, b in zip(streamed, replayed, strict=True):
        assert (a["product_id"], a["timestamp"]) == (b["product_id"], b["timestamp"])
        for key, value in a.items():
            if isinstance(value, float):
                assert abs(value - b[key]) <= 1e-9, key


# ---------------------------------------------------------------------------------------------------------
# Live client against a loopback WebSocket server


def test_backoff_grows_exponentially_and_is_capped() -> None:
    backoff = Backoff(initial=0.5, factor=2.0, maximum=4.0, jitter=0.0)
    rng = random.Random(0)
    assert [backoff.delay(i, rng) for i in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    jittered = Backoff(initial=1.0, jitter=0.1)
    assert all(0.9 <= jittered.delay(0, rng) <= 1.1 for _ in range(100))


class FakeExchange:
    """Speaks just enough Advanced Trade: records subscriptions, plays one script per connection."""

    def __init__(self, scripts: list[list[str | None]]) -> None:
        self.scripts = scripts
        self.subscriptions: list[list[dict[str, Any]]] = []

    async def handler(self, socket: ServerConnection) -> None:
        index = len(self.subscriptions)
        received: list[dict[str, Any]] = []
        self.subscriptions.append(received)
        for _ in range(2):
            received.append(json.loads(await socket.recv()))
        script = self.scripts[min(index, len(self.scripts) - 1)]
        for frame in script:
            if frame is None:  # drop the connection abruptly
                return
            await socket.send(frame)
        await socket.wait_closed()  # then go silent until the client leaves


def tick_frame(sequence: int, second: int) -> str:
    ticker = {
        "type": "ticker",
        "product_id": "BTC-USD",
        "price": "65000.00",
        "best_bid": "65000.00",
        "best_bid_quantity": "0.1",
        "best_ask": "65000.01",
        "best_ask_quantity": "0.2",
    }
    return json.dumps(ticker_envelope(sequence, iso_us(1_735_689_600_000_000 + second * 1_000_000), [ticker]))


async def run_client(exchange: FakeExchange, want: int, **options: Any) -> tuple[CoinbaseTickerClient, list[Any]]:
    async with serve(exchange.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        gaps: list[tuple[int, int]] = []
        client = CoinbaseTickerClient(
            ["BTC-USD"],
            url=f"ws://127.0.0.1:{port}",
            backoff=Backoff(initial=0.05, maximum=0.2, jitter=0.0),
            on_gap=lambda expected, got: gaps.append((expected, got)),
            **options,
        )
        received: list[Any] = []
        async for message in client.messages():
            received.append(message)
            if len(received) >= want:
                client.stop()
        return client, [received, gaps]


@pytest.mark.timeout(30)
def test_live_client_subscribes_reconnects_and_detects_gaps() -> None:
    first: list[str | None] = [tick_frame(0, 0), tick_frame(1, 1), tick_frame(2, 2), None]
    second: list[str | None] = [
        tick_frame(0, 3),
        json.dumps(heartbeat_envelope(1, iso_us(1_735_689_604_000_000), 4)),
        tick_frame(3, 4),  # sequence 2 lost
        tick_frame(3, 4),  # duplicate
        "{not json",
        tick_frame(4, 5),
    ]
    exchange = FakeExchange([first, second])
    client, (received, gaps) = asyncio.run(run_client(exchange, want=7, idle_timeout=5.0))
    # every connection resubscribed: ticker for the product, heartbeats for the connection
    assert len(exchange.subscriptions) == 2
    for subs in exchange.subscriptions:
        assert subs == [
            {"type": "subscribe", "channel": "ticker", "product_ids": ["BTC-USD"]},
            {"type": "subscribe", "channel": "heartbeats"},
        ]
    assert [m["sequence_num"] for m in received] == [0, 1, 2, 0, 1, 3, 4]
    stats = client.stats
    assert (stats.connects, stats.reconnects) == (2, 1)
    assert (stats.gaps, stats.missed_messages, stats.duplicates, stats.bad_messages) == (1, 1, 1, 1)
    assert gaps == [(2, 3)]
    assert stats.heartbeats == 1
    # and what arrived is usable: features come out of the live messages
    rows = list(features_from_messages(received))
    assert [r["timestamp"] for r in rows][:2] == ["2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z"]


@pytest.mark.timeout(30)
def test_live_client_reconnects_when_the_feed_goes_silent() -> None:
    exchange = FakeExchange([[tick_frame(0, 0)], [tick_frame(0, 1)]])
    client, (received, _) = asyncio.run(run_client(exchange, want=2, idle_timeout=0.3))
    assert len(received) == 2
    assert client.stats.idle_timeouts == 1 and client.stats.connects == 2


@pytest.mark.timeout(30)
def test_live_client_gives_up_after_max_reconnects_when_nothing_listens() -> None:
    async def scenario() -> CoinbaseTickerClient:
        async with serve(FakeExchange([[]]).handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
        client = CoinbaseTickerClient(
            url=f"ws://127.0.0.1:{port}", backoff=Backoff(initial=0.01, jitter=0.0), max_reconnects=3
        )
        with pytest.raises(ConnectionError, match="gave up after 3 reconnects"):
            async for _ in client.messages():
                pass
        return client

    client = asyncio.run(scenario())
    assert client.stats.connects == 0 and client.stats.reconnects == 3


def test_cli_writes_a_simulated_capture_that_replays(tmp_path: Path) -> None:
    from services.ticks.__main__ import main

    out = tmp_path / "sample.ndjson"
    assert main(["simulate", "--seed", "4", "--seconds", "30", "--products", "BTC-USD,ETH-USD", "--out", str(out)]) == 0
    assert list(replay(out)) == list(simulate(4, 30, ("BTC-USD", "ETH-USD")))
