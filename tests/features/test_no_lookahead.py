"""No look-ahead: cutting the panel after date t leaves every feature at t bit-identical.

Bit-identical, not merely close: every step is causal and computes a row from rows <= t in the
same order whatever comes after (prefix sums, cumulative products, trailing filters, row-wise
ranks), so float rounding is the same too. Any difference at all would mean a later row leaked in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features import FEATURE_NAMES, Panel, compute_features, features_on
from marketdata.circuits import is_upper_lock, upper_band_price

T, N = 330, 40
CUTS = (30, 120, 251, 280, 281, 300, T - 1)


def _synthetic_market(seed: int = 11) -> Panel:
    """Random walks with a split, an NSE-adjusted split, gaps, a late listing and circuit streaks."""
    rng = np.random.default_rng(seed)
    moves = rng.normal(0.0005, 0.018, (T, N)).clip(-0.09, 0.09)
    locked = np.zeros((T, N), dtype=bool)
    for stock in range(5):  # streaks of three 10% upper circuits
        for day in rng.choice(np.arange(5, T - 3), 4, replace=False):
            locked[day : day + 3, stock] = True
    close = np.empty((T, N))
    price = np.round(rng.uniform(20, 900, N) * 20) / 20  # on the Rs 0.05 tick, as NSE quoted 2015-2022
    start = price.copy()
    for t in range(T):  # one row at a time: a lock's band price depends on yesterday's close
        price = np.where(locked[t], upper_band_price(price, 10.0), np.round(price * (1 + moves[t]) * 20) / 20)
        close[t] = price
    prev = np.vstack([start, close[:-1]])
    # Every price on the Rs 0.05 tick, as an exchange quotes them (a price off it means a finer tick).
    high = np.where(locked, close, np.ceil(np.maximum(close, prev) * (1 + rng.uniform(0.001, 0.02, (T, N))) * 20) / 20)
    low = np.floor(np.minimum(close, prev) * (1 - rng.uniform(0, 0.02, (T, N))) * 20) / 20
    open_ = np.clip(np.round(prev * (1 + rng.normal(0, 0.005, (T, N))) * 20) / 20, low, high)
    volume = rng.integers(100, 100_000, (T, N)).astype(np.float64)
    # A 1:1 bonus on stock 10 (prev_close left unadjusted) and a 1:5 split on stock 11 (adjusted by NSE).
    for stock, day, ratio in ((10, 200, 0.5), (11, 240, 0.2)):
        for arr in (open_, high, low, close):
            arr[day:, stock] *= ratio
        volume[day:, stock] /= ratio
    has_bar = rng.random((T, N)) > 0.05  # scattered missing days
    has_bar[150:190, 12] = False  # a long suspension
    has_bar[:260, 13] = False  # a late listing
    has_bar[-3:, 14] = False  # silent at the end
    has_bar[200, 10] = has_bar[240, 11] = True
    for arr in (open_, high, low, close, volume):
        arr[~has_bar] = np.nan
    # NSE's prev_close is the close of the stock's previous bar, also across gaps.
    last = pd.DataFrame(close).ffill().shift().to_numpy()
    prev = np.where(has_bar, np.where(np.isnan(last), prev, last), np.nan)
    prev[240, 11] *= 0.2
    return Panel(
        dates=np.datetime64("2019-01-01") + np.arange(T).astype("timedelta64[D]"),
        symbols=np.array([f"S{i:02d}" for i in range(N)], dtype=object),
        open=open_,
        high=high,
        low=low,
        close=close,
        prev_close=prev,
        volume=volume,
        trades=volume / 20,
        # A band file from mid-history on for three stocks: read as of each date, never backwards.
        band=np.where((np.arange(T)[:, None] >= T // 2) & (np.arange(N)[None, :] < 3), 10.0, np.nan),
    )


@pytest.fixture(scope="module")
def market() -> Panel:
    return _synthetic_market()


def test_synthetic_market_has_the_hard_cases(market: Panel) -> None:
    flags = is_upper_lock(market.close, market.high, market.prev_close)
    assert flags[:, :5].sum() >= 30
    assert flags[:, 5:].sum() == 0
    assert (~market.has_bar).sum() > 0.04 * T * N
    assert market.close[200, 10] / market.prev_close[200, 10] < 0.6  # the unadjusted bonus
    assert market.prev_close[240, 11] / market.close[239, 11] == pytest.approx(0.2, rel=0.01)


def test_truncating_after_t_leaves_every_feature_at_t_bit_identical(market: Panel) -> None:
    full = compute_features(market)
    for cut in CUTS:
        truncated = compute_features(market.until(market.dates[cut]))
        assert truncated.values.shape[0] == cut + 1
        for k, name in enumerate(FEATURE_NAMES):
            assert np.array_equal(truncated.values[cut, :, k], full.values[cut, :, k], equal_nan=True), (cut, name)
    # The check bites: late cuts have every feature defined for most stocks.
    assert (~np.isnan(full.values[T - 1])).all(axis=1).sum() > N // 2


def test_a_change_after_t_changes_nothing_up_to_t(market: Panel) -> None:
    full = compute_features(market)
    cut = 281
    shocked = {f: getattr(market, f).copy() for f in Panel.fields}
    for name in ("open", "high", "low", "close", "prev_close"):
        shocked[name][cut + 1 :] *= 3.0
    shocked["volume"][cut + 1 :] = 1.0
    changed = compute_features(Panel(dates=market.dates, symbols=market.symbols, band=market.band, **shocked))
    assert np.array_equal(changed.values[: cut + 1], full.values[: cut + 1], equal_nan=True)
    assert not np.array_equal(changed.values[cut + 1 :], full.values[cut + 1 :], equal_nan=True)


def test_features_on_matches_the_full_computation_at_each_cut(market: Panel) -> None:
    full = compute_features(market)
    for cut in CUTS:
        np.testing.assert_allclose(features_on(market, market.dates[cut]), full.values[cut], rtol=1e-6, atol=1e-9)


@pytest.mark.realdata
def test_real_data_has_no_look_ahead(real_parquet: Path) -> None:
    bars = pd.read_parquet(
        real_parquet,
        filters=[("date", ">=", pd.Timestamp("2019-01-01")), ("date", "<=", pd.Timestamp("2020-12-31"))],
    )
    symbols = np.sort(bars["symbol"].astype(str).unique())
    chosen = np.random.default_rng(0).choice(symbols, 200, replace=False)
    panel = Panel.from_long(bars[bars["symbol"].astype(str).isin(chosen)])
    assert panel.shape[1] == 200
    full = compute_features(panel)
    for cut_date in ("2019-03-29", "2020-01-31", "2020-03-23", "2020-12-31"):
        row = int(np.searchsorted(panel.dates, np.datetime64(cut_date)))
        truncated = compute_features(panel.until(panel.dates[row]))
        assert np.array_equal(truncated.values[-1], full.values[row], equal_nan=True), cut_date
    assert np.isfinite(full.values[-1]).all(axis=1).sum() > 100
