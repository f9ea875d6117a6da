"""Corporate actions: detected on the day from that day's bar, and never posing as moves in windows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from features import FEATURE_NAMES, Panel, adjust_panel, compute_features
from marketdata.synthetic import generate_market

FloatArray = npt.NDArray[np.float64]
T = 320
SPLIT = 280


def _walk(seed: int) -> dict[str, FloatArray]:
    """A bar series with moves within +-3%, never at a band, and flat opens."""
    rng = np.random.default_rng(seed)
    close = np.round(200.0 * np.cumprod(1.0 + rng.uniform(-0.03, 0.03, T)), 2)
    prev = np.concatenate([[200.0], close[:-1]])
    return {
        "open": prev.copy(),
        "high": np.maximum(close, prev) * 1.01,
        "low": np.minimum(close, prev) * 0.99,
        "close": close,
        "prev_close": prev,
        "volume": rng.integers(1_000, 5_000, T).astype(np.float64),
    }


def _halved(stock: dict[str, FloatArray], *, nse_adjusts_prev_close: bool) -> dict[str, FloatArray]:
    """The same company after a 1:1 bonus on SPLIT: prices halve, volume doubles."""
    out = {k: v.copy() for k, v in stock.items()}
    for name in ("open", "high", "low", "close"):
        out[name][SPLIT:] /= 2.0
    out["prev_close"][SPLIT + 1 :] /= 2.0
    if nse_adjusts_prev_close:
        out["prev_close"][SPLIT] /= 2.0
    out["volume"][SPLIT:] *= 2.0
    return out


def _panel(stocks: dict[str, dict[str, FloatArray]]) -> Panel:
    names = list(stocks)
    arrays = {f: np.column_stack([stocks[s][f] for s in names]) for f in next(iter(stocks.values()))}
    return Panel(
        dates=np.datetime64("2020-01-01") + np.arange(T).astype("timedelta64[D]"),
        symbols=np.array(names, dtype=object),
        trades=arrays["volume"] / 10.0,
        **arrays,
    )


@pytest.fixture(scope="module")
def twins() -> Panel:
    base = _walk(3)
    return _panel(
        {
            "PLAIN": base,
            "BONUS": _halved(base, nse_adjusts_prev_close=False),
            "BONUSREF": _halved(base, nse_adjusts_prev_close=True),
        }
    )


def test_bonus_day_is_detected_with_its_ratio_either_way_nse_reports_it(twins: Panel) -> None:
    adjusted = adjust_panel(twins)
    assert np.nonzero(adjusted.ratio[:, 1] != 1.0)[0].tolist() == [SPLIT]
    assert np.nonzero(adjusted.ratio[:, 2] != 1.0)[0].tolist() == [SPLIT]
    assert adjusted.ratio[SPLIT, 1] == 0.5  # open / unadjusted prev_close
    assert adjusted.ratio[SPLIT, 2] == 0.5  # NSE's adjusted prev_close / last close
    assert (adjusted.ratio[:, 0] == 1.0).all()


def test_prices_before_the_action_are_untouched_and_later_ones_continue_them(twins: Panel) -> None:
    adjusted = adjust_panel(twins)
    np.testing.assert_array_equal(adjusted.close[:SPLIT, 1], twins.close[:SPLIT, 1])
    np.testing.assert_array_equal(adjusted.close[:, 1], adjusted.close[:, 0])
    np.testing.assert_array_equal(adjusted.volume[:, 2], twins.volume[:, 0])
    np.testing.assert_array_equal(adjusted.raw_close[:, 1], twins.close[:, 1])


def test_split_day_does_not_move_trend_contraction_volume_or_momentum_features(twins: Panel) -> None:
    cube = compute_features(twins)
    # These read the raw price, which did halve: its tick rounding is not scale-free.
    as_traded = {"log_close", "band_distance", "band_rounding_gap", "band5_rounding_gap"}
    for k, name in enumerate(FEATURE_NAMES):
        if name in as_traded:
            continue
        plain = cube.values[SPLIT - 5 :, 0, k]
        for column in (1, 2):
            np.testing.assert_allclose(cube.values[SPLIT - 5 :, column, k], plain, rtol=1e-6, err_msg=name)
    assert np.isfinite(cube.values[-1, 0]).all()
    log_close = cube.feature("log_close")
    assert log_close[-1, 1] == pytest.approx(log_close[-1, 0] - np.log(2.0), abs=1e-5)


def _one_day(**bar: float) -> Panel:
    """Two bars of one stock: day 0 closes at 100, day 1 is ``bar``."""
    day0 = {"open": 100.0, "high": 100.0, "low": 100.0, "close": 100.0, "prev_close": 100.0, "volume": 10.0}
    day1 = day0 | bar
    return Panel(
        dates=np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
        symbols=np.array(["X"], dtype=object),
        trades=np.array([[1.0], [1.0]]),
        **{f: np.array([[day0[f]], [day1[f]]]) for f in day0},
    )


def test_a_lower_circuit_at_20_percent_is_a_real_move_not_an_action() -> None:
    locked = _one_day(open=80.0, high=80.0, low=80.0, close=80.0)
    assert adjust_panel(locked).ratio[1, 0] == 1.0
    gap = _one_day(open=75.0, high=76.0, low=74.0, close=75.0)
    assert adjust_panel(gap).ratio[1, 0] == pytest.approx(0.75)


def test_a_one_tick_move_of_a_penny_stock_is_not_an_action() -> None:
    penny = Panel(
        dates=np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
        symbols=np.array(["P"], dtype=object),
        open=np.array([[0.10], [0.05]]),
        high=np.array([[0.10], [0.05]]),
        low=np.array([[0.10], [0.05]]),
        close=np.array([[0.10], [0.05]]),
        prev_close=np.array([[0.10], [0.10]]),
        volume=np.array([[1.0], [1.0]]),
        trades=np.array([[1.0], [1.0]]),
    )
    assert adjust_panel(penny).ratio[1, 0] == 1.0


def test_a_consolidation_scales_later_prices_down() -> None:
    consolidated = _one_day(open=1000.0, high=1010.0, low=990.0, close=1005.0)
    adjusted = adjust_panel(consolidated)
    assert adjusted.ratio[1, 0] == 10.0
    assert adjusted.close[1, 0] == pytest.approx(100.5)
    assert adjusted.volume[1, 0] == pytest.approx(100.0)


def test_a_listing_day_far_from_its_issue_price_is_not_an_action() -> None:
    listing = Panel(
        dates=np.array(["2020-01-01"], dtype="datetime64[D]"),
        symbols=np.array(["IPO"], dtype=object),
        open=np.array([[250.0]]),
        high=np.array([[262.5]]),
        low=np.array([[250.0]]),
        close=np.array([[262.5]]),
        prev_close=np.array([[108.0]]),  # issue price
        volume=np.array([[1.0]]),
        trades=np.array([[1.0]]),
    )
    adjusted = adjust_panel(listing)
    assert adjusted.ratio[0, 0] == 1.0
    assert adjusted.raw_close[0, 0] / adjusted.raw_reference[0, 0] - 1 == pytest.approx(262.5 / 108 - 1)


def test_days_without_a_bar_hold_the_last_close_with_no_volume() -> None:
    close = np.array([[np.nan], [10.0], [np.nan], [np.nan], [12.0]])
    gappy = Panel(
        dates=np.datetime64("2020-01-01") + np.arange(5).astype("timedelta64[D]"),
        symbols=np.array(["G"], dtype=object),
        open=close.copy(),
        high=close.copy(),
        low=close.copy(),
        close=close,
        prev_close=np.array([[np.nan], [10.0], [np.nan], [np.nan], [10.0]]),
        volume=np.array([[np.nan], [5.0], [np.nan], [np.nan], [7.0]]),
        trades=close.copy(),
    )
    adjusted = adjust_panel(gappy)
    np.testing.assert_array_equal(adjusted.close[:, 0], [np.nan, 10.0, 10.0, 10.0, 12.0])
    np.testing.assert_array_equal(adjusted.volume[1:, 0], [5.0, 0.0, 0.0, 7.0])
    np.testing.assert_array_equal(adjusted.age[:, 0], [0, 1, 2, 3, 4])


def test_every_split_of_the_synthetic_market_is_found_and_nothing_else() -> None:
    market = generate_market(stocks=500, days=300, seed=1, end=dt.date(2024, 12, 31))
    panel = market.panel()
    adjusted = adjust_panel(panel)
    truth = market.truth_panel("split") == 1.0
    found = adjusted.ratio != 1.0
    assert truth.sum() >= 10
    assert np.array_equal(found, truth)
    # The opening gap estimates the ratio to within a few percent of the true 1:2, 1:5 or 1:10.
    true_ratio = market.stocks.set_index("symbol").loc[panel.symbols[np.nonzero(truth)[1]], "split_ratio"]
    np.testing.assert_allclose(adjusted.ratio[truth], 1.0 / true_ratio.to_numpy(), rtol=0.08)


@pytest.mark.realdata
def test_real_data_keeps_almost_no_crash_sized_moves_after_adjustment(real_parquet: Path) -> None:
    bars = pd.read_parquet(
        real_parquet, columns=["symbol", "date", "open", "high", "low", "close", "prev_close", "volume"]
    )
    panel = Panel.from_long(bars)
    adjusted = adjust_panel(panel)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_move = panel.close / panel.prev_close - 1.0
        adjusted_move = adjusted.raw_close / adjusted.raw_reference - 1.0
    # Below Rs 1 a tick alone is a 5% move; a first bar's "move" from an issue price is no window's concern.
    priced = panel.has_bar & (panel.prev_close >= 1.0) & (adjusted.age > 1)
    raw_crashes = int((priced & (raw_move <= -0.4)).sum())
    left = int((priced & (adjusted_move <= -0.4)).sum())
    # The README counts 926 such rows at any price; those left are real crashes (DHFL 2018, Yes Bank 2020).
    assert raw_crashes > 400  # 506 measured
    assert left <= 10  # 5 measured
    assert 500 < int((adjusted.ratio != 1.0).sum()) < 1500
