"""The shared feature module: 1-s grid, window maths, validation, and streaming == batch."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ml.features import (
    FEATURE_COLUMNS,
    MAX_GAP_SECONDS,
    FeatureEngine,
    FeatureError,
    features_from_messages,
    parse_timestamp_us,
    population_std,
    validate_feature_row,
)


def ticker(t: str, bid: float, ask: float, bq: float = 1.0, aq: float = 1.0, pid: str = "BTC-USD") -> dict[str, Any]:
    return {
        "type": "ticker",
        "product_id": pid,
        "price": f"{ask:.2f}",
        "best_bid": f"{bid:.2f}",
        "best_bid_quantity": f"{bq:.8f}",
        "best_ask": f"{ask:.2f}",
        "best_ask_quantity": f"{aq:.8f}",
        "timestamp": t,
    }


def envelope(seq: int, t: str, *tickers: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": "ticker",
        "client_id": "",
        "timestamp": t,
        "sequence_num": seq,
        "events": [{"type": "update", "tickers": [{k: v for k, v in x.items() if k != "timestamp"} for x in tickers]}],
    }


def test_feature_columns_cover_every_family_and_window() -> None:
    assert len(FEATURE_COLUMNS) == len(set(FEATURE_COLUMNS))
    for family in ("log_return", "rv", "spread_bps_mean", "ob_imbalance", "tick_intensity"):
        for w in (30, 60, 300):
            assert f"{family}_{w}s" in FEATURE_COLUMNS


def test_seconds_close_when_a_later_tick_arrives_and_silent_seconds_are_forward_filled() -> None:
    engine = FeatureEngine()
    assert engine.update(ticker("2025-01-01T00:00:00.100Z", 100.00, 100.02, bq=3, aq=1)) == []
    assert engine.update(ticker("2025-01-01T00:00:00.900Z", 100.00, 100.02, bq=3, aq=1)) == []
    rows = engine.update(ticker("2025-01-01T00:00:03.5Z", 101.00, 101.02))
    # seconds 0, 1 and 2 closed; 1 and 2 had no tick and carry second 0's quote
    assert [r["timestamp"] for r in rows] == [
        "2025-01-01T00:00:01Z",
        "2025-01-01T00:00:02Z",
        "2025-01-01T00:00:03Z",
    ]
    assert [r["tick_intensity_30s"] for r in rows] == [2.0, 1.0, pytest.approx(2 / 3)]
    assert all(r["log_return_1s"] == 0.0 for r in rows)
    assert rows[0]["ob_imbalance_30s"] == pytest.approx(0.5)
    assert rows[0]["spread_bps_mean_30s"] == pytest.approx(0.02 / 100.01 * 1e4)
    (last,) = engine.flush()
    assert last["timestamp"] == "2025-01-01T00:00:04Z"
    assert last["log_return_1s"] == pytest.approx(math.log(101.01 / 100.01))
    assert last["ob_imbalance_30s"] == pytest.approx((0.5 * 3 + 0.0) / 4)


def test_window_statistics_match_a_direct_computation() -> None:
    mids = [100.0 * math.exp(0.001 * math.sin(i) + 0.0005 * i) for i in range(400)]
    engine = FeatureEngine()
    rows: list[dict[str, Any]] = []
    for i, mid in enumerate(mids):
        rows += engine.update(ticker(f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}.5Z", mid - 0.005, mid + 0.005))
    rows += engine.flush()
    assert len(rows) == 400
    returns = [0.0] + [math.log(mids[i] / mids[i - 1]) for i in range(1, 400)]
    # tickers are rounded to cents, so recompute mids the way the engine saw them
    seen = [(float(f"{m - 0.005:.2f}") + float(f"{m + 0.005:.2f}")) / 2 for m in mids]
    returns = [0.0] + [math.log(seen[i] / seen[i - 1]) for i in range(1, 400)]
    k = 399
    for w in (30, 60, 300):
        assert rows[k][f"rv_{w}s"] == pytest.approx(population_std(returns[k - w + 1 : k + 1]), rel=1e-12)
        assert rows[k][f"log_return_{w}s"] == pytest.approx(math.log(seen[k] / seen[k - w]), rel=1e-12)
        assert rows[k][f"tick_intensity_{w}s"] == 1.0


def test_products_are_independent() -> None:
    engine = FeatureEngine()
    engine.update(ticker("2025-01-01T00:00:00Z", 100, 101, pid="BTC-USD"))
    out = engine.update(ticker("2025-01-01T00:00:05Z", 10, 11, pid="ETH-USD"))
    assert out == []  # ETH's first tick cannot close BTC's second
    out = engine.update(ticker("2025-01-01T00:00:01Z", 100, 101, pid="BTC-USD"))
    assert [r["product_id"] for r in out] == ["BTC-USD"]


def test_late_tick_counts_toward_the_open_second_and_long_gap_restarts() -> None:
    engine = FeatureEngine()
    engine.update(ticker("2025-01-01T00:00:00Z", 100, 101))
    engine.update(ticker("2025-01-01T00:00:02Z", 100, 101))
    assert engine.update(ticker("2025-01-01T00:00:01Z", 100, 101)) == []
    assert engine.late_ticks == 1
    rows = engine.update(ticker(f"2025-01-01T01:00:{0:02d}Z", 100, 101))
    assert len(rows) == 1 and engine.resets == 1  # not 3600 invented rows
    assert MAX_GAP_SECONDS < 3600


def test_every_row_is_finite_and_passes_validation() -> None:
    msgs = [
        envelope(
            i,
            f"2025-01-01T00:{i // 120:02d}:{(i // 2) % 60:02d}.{(i % 2) * 5}Z",
            ticker("", 100 + (i % 7) * 0.01, 100.10 + (i % 5) * 0.02, bq=i % 3, aq=1 + i % 4),
        )
        for i in range(600)
    ]
    rows = list(features_from_messages(msgs))
    assert len(rows) == 300
    for row in rows:
        assert set(row) == {"product_id", "timestamp", *FEATURE_COLUMNS}
        clean = validate_feature_row(row)
        assert list(clean) == list(FEATURE_COLUMNS)
        assert all(math.isfinite(v) for v in clean.values())


def test_features_from_messages_ignores_other_channels_and_reports_bad_tickers() -> None:
    good = envelope(1, "2025-01-01T00:00:00Z", ticker("", 100, 101))
    bad = envelope(2, "2025-01-01T00:00:01Z", {**ticker("", 100, 101), "best_bid": "abc"})
    heartbeat = {
        "channel": "heartbeats",
        "timestamp": "2025-01-01T00:00:01Z",
        "events": [{"heartbeat_counter": 1}],
    }
    with pytest.raises(FeatureError, match="best_bid"):
        list(features_from_messages([good, heartbeat, bad]))
    errors: list[str] = []
    rows = list(features_from_messages([good, heartbeat, bad], on_error=lambda t, e: errors.append(str(e))))
    assert len(rows) == 1 and len(errors) == 1 and "best_bid" in errors[0]


def test_malformed_envelopes_are_reported_not_crashed_on() -> None:
    good = envelope(1, "2025-01-01T00:00:00Z", ticker("", 100, 101))
    broken: list[dict[str, Any]] = [
        {"channel": "ticker", "events": "nope"},
        {"channel": "ticker", "events": [{"tickers": None}]},
        {"channel": "ticker", "events": [{"tickers": ["x"]}]},
    ]
    for bad in broken:
        with pytest.raises(FeatureError):
            list(features_from_messages([good, bad]))
    errors: list[Any] = []
    rows = list(features_from_messages([good, *broken], on_error=lambda item, exc: errors.append(item)))
    assert len(rows) == 1 and errors == broken


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("best_ask", "99", "below best_bid"),
        ("best_bid", "-1", "positive"),
        ("best_bid_quantity", None, "missing"),
        ("timestamp", "yesterday", "ISO-8601"),
        ("product_id", "", "product_id"),
    ],
)
def test_bad_tickers_name_the_field(field: str, value: Any, fragment: str) -> None:
    bad = {**ticker("2025-01-01T00:00:00Z", 100, 101), field: value}
    with pytest.raises(FeatureError, match=fragment):
        FeatureEngine().update(bad)


def test_timestamps_accept_nanoseconds_and_offsets() -> None:
    assert parse_timestamp_us("2023-06-23T20:31:56.121961769Z") == parse_timestamp_us("2023-06-23T20:31:56.121961Z")
    assert parse_timestamp_us("2025-01-01T01:00:00+01:00") == parse_timestamp_us("2025-01-01T00:00:00Z")
    assert parse_timestamp_us(1.5) == 1_500_000


_MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(
    moment=_MOMENTS, nanos=st.integers(0, 999), zone=st.sampled_from(["Z", "z", "+00:00", "+02:00"]), pad=st.booleans()
)
def test_every_timestamp_form_reads_as_the_same_microsecond(moment: datetime, nanos: int, zone: str, pad: bool) -> None:
    """The fromisoformat fast path and the normalising fallback agree with the true instant, to the µs."""
    expected = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    shifted = moment + (timedelta(hours=2) if zone == "+02:00" else timedelta(0))
    text = shifted.replace(tzinfo=None).isoformat(timespec="microseconds") + (f"{nanos:03d}" if nanos else "") + zone
    assert parse_timestamp_us(f"  {text} " if pad else text) == expected


_ODD_VALUES = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, True, False, "0.1", None, 10**400, -(10**400)]),
    st.integers(-(2**70), 2**70),
)


@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False), min_size=len(FEATURE_COLUMNS), max_size=len(FEATURE_COLUMNS)
    ),
    odd=st.dictionaries(st.integers(0, len(FEATURE_COLUMNS) - 1), _ODD_VALUES, max_size=3),
    extra_key=st.sampled_from([None, "timestamp", "surprise"]),
)
def test_validation_fast_path_answers_exactly_as_the_field_by_field_checks(
    values: list[float], odd: dict[int, Any], extra_key: str | None
) -> None:
    """A plain dict takes the fast path; a read-only mapping of the same row takes the checks that name fields."""
    row: dict[str, Any] = {"product_id": "BTC-USD", **dict(zip(FEATURE_COLUMNS, values, strict=True))}
    for index, value in odd.items():
        row[FEATURE_COLUMNS[index]] = value
    if extra_key:
        row[extra_key] = "2025-01-01T00:00:00Z"
    outcomes: list[dict[str, float] | str] = []
    for candidate in (row, MappingProxyType(row)):
        try:
            outcomes.append(validate_feature_row(candidate))
        except FeatureError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    if isinstance(outcomes[0], dict):
        assert all(type(v) is float and math.isfinite(v) for v in outcomes[0].values())


def valid_row() -> dict[str, Any]:
    return {"product_id": "BTC-USD", "timestamp": "2025-01-01T00:00:00Z", **{c: 0.1 for c in FEATURE_COLUMNS}}


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda r: r.pop("rv_60s"), "rv_60s: missing"),
        (lambda r: r.update(volatility=1.0), "volatility: unknown"),
        (lambda r: r.update(rv_30s="0.1"), "rv_30s: not a number"),
        (lambda r: r.update(rv_30s=True), "rv_30s: not a number"),
        (lambda r: r.update(rv_300s=float("nan")), "rv_300s: not finite"),
        (lambda r: r.update(log_return_1s=float("inf")), "log_return_1s: not finite"),
    ],
)
def test_validate_feature_row_names_the_field(mutate: Any, fragment: str) -> None:
    row = valid_row()
    mutate(row)
    with pytest.raises(FeatureError, match=fragment):
        validate_feature_row(row)


def test_validate_feature_row_accepts_ints_and_drops_metadata() -> None:
    row = {**valid_row(), "tick_intensity_30s": 6}
    clean = validate_feature_row(row)
    assert clean["tick_intensity_30s"] == 6.0 and isinstance(clean["tick_intensity_30s"], float)
    assert "product_id" not in clean
    with pytest.raises(FeatureError, match="row"):
        validate_feature_row([1, 2])  # type: ignore[arg-type]


def test_validate_feature_row_rejects_huge_integers_by_name() -> None:
    from services.ml.features import FEATURE_COLUMNS, FeatureError, validate_feature_row

    row = dict.fromkeys(FEATURE_COLUMNS, 0.5)
    row[FEATURE_COLUMNS[0]] = 10**400
    with pytest.raises(FeatureError, match=f"{FEATURE_COLUMNS[0]}: number out of range"):
        validate_feature_row(row)
