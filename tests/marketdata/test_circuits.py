from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata import circuits


def test_upper_band_price_rounds_down_to_the_tick() -> None:
    # 30.60 * 1.05 = 32.13 -> 32.10 (down), never 32.15 which would exceed 5%
    assert circuits.upper_band_price(30.60, 5) == pytest.approx(32.10)
    assert circuits.upper_band_price(100.0, 20) == pytest.approx(120.0)
    assert circuits.upper_band_price(123.45, 10) == pytest.approx(135.75)  # 135.795 -> 135.75


def test_lower_band_price_rounds_up_to_the_tick() -> None:
    assert circuits.lower_band_price(30.60, 5) == pytest.approx(29.10)  # 29.07 -> 29.10
    assert circuits.lower_band_price(100.0, 20) == pytest.approx(80.0)


def test_band_price_is_exact_on_tick_multiples_despite_float_noise() -> None:
    # 0.1 + 0.2 style noise must not push an exact band price down a tick.
    prev = np.array([10.0, 19.99, 250.05, 1.15])
    expected = np.array([10.50, 20.95, 262.55, 1.20])
    np.testing.assert_allclose(circuits.upper_band_price(prev, 5), expected)


def test_upper_circuit_needs_close_at_high_and_at_band() -> None:
    prev = np.array([100.0, 100.0, 100.0, 100.0])
    close = np.array([110.0, 110.0, 109.95, 109.90])
    high = np.array([110.0, 110.5, 109.95, 109.90])
    flags = circuits.is_upper_circuit(close, high, prev, 10)
    # exact band; close below high; one tick below band; two ticks below band
    assert flags.tolist() == [True, False, True, False]


def test_low_priced_stock_must_hit_the_band_exactly() -> None:
    # A Rs 1.00 stock: a tick is 5%, so a flat close would otherwise be "within one tick" of 1.05.
    prev = np.array([1.00, 1.00, 1.40, 1.40])
    close = np.array([1.00, 1.05, 1.45, 1.50])
    flags = circuits.is_upper_circuit(close, close, prev, np.array([5, 5, 10, 10]))
    assert flags.tolist() == [False, True, False, True]


def test_nan_inputs_are_never_a_circuit() -> None:
    flags = circuits.is_upper_circuit([np.nan, 105.0], [np.nan, 105.0], [100.0, 100.0], [5, np.nan])
    assert flags.tolist() == [False, False]


def test_lower_circuit_and_locked_open() -> None:
    assert circuits.is_lower_circuit([95.0], [95.0], [100.0], [5]).tolist() == [True]
    assert circuits.is_lower_circuit([95.0], [94.0], [100.0], [5]).tolist() == [False]
    assert circuits.is_at_upper_band([105.0, 104.0], [100.0, 100.0], [5, 5]).tolist() == [True, False]


def test_smallest_band_covering() -> None:
    out = circuits.smallest_band_covering([0.5, 2.0, 2.01, 4.99, 9.0, 15.0, 25.0, np.nan])
    np.testing.assert_array_equal(out, [2, 2, 5, 5, 10, 20, 20, np.nan])


def test_band_inference_uses_only_the_past_and_ignores_corporate_actions() -> None:
    prev = np.full((6, 1), 100.0)
    close = np.array([[101.0], [104.0], [100.0], [50.0], [109.0], [100.0]])  # -50% is a split
    band = circuits.infer_band(close, prev, window=3)
    np.testing.assert_array_equal(band[:, 0], [2, 5, 5, 5, 10, 10])
    # truncating the future leaves past bands unchanged
    np.testing.assert_array_equal(circuits.infer_band(close[:3], prev[:3], window=3), band[:3])


def test_known_band_overrides_inference() -> None:
    prev = np.full((3, 2), 100.0)
    close = np.full((3, 2), 101.0)
    band = circuits.infer_band(close, prev, known_band=np.array([np.nan, 20.0]))
    np.testing.assert_array_equal(band, [[2, 20], [2, 20], [2, 20]])


def test_label_is_the_next_days_circuit() -> None:
    uc = np.array([[False], [True], [False], [True]])
    bars = np.ones_like(uc)
    np.testing.assert_array_equal(circuits.next_day_label(uc, bars)[:, 0], [1, 0, 1, np.nan])
    np.testing.assert_array_equal(circuits.next_day_label(uc, bars, horizon=2)[:, 0], [1, 1, np.nan, np.nan])


def test_label_is_nan_without_a_bar_and_horizon_is_bounded() -> None:
    uc = np.array([[False], [True]])
    bars = np.array([[False], [True]])
    assert np.isnan(circuits.next_day_label(uc, bars)[0, 0])
    with pytest.raises(ValueError, match="horizon"):
        circuits.next_day_label(uc, bars, horizon=6)


@pytest.mark.realdata
def test_known_real_upper_circuits_are_detected(real_parquet: Path) -> None:
    frame = pd.read_parquet(real_parquet)
    close = frame["close"].to_numpy()
    high = frame["high"].to_numpy()
    prev = frame["prev_close"].to_numpy()
    move = circuits.move_pct(close, prev)
    # Days NSE data itself shows locked at exactly +20% / +5% (close == high == band price)
    for band in (5, 20):
        exact = (np.abs(close - circuits.upper_band_price(prev, band)) < 1e-6) & (close == high) & (prev > 50)
        assert exact.sum() > 100
        assert circuits.is_upper_circuit(close[exact], high[exact], prev[exact], band).all()
    # An ordinary +1% day that closes at its high is not a 2% circuit
    ordinary = (np.abs(move - 1.0) < 0.2) & (close == high) & (prev > 50)
    assert not circuits.is_upper_circuit(close[ordinary], high[ordinary], prev[ordinary], 2).any()


@pytest.mark.realdata
def test_upper_circuit_rate_on_real_data_is_in_the_documented_range(real_parquet: Path) -> None:
    from marketdata.panel import Panel

    panel = Panel.from_long(pd.read_parquet(real_parquet))
    flags = circuits.upper_circuit_panel(panel.close, panel.high, panel.prev_close)
    rate = flags.sum() / panel.has_bar.sum()
    assert 0.015 < rate < 0.035, rate
