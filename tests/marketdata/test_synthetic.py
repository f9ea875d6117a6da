from __future__ import annotations

import datetime as dt

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from marketdata import circuits
from marketdata.calendar import trading_sessions
from marketdata.ingest.frame import BAR_COLUMNS
from marketdata.synthetic import (
    DEFAULT_PARAMS,
    SyntheticMarket,
    generate_market,
)
from tests.marketdata.conftest import END


@pytest.fixture(scope="module")
def flags(market: SyntheticMarket) -> dict[str, np.ndarray]:
    """Panel arrays, the platform truth's lock flags and the truth panels of the shared market."""
    panel = market.panel()
    upper = circuits.truth_flags(panel.open, panel.high, panel.low, panel.close, panel.prev_close)["platform"]
    return {
        "has_bar": panel.has_bar,
        "upper": upper,
        "series": panel.series,
        "breakout": market.truth_panel("breakout") == 1,
    }


def _stock_days(values: np.ndarray, has_bar: np.ndarray) -> float:
    return float(values[has_bar].mean())


def test_same_seed_gives_byte_identical_frames(market: SyntheticMarket) -> None:
    again = generate_market(stocks=200, days=300, seed=7, end=END)
    assert pd.util.hash_pandas_object(again.bars).equals(pd.util.hash_pandas_object(market.bars))
    assert again.bars.to_csv().encode() == market.bars.to_csv().encode()
    assert again.truth.equals(market.truth)
    assert again.stocks.equals(market.stocks)
    other = generate_market(stocks=200, days=300, seed=8, end=END)
    assert not other.bars["close"].equals(market.bars["close"])


def test_bars_have_the_normalised_columns_ordered_by_date_then_symbol(market: SyntheticMarket) -> None:
    bars = market.bars
    assert tuple(bars.columns) == BAR_COLUMNS
    assert (bars["exchange"] == "NSE").all()
    assert not bars.duplicated(["symbol", "date"]).any()
    order = bars.sort_values(["date", "symbol"], kind="stable").index
    assert (order == bars.index).all()
    assert len(market.truth) == len(bars)


def test_prices_sit_on_the_tick_and_ohlc_is_consistent(market: SyntheticMarket) -> None:
    bars = market.bars
    for name in ("open", "high", "low", "close", "last", "prev_close"):
        ticks = bars[name].to_numpy() / circuits.TICK
        assert np.abs(ticks - np.round(ticks)).max() < 1e-6, name
        assert (bars[name] >= circuits.TICK).all(), name
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert bars["last"].between(bars["low"], bars["high"]).all()
    assert (bars["volume"] >= 1).all()
    assert bars["trades"].between(1, bars["volume"]).all()
    value_per_share = bars["turnover"] / bars["volume"]
    assert value_per_share.between(bars["low"] - 0.01, bars["high"] + 0.01).all()


def test_prev_close_is_the_previous_close_except_on_split_days(market: SyntheticMarket) -> None:
    bars = market.bars
    previous = bars.groupby("symbol")["close"].shift(1)
    split = market.truth["split"].to_numpy()
    known = previous.notna().to_numpy()
    np.testing.assert_array_equal(bars["prev_close"].to_numpy()[known & ~split], previous.to_numpy()[known & ~split])
    # Raw prices: the split day's close drops by the ratio against an unadjusted prev_close.
    assert split.sum() > 0
    moves = (bars["close"] / bars["prev_close"] - 1.0).to_numpy()
    assert (moves[split] < -0.4).all()


def test_dates_are_xbom_sessions_ending_at_end(market: SyntheticMarket) -> None:
    sessions = xcals.get_calendar("XBOM", start="2020-01-01").sessions
    dates = pd.DatetimeIndex(market.dates)
    assert len(dates) == 300
    assert dates.isin(sessions).all()
    assert dates.is_monotonic_increasing
    assert dates[-1].date() == END
    assert set(pd.DatetimeIndex(market.bars["date"].unique())) <= set(dates)
    # 1 May is Maharashtra Day, an NSE holiday: the market ends on the session before.
    assert trading_sessions(days=3, end=dt.date(2024, 5, 1))[-1] == np.datetime64("2024-04-30")


def test_default_end_is_the_last_session_before_today() -> None:
    last = trading_sessions(days=1)[-1]
    assert last < np.datetime64(dt.date.today(), "D")
    assert xcals.get_calendar("XBOM", start="2020-01-01").is_session(pd.Timestamp(last))


def test_band_and_series_mix_follow_the_parameters() -> None:
    stocks = generate_market(stocks=4000, days=1, seed=3, end=END).stocks
    for series, share in DEFAULT_PARAMS.series_mix:
        assert (stocks["series"] == series).mean() == pytest.approx(share, abs=0.02)
    for series, table in DEFAULT_PARAMS.band_mix:
        bands = stocks.loc[stocks["series"] == series, "true_band"].fillna(0)
        for band, share in table:
            assert (bands == band).mean() == pytest.approx(share, abs=0.05), (series, band)
    no_band = stocks["true_band"].isna()
    assert no_band.any()
    assert set(stocks.loc[no_band, "series"]) == {"EQ"}
    # BE and SME stocks sit in tighter bands than the main board.
    tight = stocks["true_band"] <= 5
    assert tight[stocks["series"] != "EQ"].mean() > 0.7 > 0.3 > tight[stocks["series"] == "EQ"].mean()


def test_upper_circuit_base_rate_is_in_the_real_range(market: SyntheticMarket, flags: dict[str, np.ndarray]) -> None:
    rate = _stock_days(flags["upper"], flags["has_bar"])
    assert 0.01 <= rate <= 0.03
    assert market.upper_circuit_rate() == pytest.approx(rate)
    by_series = {
        s: _stock_days(flags["upper"][:, flags["series"] == s], flags["has_bar"][:, flags["series"] == s])
        for s in ("EQ", "BE", "SM")
    }
    assert by_series["EQ"] < 0.02
    assert by_series["BE"] > 2 * by_series["EQ"]
    assert by_series["SM"] > 2 * by_series["EQ"]


def test_locked_days_close_at_the_high_on_the_band_price_with_low_volume(market: SyntheticMarket) -> None:
    bars = market.bars
    band = bars["symbol"].map(market.stocks.set_index("symbol")["true_band"]).to_numpy()
    locked = market.truth["locked_up"].to_numpy() & ~market.truth["split"].to_numpy()
    assert locked.sum() > 100
    up = circuits.upper_band_price(bars["prev_close"].to_numpy()[locked], band[locked])
    np.testing.assert_array_equal(bars["close"].to_numpy()[locked], up)
    np.testing.assert_array_equal(bars["high"].to_numpy()[locked], up)
    # Locked stocks barely trade: sellers are absent.
    typical = bars.groupby("symbol")["volume"].transform("median").to_numpy()
    assert np.median(bars["volume"].to_numpy()[locked] / typical[locked]) < 0.3
    # The platform truth (a lock at the band in force) finds the true locks.
    panel = market.panel()
    detected = circuits.truth_flags(panel.open, panel.high, panel.low, panel.close, panel.prev_close)["platform"]
    truth = market.truth_panel("locked_up") == 1
    assert truth[detected].mean() > 0.95
    assert detected[truth].mean() > 0.95


def test_lower_circuits_lock_at_the_lower_band(market: SyntheticMarket) -> None:
    bars = market.bars
    band = bars["symbol"].map(market.stocks.set_index("symbol")["true_band"]).to_numpy()
    locked = market.truth["locked_down"].to_numpy() & ~market.truth["split"].to_numpy()
    assert locked.sum() > 50
    down = circuits.lower_band_price(bars["prev_close"].to_numpy()[locked], band[locked])
    np.testing.assert_array_equal(bars["close"].to_numpy()[locked], down)
    np.testing.assert_array_equal(bars["low"].to_numpy()[locked], down)


def test_upper_circuits_come_in_streaks(flags: dict[str, np.ndarray]) -> None:
    upper = flags["upper"]
    after_one = upper[1:] & upper[:-1]
    share = after_one.sum() / upper[1:].sum()
    assert 0.3 <= share <= 0.7  # real NSE 2015-2022: about half


def test_vcp_contractions_shrink_on_drying_volume(market: SyntheticMarket) -> None:
    bars = market.bars.assign(
        contraction=market.truth["vcp_contraction"].to_numpy(),
        in_vcp=market.truth["in_vcp"].to_numpy(),
        rel_volume=market.bars["volume"] / market.bars.groupby("symbol")["volume"].transform("median"),
    )
    bars = bars.sort_values(["symbol", "date"], kind="stable")
    starts = bars["in_vcp"] & ~bars.groupby("symbol")["in_vcp"].shift(1, fill_value=False)
    bars["episode"] = starts.cumsum()
    legs = bars[bars["contraction"] > 0].groupby(["episode", "contraction"])
    depth = (1.0 - legs["low"].min() / legs["high"].max()).groupby(level="contraction").mean()
    volume = legs["rel_volume"].median().groupby(level="contraction").mean()
    assert starts.sum() >= 20
    assert depth[1] > depth[2] > depth[3]
    assert volume[1] > volume[2] > volume[3]


def test_breakouts_raise_the_next_day_upper_circuit_rate(flags: dict[str, np.ndarray]) -> None:
    upper, breakout, has_bar = flags["upper"], flags["breakout"], flags["has_bar"]
    assert breakout.sum() >= 20
    next_day = np.zeros_like(upper)
    next_day[:-1] = upper[1:]
    after_breakout = next_day[breakout].mean()
    base = next_day[:-1][has_bar[:-1]].mean()
    assert after_breakout > 3 * base


def test_illiquid_stocks_have_gaps_and_listings_start_late(market: SyntheticMarket) -> None:
    per_stock = market.bars.groupby("symbol")["date"].agg(["count", "min"])
    illiquid = market.stocks.set_index("symbol")["illiquid"]
    assert illiquid.any()
    assert (per_stock.loc[illiquid[illiquid].index, "count"] < 300).all()
    listed = market.stocks.dropna(subset=["listing_date"]).set_index("symbol")["listing_date"]
    assert len(listed) > 0
    assert (per_stock.loc[listed.index, "min"] == listed).all()


def test_symbols_and_isins_are_unique_and_well_formed(market: SyntheticMarket) -> None:
    stocks = market.stocks
    assert stocks["symbol"].is_unique
    assert stocks["isin"].is_unique
    assert stocks["symbol"].str.len().max() <= 12
    assert stocks["isin"].str.fullmatch(r"INE[V-Z][0-9A-Z]{3}\d{4}\d").all()
    assert list(stocks["symbol"]) == sorted(stocks["symbol"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stocks": 0, "days": 10}, "stocks must be between"),
        ({"stocks": 5, "days": 0}, "days must be between"),
        ({"stocks": 5, "days": 5001}, "days must be between"),
    ],
)
def test_impossible_sizes_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_market(seed=1, end=END, **kwargs)


def test_generated_isins_carry_a_prefix_no_real_issuer_has() -> None:
    from marketdata.synthetic import SYNTHETIC_ISIN_PREFIXES, generate_market

    market = generate_market(stocks=40, days=30, seed=3)
    assert all(str(isin).startswith(SYNTHETIC_ISIN_PREFIXES) for isin in market.stocks["isin"])
    assert not "INE002A01018".startswith(SYNTHETIC_ISIN_PREFIXES)  # RELIANCE
