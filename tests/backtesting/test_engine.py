from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtesting.costs import CostRates, round_trip_costs
from backtesting.engine import (
    EXIT_DELAYED,
    EXIT_END_OF_DATA,
    EXIT_HOLDING_PERIOD,
    BacktestConfig,
    buy_and_hold_benchmark,
    signals_from_scores,
    simulate,
)
from marketdata import circuits
from marketdata.panel import Panel

NO_COSTS = CostRates(**{f.name: 0.0 for f in fields(CostRates)})
NO_SLIPPAGE = CostRates(slippage_bps=0.0)


def make_panel(
    close: list[list[float]],
    *,
    open_: list[list[float]] | None = None,
    high: list[list[float]] | None = None,
    low: list[list[float]] | None = None,
    prev_close: list[list[float]] | None = None,
    volume: list[list[float]] | None = None,
) -> Panel:
    """A small panel; unspecified fields default to a flat open at the previous close and 1e6 shares."""
    c = np.asarray(close, dtype=np.float64)
    t_len, n_len = c.shape
    if prev_close is None:
        prev = np.vstack([c[:1], pd.DataFrame(c).ffill().to_numpy()[:-1]])
        prev[np.isnan(c)] = np.nan
    else:
        prev = np.asarray(prev_close, dtype=np.float64)
    o = prev.copy() if open_ is None else np.asarray(open_, dtype=np.float64)
    h = np.fmax(o, c) if high is None else np.asarray(high, dtype=np.float64)
    lo = np.fmin(o, c) if low is None else np.asarray(low, dtype=np.float64)
    v = np.where(np.isnan(c), np.nan, 1e6) if volume is None else np.asarray(volume, dtype=np.float64)
    return Panel(
        dates=np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + t_len).astype("datetime64[D]"),
        symbols=np.array([f"S{i}" for i in range(n_len)], dtype=object),
        open=o,
        high=h,
        low=lo,
        close=c,
        prev_close=prev,
        volume=v,
        trades=np.where(np.isnan(c), np.nan, 100.0),
    )


def bands_of(panel: Panel, band: float = 10.0) -> np.ndarray:
    return np.full(panel.shape, band)


def random_market(seed: int, *, t_len: int = 150, n_len: int = 25) -> tuple[Panel, np.ndarray, np.ndarray]:
    """A market with 10% bands, upper and lower circuits, locked opens and missing bars, plus scores."""
    rng = np.random.default_rng(seed)
    band = np.full((t_len, n_len), 10.0)
    close = np.full((t_len, n_len), np.nan)
    open_ = np.full((t_len, n_len), np.nan)
    prev = np.full((t_len, n_len), np.nan)
    last = np.round(rng.uniform(20, 400, n_len), 1)
    for t in range(t_len):
        up = circuits.upper_band_price(last, 10.0)
        down = circuits.lower_band_price(last, 10.0)
        u = rng.uniform(size=n_len)
        c = np.round(last * (1 + rng.normal(0, 0.03, n_len)) / 0.05) * 0.05
        c = np.clip(c, down, up)
        c = np.where(u < 0.10, up, np.where(u > 0.94, down, c))
        o = np.where(rng.uniform(size=n_len) < 0.08, up, np.clip(np.round(last * 1.002 / 0.05) * 0.05, down, up))
        present = rng.uniform(size=n_len) > 0.04 if t else np.ones(n_len, dtype=bool)
        close[t, present], open_[t, present], prev[t, present] = c[present], o[present], last[present]
        last = np.where(present, c, last)
    high = np.fmax(open_, close)
    low = np.fmin(open_, close)
    volume = np.where(np.isnan(close), np.nan, rng.uniform(1e3, 1e6, (t_len, n_len)))
    panel = Panel(
        dates=np.arange(np.datetime64("2023-01-02"), np.datetime64("2023-01-02") + t_len).astype("datetime64[D]"),
        symbols=np.array([f"S{i:02d}" for i in range(n_len)], dtype=object),
        open=open_,
        high=high,
        low=low,
        close=close,
        prev_close=prev,
        volume=volume,
        trades=np.where(np.isnan(close), np.nan, 10.0),
    )
    scores = np.where(np.isnan(close), np.nan, rng.uniform(size=(t_len, n_len)))
    return panel, scores, band


def test_locked_open_at_the_upper_band_gives_no_entry() -> None:
    # Both signal on day 0; on day 1 S0 opens at its 10% band price (110.00), S1 at 101.
    panel = make_panel(
        [[100.0, 100.0], [110.0, 102.0], [111.0, 103.0]],
        open_=[[100.0, 100.0], [110.0, 101.0], [110.0, 102.0]],
    )
    scores = np.array([[0.9, 0.9], [np.nan, np.nan], [np.nan, np.nan]])
    result = simulate(panel=panel, scores=scores, bands=bands_of(panel), config=BacktestConfig(threshold=0.5))
    assert result.trades["symbol"].tolist() == ["S1"]
    assert result.counts["blocked_locked_open"] == 1
    assert result.counts["entries"] == 1


def test_no_entry_without_a_bar_on_the_entry_day() -> None:
    panel = make_panel([[100.0], [np.nan], [101.0]])
    scores = np.array([[0.9], [np.nan], [np.nan]])
    result = simulate(panel=panel, scores=scores, bands=bands_of(panel), config=BacktestConfig(threshold=0.5))
    assert result.trades.empty
    assert result.counts["blocked_no_bar"] == 1
    assert result.equity.iloc[-1] == pytest.approx(BacktestConfig().initial_capital)


def test_lower_circuit_exit_carries_to_the_next_day() -> None:
    # Day 1 closes at its 10% lower band (90.00 = low): nobody buys, so the sale happens at day 2's close.
    panel = make_panel(
        [[100.0], [90.0], [92.0], [93.0]],
        open_=[[100.0], [99.0], [91.0], [92.0]],
        low=[[100.0], [90.0], [90.5], [92.0]],
    )
    scores = np.array([[0.9], [np.nan], [np.nan], [np.nan]])
    result = simulate(panel=panel, scores=scores, bands=bands_of(panel), config=BacktestConfig(costs=NO_SLIPPAGE))
    trade = result.trades.iloc[0]
    assert trade["entry_date"] == pd.Timestamp("2024-01-02")
    assert trade["exit_date"] == pd.Timestamp("2024-01-03")
    assert trade["exit_price"] == pytest.approx(92.0)
    assert trade["carried_days"] == 1
    assert trade["holding_days"] == 2
    assert trade["exit_reason"] == EXIT_DELAYED
    assert result.counts["carried_lower_circuit_days"] == 1


def test_exit_keeps_carrying_while_the_stock_stays_locked_or_absent() -> None:
    panel = make_panel(
        [[100.0], [90.0], [81.0], [np.nan], [85.0]],
        open_=[[100.0], [99.0], [88.0], [np.nan], [82.0]],
        low=[[100.0], [90.0], [81.0], [np.nan], [81.5]],
        prev_close=[[100.0], [100.0], [90.0], [np.nan], [81.0]],
    )
    scores = np.array([[0.9], [np.nan], [np.nan], [np.nan], [np.nan]])
    result = simulate(panel=panel, scores=scores, bands=bands_of(panel), config=BacktestConfig())
    trade = result.trades.iloc[0]
    assert trade["exit_date"] == pd.Timestamp("2024-01-05")
    assert trade["carried_days"] == 3
    assert result.counts["carried_lower_circuit_days"] == 2
    assert result.counts["carried_no_bar_days"] == 1


def test_same_day_exit_pays_intraday_costs_and_a_longer_hold_pays_delivery() -> None:
    panel = make_panel([[100.0], [102.0], [104.0], [103.0]], open_=[[100.0], [101.0], [103.0], [104.0]])
    scores = np.array([[0.9], [np.nan], [np.nan], [np.nan]])
    bands = bands_of(panel)
    one_day = simulate(panel=panel, scores=scores, bands=bands, config=BacktestConfig()).trades.iloc[0]
    two_day = simulate(panel=panel, scores=scores, bands=bands, config=BacktestConfig(holding_days=2)).trades.iloc[0]
    assert bool(one_day["intraday"])
    assert not bool(two_day["intraday"])
    assert one_day["holding_days"] == 1
    assert two_day["holding_days"] == 2
    for trade, intraday in ((one_day, True), (two_day, False)):
        expected = round_trip_costs(trade["buy_value"], trade["sell_value"], intraday=intraday, rates=CostRates())
        assert trade["costs"] == pytest.approx(expected.total[0])
    # On ~Rs 10 lakh, delivery STT alone (0.1% a side) is about Rs 2,000; intraday costs stay in the hundreds.
    assert two_day["costs"] > 1_500 > 600 > one_day["costs"]


def test_a_carried_intraday_position_is_charged_as_delivery() -> None:
    panel = make_panel([[100.0], [90.0], [92.0]], open_=[[100.0], [99.0], [91.0]], low=[[100.0], [90.0], [90.5]])
    scores = np.array([[0.9], [np.nan], [np.nan]])
    result = simulate(panel=panel, scores=scores, bands=bands_of(panel), config=BacktestConfig())
    trade = result.trades.iloc[0]
    assert not bool(trade["intraday"])
    expected = round_trip_costs(trade["buy_value"], trade["sell_value"], intraday=False, rates=CostRates())
    assert trade["costs"] == pytest.approx(expected.total[0])
    assert result.equity.iloc[-1] == pytest.approx(1_000_000.0 + trade["net_pnl"])


def test_liquidity_cap_binds_on_the_signal_days_traded_value() -> None:
    # Day 0 traded value: 100 x 1,000 = Rs 1,00,000, so 2% allows Rs 2,000. Day 1's huge volume is
    # only known after day 1's close and must not loosen the cap.
    panel = make_panel([[100.0], [100.0], [100.0]], volume=[[1_000.0], [1e9], [1e9]])
    scores = np.array([[0.9], [np.nan], [np.nan]])
    capped = simulate(panel=panel, scores=scores, bands=bands_of(panel), config=BacktestConfig())
    fill = 100.0 * 1.001  # 10 bps slippage
    assert capped.trades["quantity"].tolist() == [int(2_000 // fill)]
    assert capped.counts["liquidity_capped"] == 1
    loose = simulate(
        panel=panel, scores=scores, bands=bands_of(panel), config=BacktestConfig(liquidity_share=1.0)
    ).trades
    assert loose["quantity"].tolist() == [int(100_000 // fill)]


def test_liquidity_cap_below_one_share_blocks_the_entry() -> None:
    panel = make_panel([[100.0], [100.0]], volume=[[10.0], [1e9]])
    result = simulate(panel=panel, scores=np.array([[0.9], [np.nan]]), bands=bands_of(panel), config=BacktestConfig())
    assert result.trades.empty
    assert result.counts["blocked_liquidity"] == 1


def test_entries_share_cash_equally_and_respect_max_positions() -> None:
    panel = make_panel([[100.0] * 5, [100.0] * 5, [100.0] * 5])
    scores = np.array([[0.6, 0.7, 0.8, 0.9, 0.55], [np.nan] * 5, [np.nan] * 5])
    cfg = BacktestConfig(max_positions=2, costs=NO_COSTS)
    result = simulate(panel=panel, scores=scores, bands=bands_of(panel), config=cfg)
    assert sorted(result.trades["symbol"]) == ["S2", "S3"]  # the two best scores
    assert result.trades["quantity"].tolist() == [5_000, 5_000]  # Rs 10 lakh / 2 / Rs 100
    assert result.counts["blocked_no_slot"] == 3
    assert result.exposure.iloc[1] == pytest.approx(1.0)
    assert result.turnover.iloc[1] == pytest.approx(2.0)  # bought and sold the whole equity


def test_max_position_weight_caps_a_lone_entry() -> None:
    panel = make_panel([[100.0], [100.0]])
    cfg = BacktestConfig(max_position_weight=0.1, costs=NO_COSTS)
    result = simulate(panel=panel, scores=np.array([[0.9], [np.nan]]), bands=bands_of(panel), config=cfg)
    assert result.trades["quantity"].tolist() == [1_000]


def test_open_positions_are_closed_and_marked_at_the_end_of_data() -> None:
    panel = make_panel([[100.0], [101.0], [105.0]])
    cfg = BacktestConfig(holding_days=10, costs=NO_COSTS)
    result = simulate(panel=panel, scores=np.array([[0.9], [np.nan], [np.nan]]), bands=bands_of(panel), config=cfg)
    trade = result.trades.iloc[0]
    assert trade["exit_reason"] == EXIT_END_OF_DATA
    assert trade["exit_price"] == pytest.approx(105.0)
    assert result.equity.iloc[-1] == pytest.approx(result.cash.iloc[-1])


def test_a_split_while_held_scales_the_shares_instead_of_booking_a_loss() -> None:
    # A 1:1 bonus on day 2: prev_close 100, close 50. Day 3 then rises 10% to 55.
    panel = make_panel(
        [[100.0], [100.0], [50.0], [55.0]],
        prev_close=[[100.0], [100.0], [100.0], [50.0]],
        open_=[[100.0], [100.0], [50.0], [50.0]],
    )
    cfg = BacktestConfig(holding_days=3, costs=NO_COSTS)
    result = simulate(panel=panel, scores=np.array([[0.9], [np.nan], [np.nan], [np.nan]]), bands=None, config=cfg)
    trade = result.trades.iloc[0]
    assert trade["share_factor"] == pytest.approx(2.0)
    assert trade["gross_pnl"] == pytest.approx(trade["quantity"] * 10.0)
    assert result.counts["corporate_action_adjustments"] == 1


def test_top_k_picks_the_best_scores_and_breaks_ties_by_column() -> None:
    scores = np.array([[0.2, 0.9, 0.9, np.nan], [0.5, 0.5, 0.5, 0.5]])
    top2 = signals_from_scores(scores, threshold=None, top_k=2)
    assert top2.tolist() == [[False, True, True, False], [True, True, False, False]]
    both = signals_from_scores(scores, threshold=0.6, top_k=2)
    assert both.tolist() == [[False, True, True, False], [False, False, False, False]]


def test_final_equity_is_initial_capital_plus_the_sum_of_net_pnl() -> None:
    for seed, holding in ((1, 1), (2, 3), (3, 5)):
        panel, scores, band = random_market(seed)
        cfg = BacktestConfig(threshold=None, top_k=4, holding_days=holding, max_positions=6)
        result = simulate(panel=panel, scores=scores, bands=band, config=cfg)
        trades = result.trades
        assert len(trades) == result.counts["entries"] > 50
        assert result.equity.iloc[-1] == pytest.approx(cfg.initial_capital + trades["net_pnl"].sum(), rel=1e-10)
        assert result.cash.iloc[-1] == pytest.approx(result.equity.iloc[-1], rel=1e-12)
        np.testing.assert_allclose(trades["net_pnl"], trades["gross_pnl"] - trades["costs"])
        assert set(trades["exit_reason"]) <= {EXIT_HOLDING_PERIOD, EXIT_DELAYED, EXIT_END_OF_DATA}
        assert (result.cash >= -1e-6).all()


def test_no_trade_uses_information_after_its_signal_day() -> None:
    panel, scores, band = random_market(7)
    # A tight liquidity cap so that sizing depends on volumes, which must be the signal day's.
    cfg = BacktestConfig(threshold=0.8, holding_days=2, liquidity_share=0.002)
    base = simulate(panel=panel, scores=scores, bands=band, config=cfg)
    assert base.counts["liquidity_capped"] > 20
    assert (base.trades["entry_date"] > base.trades["signal_date"]).all()
    entry_cols = ["symbol", "signal_date", "score", "entry_date", "entry_price", "quantity"]
    rng = np.random.default_rng(99)
    for s in range(10, 140, 13):  # signal day s; its trades enter on s + 1
        scrambled = scores.copy()
        scrambled[s + 1 :] = rng.uniform(size=scrambled[s + 1 :].shape)
        changed = {}
        for name in ("open", "high", "low", "close", "prev_close", "volume"):
            values = getattr(panel, name).copy()
            # The entry day's open and previous close are known at its open; the rest only after its close.
            first = s + 2 if name in ("open", "prev_close") else s + 1
            values[first:] *= rng.uniform(0.5, 1.5, values[first:].shape)
            changed[name] = values
        other = simulate(panel=replace(panel, **changed), scores=scrambled, bands=band, config=cfg)
        cutoff = pd.Timestamp(panel.dates[s + 1])
        before = base.trades[base.trades["entry_date"] <= cutoff][entry_cols].reset_index(drop=True)
        after = other.trades[other.trades["entry_date"] <= cutoff][entry_cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(before, after)
        np.testing.assert_array_equal(base.equity.to_numpy()[: s + 1], other.equity.to_numpy()[: s + 1])


def test_a_run_on_truncated_data_agrees_with_the_full_run() -> None:
    panel, scores, band = random_market(11)
    cfg = BacktestConfig(threshold=None, top_k=3, holding_days=2)
    full = simulate(panel=panel, scores=scores, bands=band, config=cfg).trades
    cut = 90
    short = simulate(panel=panel.until(panel.dates[cut]), scores=scores[: cut + 1], bands=band[: cut + 1], config=cfg)
    finished = short.trades[short.trades["exit_reason"] != EXIT_END_OF_DATA].reset_index(drop=True)
    same = full[full["exit_date"] <= pd.Timestamp(panel.dates[cut])].reset_index(drop=True)
    assert len(finished) > 20
    pd.testing.assert_frame_equal(finished, same)


def test_inputs_of_the_wrong_shape_are_rejected() -> None:
    panel = make_panel([[100.0], [101.0]])
    with pytest.raises(ValueError, match="scores"):
        simulate(panel=panel, scores=np.zeros((3, 1)), config=BacktestConfig())
    with pytest.raises(ValueError, match="threshold"):
        BacktestConfig(threshold=None, top_k=None)


def test_buy_and_hold_holds_first_day_stocks_and_neutralises_splits() -> None:
    # S0 grows 10% twice. S1 misses day 1, then falls 10% against its prev close. S2 lists later.
    panel = make_panel(
        [[100.0, 50.0, np.nan], [110.0, np.nan, 20.0], [121.0, 45.0, 22.0]],
        prev_close=[[100.0, 50.0, np.nan], [100.0, np.nan, 20.0], [110.0, 50.0, 20.0]],
    )
    bench = buy_and_hold_benchmark(panel, initial_capital=1_000_000.0, rates=NO_COSTS)
    assert bench.members == 2
    assert bench.excluded == 1
    np.testing.assert_allclose(bench.equity.to_numpy(), [1_000_000.0, 1_050_000.0, 1_055_000.0])
    split = make_panel([[100.0, 50.0], [100.0, 25.0], [100.0, 27.5]], prev_close=[[100, 50], [100, 50], [100, 25]])
    np.testing.assert_allclose(buy_and_hold_benchmark(split, rates=NO_COSTS).equity.to_numpy()[-1], 1_050_000.0)


def test_buy_and_hold_pays_delivery_costs_on_the_way_in_and_out() -> None:
    panel = make_panel([[100.0], [100.0], [100.0]])
    equity = buy_and_hold_benchmark(panel, initial_capital=1_000_000.0, rates=NO_SLIPPAGE).equity.to_numpy()
    # In: STT 0.1% + stamp 0.015% + exchange/SEBI/GST ~0.0036%; out: STT 0.1% + ~0.0036%.
    assert equity[0] == pytest.approx(1_000_000.0 * (1 - 0.001186), abs=5.0)
    assert equity[-1] == pytest.approx(equity[0] - 0.001036 * equity[0], abs=5.0)


@pytest.mark.realdata
@pytest.mark.slow
def test_full_real_panel_simulates_with_locked_opens_blocked(real_parquet: Path) -> None:
    # Its speed is a benchmark (bench/trading_engine.py), not a timed assertion.
    panel = Panel.from_long(pd.read_parquet(real_parquet))
    tick = circuits.tick_paise(panel.open, panel.high, panel.low, panel.close)
    band = circuits.band_estimate(panel.close, panel.high, panel.low, panel.prev_close, tick=tick)
    hit_today = circuits.is_upper_lock(panel.close, panel.high, panel.prev_close, tick=tick).astype(np.float64)
    hit_today[~panel.has_bar] = np.nan
    result = simulate(panel=panel, scores=hit_today, bands=band, config=BacktestConfig(threshold=0.5))
    assert panel.shape[0] > 1_900
    assert panel.shape[1] > 2_800
    assert result.counts["entries"] > 1_000
    assert result.counts["blocked_locked_open"] > 0
    assert result.equity.iloc[-1] == pytest.approx(1_000_000.0 + result.trades["net_pnl"].sum(), rel=1e-9)


def test_a_threshold_per_date_replaces_the_single_one() -> None:
    # Each walk-forward fold trades its own month with its own threshold.
    scores = np.array([[0.4, 0.7], [0.4, 0.7], [0.9, np.nan]])
    per_date = signals_from_scores(scores, threshold=np.array([0.3, 0.8, np.nan]), top_k=None)
    assert per_date.tolist() == [[True, True], [False, False], [False, False]]
    with pytest.raises(ValueError, match="thresholds has 2 dates"):
        signals_from_scores(scores, threshold=np.array([0.3, 0.8]), top_k=None)
    panel = make_panel([[100.0, 50.0], [101.0, 51.0], [102.0, 52.0]])
    result = simulate(
        panel=panel,
        scores=scores,
        bands=bands_of(panel),
        config=BacktestConfig(threshold=0.5),
        thresholds=np.array([0.8, 0.3, 0.5]),
    )
    # Day 0 (0.8): nothing signals; day 1 (0.3): both do and enter on day 2.
    assert result.trades["signal_date"].tolist() == [pd.Timestamp("2024-01-02")] * 2
