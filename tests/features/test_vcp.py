"""Each feature family against values worked out by hand on a tiny panel."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from features import FEATURE_NAMES, FeatureCube, Panel, compute_features, features_on
from marketdata.circuits import is_upper_lock

T = 300
LAST = T - 1
FloatArray = npt.NDArray[np.float64]


def _previous(close: FloatArray, first: float) -> FloatArray:
    prev = np.empty_like(close)
    prev[0] = first
    prev[1:] = close[:-1]
    return prev


def _build(stocks: dict[str, dict[str, FloatArray]], known_band: list[float] | None = None) -> Panel:
    names = list(stocks)
    fields = {f: np.column_stack([stocks[s][f] for s in names]) for f in ("open", "high", "low", "close")}
    fields["prev_close"] = np.column_stack([stocks[s]["prev_close"] for s in names])
    fields["volume"] = np.column_stack([stocks[s]["volume"] for s in names])
    return Panel(
        dates=np.datetime64("2021-01-01") + np.arange(T).astype("timedelta64[D]"),
        symbols=np.array(names, dtype=object),
        trades=fields["volume"] / 10.0,
        band=np.tile(np.array(known_band if known_band is not None else [np.nan] * len(names)), (T, 1)),
        **fields,
    )


def _ramp() -> dict[str, FloatArray]:
    """close = 100 + t, high/low one rupee either side, volume 1,000."""
    close = 100.0 + np.arange(T)
    return {
        "close": close,
        "high": close + 1.0,
        "low": close - 1.0,
        "open": close - 0.5,
        "prev_close": _previous(close, 99.0),
        "volume": np.full(T, 1000.0),
    }


def _contracting() -> dict[str, FloatArray]:
    """Flat close 100; the high-low half-width shrinks 10, 8, 6, 4, 2 over the last four 15-day segments."""
    half = np.full(T, 10.0)
    half[240:255], half[255:270], half[270:285], half[285:] = 8.0, 6.0, 4.0, 2.0
    volume = np.full(T, 1000.0)
    volume[290:299], volume[299] = 200.0, 600.0
    close = np.full(T, 100.0)
    return {
        "close": close,
        "high": close + half,
        "low": close - half,
        "open": close,
        "prev_close": close.copy(),
        "volume": volume,
    }


def _circuits() -> dict[str, FloatArray]:
    """Flat, with 5% upper-circuit locks (close = high = band price) on rows 229, 269, 298 and 299."""
    close = np.empty(T)
    price = 100.0
    locks = {229: 105.0, 269: 110.25, 298: 115.75, 299: 121.50}  # prev x 1.05 rounded down to 0.05
    for t in range(T):
        price = locks.get(t, price)
        close[t] = price
    prev = _previous(close, 100.0)
    return {
        "close": close,
        "high": close.copy(),
        "low": prev.copy(),
        "open": prev.copy(),
        "prev_close": prev,
        "volume": np.full(T, 500.0),
    }


def _zigzag() -> dict[str, FloatArray]:
    """Alternates 100 / 104: +4% and -3.85% moves, so the inferred band is 5%."""
    close = np.where(np.arange(T) % 2 == 0, 100.0, 104.0)
    prev = _previous(close, 104.0)
    return {
        "close": close,
        "high": np.maximum(close, prev) + 0.5,
        "low": np.minimum(close, prev) - 0.5,
        "open": prev.copy(),
        "prev_close": prev,
        "volume": np.full(T, 300.0),
    }


def _flat() -> dict[str, FloatArray]:
    """Open = high = low = close = 50 every day."""
    close = np.full(T, 50.0)
    return {k: close.copy() for k in ("close", "high", "low", "open", "prev_close")} | {"volume": np.full(T, 100.0)}


def _late_with_gap() -> dict[str, FloatArray]:
    """Listed on row 250, no bar on row 298."""
    stock = _ramp()
    for values in stock.values():
        values[:250] = np.nan
        values[298] = np.nan
    stock["prev_close"][299] = stock["close"][297]
    return stock


@pytest.fixture(scope="module")
def cube() -> FeatureCube:
    stocks = {
        "RAMP": _ramp(),
        "VCP": _contracting(),
        "LOCK": _circuits(),
        "ZIG": _zigzag(),
        "FLAT": _flat(),
        "LATE": _late_with_gap(),
    }
    return compute_features(_build(stocks, known_band=[np.nan, np.nan, 5.0, np.nan, np.nan, np.nan]))


def _at(cube: FeatureCube, name: str, symbol: str, row: int = LAST) -> float:
    return float(cube.feature(name)[row, list(cube.symbols).index(symbol)])


def _close(actual: float, expected: float) -> None:
    assert actual == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_cube_has_every_feature_in_spec_order(cube: FeatureCube) -> None:
    assert cube.names == FEATURE_NAMES
    assert cube.values.shape == (T, 6, 25)
    assert cube.values.dtype == np.float32


def test_trend_template_matches_hand_computed_moving_averages_and_extremes(cube: FeatureCube) -> None:
    # Closes 250..299 average 374.5.
    _close(_at(cube, "close_sma50", "RAMP"), 399 / 374.5 - 1)
    # Highest high of the last 252 rows is 400 (today), lowest low is row 48's, 147.
    _close(_at(cube, "dist_high252", "RAMP"), 399 / 400 - 1)
    _close(_at(cube, "dist_low252", "RAMP"), 399 / 147 - 1)
    _close(_at(cube, "dist_high252", "VCP"), 100 / 110 - 1)


def test_contraction_features_read_four_shrinking_segments(cube: FeatureCube) -> None:
    # Segment depths (max high - min low) / max high: 16/108, 12/106, 8/104, 4/102.
    _close(_at(cube, "contraction_max_depth", "VCP"), 16 / 108)
    _close(_at(cube, "range_tight10", "VCP"), (102 - 98) / 100)
    # True range is 2 x half-width: mean 4 over 10 rows; (5x16 + 15x12 + 15x8 + 15x4) / 50 = 8.8 over 50.
    _close(_at(cube, "atr_ratio_10_50", "VCP"), 4 / 8.8)
    _close(_at(cube, "atr_ratio_10_50", "RAMP"), 1.0)
    # A flat close has zero bandwidth, never below itself; the ramp's bandwidth falls every day.
    assert _at(cube, "bbw_pctile120", "VCP") == 0.0
    assert _at(cube, "bbw_pctile120", "RAMP") == 0.0
    _close(_at(cube, "range_tight10", "RAMP"), (400 - 389) / 399)


def test_volume_dry_up_and_surge_against_the_50_day_mean(cube: FeatureCube) -> None:
    # Last 10 volumes: nine of 200 and 600 today -> 240; last 50: forty of 1,000 plus those -> 848.
    _close(_at(cube, "volume_dryup_10_50", "VCP"), 240 / 848)
    _close(_at(cube, "volume_surge_50", "VCP"), 600 / 848)
    _close(_at(cube, "volume_dryup_10_50", "RAMP"), 1.0)


def test_momentum_features_and_cross_sectional_rank(cube: FeatureCube) -> None:
    _close(_at(cube, "return_1d", "RAMP"), 399 / 398 - 1)
    _close(_at(cube, "return_20d", "RAMP"), 399 / 379 - 1)
    _close(_at(cube, "close_location", "RAMP"), 0.5)
    _close(_at(cube, "close_location", "LOCK"), 1.0)
    _close(_at(cube, "return_1d", "LOCK"), 121.50 / 115.75 - 1)
    # 63-day returns: VCP 0 and FLAT 0 (tied ranks 1.5), ZIG 0.04, LOCK 121.5/105 - 1, RAMP 399/336 - 1.
    ranks = {s: _at(cube, "rs_rank63", s) for s in ("VCP", "FLAT", "ZIG", "LOCK", "RAMP")}
    assert ranks == pytest.approx({"VCP": 0.3, "FLAT": 0.3, "ZIG": 0.6, "LOCK": 0.8, "RAMP": 1.0})
    assert math.isnan(_at(cube, "rs_rank63", "LATE"))


def test_circuit_history_counts_locks_and_strict_locks(cube: FeatureCube) -> None:
    assert _at(cube, "lock_count20", "LOCK") == 2  # rows 298, 299
    assert _at(cube, "lock_count60", "LOCK") == 3  # and 269
    assert _at(cube, "days_since_lock", "LOCK") == 0
    assert _at(cube, "days_since_lock", "LOCK", 297) == 28
    assert _at(cube, "days_since_lock", "RAMP") == 250  # none in its 300 rows: the cap
    # Every lock here is within 0.1 pp of 5% (121.50 / 115.75 is +4.97%): strict as well.
    assert _at(cube, "strict_count5", "LOCK") == 2
    assert _at(cube, "strict_count20", "LOCK") == 2
    assert _at(cube, "days_since_strict", "LOCK") == 0
    assert _at(cube, "lock_count20", "ZIG") == 0


def test_the_band_is_known_or_estimated_and_its_price_read_against_the_close(cube: FeatureCube) -> None:
    assert _at(cube, "band_pct", "LOCK") == 5  # from the band file
    assert _at(cube, "band_pct", "ZIG") == 5  # day ranges up to +4.5% need the 5% band
    assert _at(cube, "band_pct", "RAMP") == 2
    assert _at(cube, "band_distance", "LOCK") == 0.0
    _close(_at(cube, "band_distance", "ZIG"), 105.0 / 104.0 - 1)
    _close(_at(cube, "band_distance", "RAMP"), 405.95 / 399 - 1)  # 398 x 1.02 = 405.96, down to the tick
    # Tomorrow's 5% band price over 121.50 is 127.575, down to 127.55: +4.979%, so 0.021 pp is lost.
    _close(_at(cube, "band_rounding_gap", "LOCK"), 5 - (127.55 / 121.5 - 1) * 100)
    _close(_at(cube, "band5_rounding_gap", "RAMP"), 5 - (418.95 / 399 - 1) * 100)


def test_hit_today_is_exactly_days_since_lock_zero(cube: FeatureCube) -> None:
    panel = _build({"LOCK": _circuits(), "ZIG": _zigzag()}, known_band=[5.0, np.nan])
    flags = is_upper_lock(panel.close, panel.high, panel.prev_close)
    days = compute_features(panel).feature("days_since_lock")
    defined = ~np.isnan(days)
    assert flags.sum() == 4
    assert np.array_equal(days[defined] == 0, flags[defined])
    assert flags[~defined].sum() == 0


def test_liquidity_features_use_traded_rupees_and_raw_price(cube: FeatureCube) -> None:
    _close(_at(cube, "log_traded_value20", "RAMP"), math.log1p(389.5 * 1000))
    _close(_at(cube, "log_close", "RAMP"), math.log(399))
    _close(_at(cube, "log_close", "LOCK"), math.log(121.5))


def test_features_are_nan_without_history_or_a_bar(cube: FeatureCube) -> None:
    row = cube.on(cube.dates[LAST])[list(cube.symbols).index("LATE")]
    late = dict(zip(FEATURE_NAMES, row, strict=True))
    # Listed 50 rows ago: 50-row windows are defined, longer ones are not.
    assert not math.isnan(late["close_sma50"])
    assert not math.isnan(late["lock_count20"])
    for name in ("dist_high252", "bbw_pctile120", "lock_count60", "days_since_lock", "rs_rank63"):
        assert math.isnan(late[name]), name
    # No bar on row 298: nothing at all that day.
    assert np.isnan(cube.values[298, list(cube.symbols).index("LATE")]).all()
    # The day after the gap measures against NSE's previous close (row 297's close).
    _close(late["return_1d"], 399 / 397 - 1)


def test_undefined_ratios_are_nan_not_infinite(cube: FeatureCube) -> None:
    assert math.isnan(_at(cube, "close_location", "FLAT"))  # high == low
    assert math.isnan(_at(cube, "atr_ratio_10_50", "FLAT"))  # no range in 50 days
    assert _at(cube, "contraction_max_depth", "FLAT") == 0.0
    assert np.isfinite(cube.values[~np.isnan(cube.values)]).all()


def test_features_on_one_date_equals_the_full_computation(cube: FeatureCube) -> None:
    panel = _build({"RAMP": _ramp(), "VCP": _contracting(), "LATE": _late_with_gap()})
    full = compute_features(panel)
    for row in (150, 298, LAST):
        one = features_on(panel, panel.dates[row])
        assert one.shape == (3, 25)
        np.testing.assert_allclose(one, full.values[row], rtol=1e-6, atol=1e-9)


def test_features_on_rejects_a_date_outside_the_panel() -> None:
    panel = _build({"RAMP": _ramp()})
    with pytest.raises(ValueError, match="not a trading date"):
        features_on(panel, "2030-01-01")


def test_to_frame_has_one_row_per_stock_day_with_a_bar(cube: FeatureCube) -> None:
    frame = cube.to_frame()
    assert len(frame) == 5 * T + (T - 250 - 1)
    assert list(frame.columns[:3]) == ["date", "symbol", "instrument_id"]
    assert list(frame.columns[3:]) == list(FEATURE_NAMES)
