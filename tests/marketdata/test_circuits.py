"""Band prices, the tick, the lock flag, the three truths, the causal band estimate and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata import circuits
from marketdata.ingest import prepare_file


def test_upper_band_price_rounds_down_to_the_tick_but_moves_at_least_one_tick() -> None:
    # 30.60 x 1.05 = 32.13 -> 32.10 (down), never 32.15, which would exceed 5%.
    assert circuits.upper_band_price(30.60, 5) == pytest.approx(32.10)
    assert circuits.upper_band_price(100.0, 20) == pytest.approx(120.0)
    assert circuits.upper_band_price(123.45, 10) == pytest.approx(135.75)  # 135.795 -> 135.75
    # Below Rs 2.50, 2% is less than a tick: the band is one tick (the "2% rounds to nearest" illusion).
    assert circuits.upper_band_price(2.00, 2) == pytest.approx(2.05)
    # On a 1-paisa tick the same band price is finer.
    assert circuits.upper_band_price(30.60, 5, tick=1) == pytest.approx(32.13)
    assert np.isnan(circuits.upper_band_price(100.0, 7.0))  # no such band


def test_lower_band_price_rounds_up_and_never_below_a_tick() -> None:
    assert circuits.lower_band_price(30.60, 5) == pytest.approx(29.10)  # 29.07 -> 29.10
    assert circuits.lower_band_price(100.0, 20) == pytest.approx(80.0)
    assert circuits.lower_band_price(0.05, 20) == pytest.approx(0.05)


def test_band_price_is_exact_on_tick_multiples_despite_float_noise() -> None:
    prev = np.array([10.0, 19.99, 250.05, 1.15])
    np.testing.assert_allclose(circuits.upper_band_price(prev, 5), [10.50, 20.95, 262.55, 1.20])


def test_the_tick_is_read_from_the_prices_of_the_last_twenty_days() -> None:
    on_grid = np.full((25, 1), 100.05)
    fine = on_grid.copy()
    fine[3, 0] = 100.07  # one price off the 0.05 grid: a 1-paisa tick for the next 20 dates
    ticks = circuits.tick_paise(fine, fine, fine, fine)[:, 0]
    assert ticks[:3].tolist() == [5.0, 5.0, 5.0]
    assert set(ticks[3:23]) == {1.0}
    assert ticks[23:].tolist() == [5.0, 5.0]
    assert circuits.tick_paise(on_grid, on_grid, on_grid, on_grid).max() == 5.0


def test_a_lock_is_close_at_high_exactly_at_a_band_price() -> None:
    prev = np.array([100.0, 100.0, 100.0, 100.0, 100.0, 30.60])
    close = np.array([110.0, 110.0, 109.95, 105.0, 104.95, 32.10])
    high = np.array([110.0, 110.5, 109.95, 105.0, 104.95, 32.10])
    # exact 10%; not at the high; one tick short; exact 5%; one tick short of 5%; 5% rounded down
    assert circuits.is_upper_lock(close, high, prev).tolist() == [True, False, False, True, False, True]
    mask = circuits.upper_lock_mask(close, high, prev)
    assert circuits.STANDARD_BANDS[int(np.log2(mask[0]))] == 10.0


def test_penny_locks_count_and_flat_penny_days_do_not() -> None:
    # At Rs 1.00 a tick is 5%: a flat close is no lock, a one-tick close at the high is (every band's
    # price is one tick up). 2.10 x 1.05 = 2.205 -> 2.20 is the 5% lock; 3.10 is no band price of 3.00.
    prev = np.array([1.00, 1.00, 2.10, 3.00])
    close = np.array([1.00, 1.05, 2.20, 3.10])
    flags = circuits.is_upper_lock(close, close, prev)
    assert flags.tolist() == [False, True, True, False]
    # The strict rule misses the penny lock 2.10 -> 2.20 (+4.76%): the reason the lock flag exists.
    assert circuits.is_strict_upper(close, close, prev).tolist() == [False, True, False, False]


def test_strict_is_a_move_within_a_tenth_of_a_point_of_a_band_at_the_high() -> None:
    prev = np.array([100.0, 100.0, 100.0, 100.0])
    close = np.array([105.0, 104.95, 104.85, 120.0])
    high = np.array([105.0, 104.95, 104.85, 121.0])
    assert circuits.is_strict_upper(close, high, prev).tolist() == [True, True, False, False]


def test_nan_inputs_are_never_a_lock() -> None:
    flags = circuits.is_upper_lock([np.nan, 105.0], [np.nan, 105.0], [100.0, np.nan])
    assert flags.tolist() == [False, False]


def test_lower_locks_mirror_upper_locks() -> None:
    assert circuits.is_lower_lock([95.0], [95.0], [100.0]).tolist() == [True]
    assert circuits.is_lower_lock([95.0], [94.0], [100.0]).tolist() == [False]


def _stock(closes: list[float], *, highs: list[float] | None = None, lows: list[float] | None = None) -> tuple:
    close = np.array(closes)[:, None]
    prev = np.vstack([[[close[0, 0]]], close[:-1]])
    high = np.array(highs)[:, None] if highs else np.maximum(close, prev)
    low = np.array(lows)[:, None] if lows else np.minimum(close, prev)
    return close, high, low, prev


def test_the_platform_truth_drops_a_lock_whose_band_was_not_in_force() -> None:
    # A 20%-band stock swinging 12% either way closes one day at exactly +5% at its high: the 5% band
    # price, but no 5% band was in force before or after. A 5%-band stock's +5% lock is kept.
    swinging = [100.0, 112.0, 100.0, 112.0, 100.0, 112.0, 117.60, 105.0, 117.6, 105.0, 117.6, 105.0]
    close, high, low, prev = _stock(swinging)
    platform = circuits.upper_lock_in_force(close, high, low, prev)[:, 0]
    assert circuits.is_upper_lock(close, high, prev)[6, 0]
    assert not platform[6]
    calm = [100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 106.05, 107.0, 106.0, 107.0, 106.0, 107.0]
    close, high, low, prev = _stock(calm)
    assert circuits.upper_lock_in_force(close, high, low, prev)[6, 0]


def test_the_band_estimate_reads_only_the_past_and_a_band_file_overrides_it() -> None:
    closes = [100.0, 101.0, 104.0, 100.0, 50.0, 50.5, 55.5, 55.0]  # a split (-50%) says nothing
    close, high, low, prev = _stock(closes)
    band = circuits.band_estimate(close, high, low, prev)[:, 0]
    assert band.tolist() == [2.0, 2.0, 5.0, 5.0, 5.0, 5.0, 10.0, 10.0]
    head = circuits.band_estimate(close[:4], high[:4], low[:4], prev[:4])[:, 0]
    assert head.tolist() == band[:4].tolist()  # truncating the future leaves the past unchanged
    known = np.full(close.shape, np.nan)
    known[5:] = 20.0
    overridden = circuits.band_estimate(close, high, low, prev, known_band=known)[:, 0]
    assert overridden.tolist() == [2.0, 2.0, 5.0, 5.0, 5.0, 20.0, 20.0, 20.0]


def test_the_band_of_a_recent_lock_wins_over_the_range_of_older_moves() -> None:
    # A stock that moved 15% a month ago, then locks at exactly +5%: its band was cut to 5%.
    closes = [100.0, 115.0, *([115.0] * 30), 120.75, 121.0, 120.5]
    close, high, low, prev = _stock(closes)
    band = circuits.band_estimate(close, high, low, prev)[:, 0]
    assert band[31] == 20.0
    assert band[32:].tolist() == [5.0, 5.0, 5.0]


def test_the_rounding_gap_says_what_tomorrows_band_price_loses_to_the_tick() -> None:
    assert circuits.band_rounding_gap(100.0, 5) == pytest.approx(0.0)
    assert circuits.band_rounding_gap(2.10, 5) == pytest.approx(5 - (2.20 / 2.10 - 1) * 100)
    assert np.isnan(circuits.band_rounding_gap(100.0, np.nan))


def test_label_is_the_next_days_lock() -> None:
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


def _raw_day(path: Path) -> pd.DataFrame:
    prepared = prepare_file(path.read_bytes(), filename=path.name, trade_date=None, exchange=None, skip_bad=True)
    return prepared.bars


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("filename", "locks", "near_misses"),
    [
        # (symbol, prev_close, close) locked at the high exactly at a band price, and closes at the
        # high one tick short of one (the old one-tick tolerance counted them).
        (
            "nse_01APR2019.csv",
            [("APOLLO", 104.80, 125.75), ("BHANDARI", 2.00, 2.05), ("ADLABS", 8.00, 8.40)],
            [("ADROITINFO", 17.15, 17.95), ("SHAHALLOYS", 15.70, 16.05)],
        ),
        (
            "nse_01APR2024.csv",
            [("ADANIPOWER", 533.80, 560.45), ("ANTGRAPHIC", 1.60, 1.65)],
            [("GTECJAINX", 72.45, 76.00), ("NAGREEKCAP", 15.50, 16.20)],
        ),
        (
            "nse_01AUG2024.csv",
            [("SELAN", 764.20, 917.00), ("COMPINFO", 2.97, 3.11), ("GATECH", 1.24, 1.30)],
            [("QFIL", 105.90, 111.10), ("HRHNEXT", 49.00, 50.00)],
        ),
    ],
)
def test_on_real_bhavcopies_the_lock_flag_marks_exact_band_closes_and_not_near_ones(
    raw_dir: Path, filename: str, locks: list[tuple[str, float, float]], near_misses: list[tuple[str, float, float]]
) -> None:
    day = _raw_day(raw_dir / filename).set_index("symbol")
    tick = circuits.tick_paise(day["open"], day["high"], day["low"], day["close"])
    flags = pd.Series(circuits.is_upper_lock(day["close"], day["high"], day["prev_close"], tick=tick), day.index)
    for symbol, prev, close in locks + near_misses:
        assert (day.at[symbol, "prev_close"], day.at[symbol, "close"], day.at[symbol, "high"]) == (prev, close, close)
    assert all(flags[symbol] for symbol, _, _ in locks), [s for s, _, _ in locks if not flags[s]]
    assert not any(flags[symbol] for symbol, _, _ in near_misses)


@pytest.mark.realdata
def test_the_truths_on_real_data_count_as_documented(real_parquet: Path) -> None:
    from marketdata.panel import Panel

    panel = Panel.from_long(pd.read_parquet(real_parquet))
    flags = circuits.truth_flags(panel.open, panel.high, panel.low, panel.close, panel.prev_close)
    counts = {name: int(flag.sum()) for name, flag in flags.items()}
    # docs/features.md, "Three truths": strict 61,360; the lock flag about 146,000; the platform's
    # label the locks whose band was in force (about 140,000).
    assert counts["strict"] == 61_360
    assert 140_000 < counts["lock"] < 152_000
    assert 0.9 * counts["lock"] < counts["platform"] <= counts["lock"]
    both = int((flags["strict"] & flags["lock"]).sum())
    assert both / counts["strict"] > 0.95  # the lock flag catches nearly every strict circuit


def test_the_fast_remainder_is_fmod_bit_for_bit_including_the_odd_values() -> None:
    """The tick tests divide instead of calling fmod; every value must come out as fmod's would."""
    rng = np.random.default_rng(5)
    paise = np.concatenate(
        [
            circuits.to_paise(rng.uniform(0.01, 90_000, 50_000)),
            [np.nan, np.inf, -np.inf, 0.0, -0.0, -5.0, -10.0, -3.0, 7.5, 2.0**51 + 3, 2.0**53, 1e300],
        ]
    )
    per_row = np.where(rng.random(len(paise)) < 0.5, 1.0, 5.0)
    for tick in (5.0, 1.0, 2.5, 0.0, np.inf, per_row):
        with np.errstate(invalid="ignore"):
            expected = np.fmod(paise, tick)
        got = circuits._remainder(paise, tick)
        assert np.array_equal(got, expected, equal_nan=True), tick
        assert np.array_equal(np.signbit(got), np.signbit(expected)), tick  # -0.0 stays -0.0
    assert (circuits._remainder(paise[:50_000], 5.0) > 0).sum() > 30_000  # most random prices are off-grid
    for one in (-0.0, -3.0, 1003.0, np.nan):  # a single price (a 0-d array) too
        got_one = circuits._remainder(np.asarray(one), 5.0)
        assert np.array_equal(got_one, np.fmod(one, 5.0), equal_nan=True)
        assert np.signbit(got_one) == np.signbit(np.fmod(one, 5.0))
    assert circuits.off_grid(10.03)
    assert not circuits.off_grid(10.05)


def test_the_band_estimate_takes_the_callers_upper_lock_mask_unchanged() -> None:
    rng = np.random.default_rng(8)
    prev = np.round(rng.uniform(1, 500, (80, 30)) * 20) / 20
    # A third of the days lock at the 5% band price, the rest close a tick above the previous close.
    close = np.where(rng.random(prev.shape) < 0.3, circuits.upper_band_price(prev, 5.0), prev + 0.05)
    high = np.maximum(close, prev) + 0.05 * (rng.random(close.shape) < 0.5)
    low = np.minimum(close, prev) - 0.05
    tick = circuits.tick_paise(prev, high, low, close)
    mask = circuits.upper_lock_mask(close, high, prev, tick=tick)
    assert mask.any()
    own = circuits.band_estimate(close, high, low, prev, tick=tick)
    given = circuits.band_estimate(close, high, low, prev, tick=tick, upper_mask=mask)
    assert np.array_equal(own, given, equal_nan=True)
