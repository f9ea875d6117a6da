from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from backtesting import risk
from backtesting.costs import CostRates
from backtesting.engine import BacktestConfig
from backtesting.jsonify import jsonable
from backtesting.trading import (
    config_from_dict,
    config_to_dict,
    deflate,
    monthly_returns,
    outcome_series,
    outcome_summary,
    trade,
    trades_table,
)
from tests.backtesting.test_engine import random_market


def test_monthly_returns_compound_within_each_month_from_the_previous_month_end() -> None:
    index = pd.to_datetime(["2021-01-28", "2021-01-29", "2021-02-01", "2021-02-26", "2021-04-01"])
    equity = pd.Series([1_010_000.0, 1_050_000.0, 1_000_000.0, 1_102_500.0, 1_157_625.0], index=index)
    table = monthly_returns(equity, initial_capital=1_000_000.0)
    assert table.loc[2021, "Jan"] == pytest.approx(0.05)  # from the initial capital
    assert table.loc[2021, "Feb"] == pytest.approx(1_102_500 / 1_050_000 - 1)
    assert math.isnan(table.loc[2021, "Mar"])  # no trading day in March
    assert table.loc[2021, "Apr"] == pytest.approx(1_157_625 / 1_102_500 - 1)
    assert list(table.columns)[:3] == ["Jan", "Feb", "Mar"]


def test_a_trading_run_measures_strategy_and_benchmark_from_the_initial_capital() -> None:
    panel, scores, _ = random_market(3)
    cfg = BacktestConfig(threshold=0.9, max_positions=5)
    outcome = trade(panel, scores, config=cfg, risk_free=0.05)
    curve = np.append(cfg.initial_capital, outcome.result.equity.to_numpy())
    assert outcome.risk.sharpe == pytest.approx(risk.sharpe_ratio(risk.returns_from_equity(curve), risk_free=0.05))
    assert outcome.risk.trades.n_trades == len(outcome.result.trades) > 0
    bench_curve = np.append(cfg.initial_capital, outcome.benchmark.equity.to_numpy())
    assert outcome.benchmark_risk.cagr == pytest.approx(risk.cagr(bench_curve))
    summary = outcome_summary(outcome)
    assert summary["final_equity"] == pytest.approx(cfg.initial_capital + outcome.result.trades["net_pnl"].sum())
    assert summary["costs_total"] == pytest.approx(outcome.result.trades["costs"].sum())
    json.dumps(summary, allow_nan=False)


def test_per_date_thresholds_reach_the_engine() -> None:
    panel, scores, _ = random_market(4)
    strict = np.full(len(panel.dates), 0.99)
    strict[:20] = 0.5
    outcome = trade(panel, scores, config=BacktestConfig(threshold=0.5), thresholds=strict)
    entries = pd.to_datetime(outcome.result.trades["signal_date"])
    late = entries > pd.Timestamp(panel.dates[19])
    assert (outcome.result.trades.loc[late, "score"] >= 0.99).all()
    assert (~late).sum() > 0


def test_deflated_sharpe_counts_every_recorded_trial() -> None:
    panel, scores, _ = random_market(5)
    outcome = trade(panel, scores, config=BacktestConfig(threshold=0.8))
    alone = deflate(outcome, trial_sharpes=[outcome.risk.sharpe])
    assert alone.n_trials == 1
    assert alone.expected_max_sharpe == 0.0
    trials = [outcome.risk.sharpe, 0.5, -0.3, 1.8, math.nan]
    many = deflate(outcome, trial_sharpes=trials)
    assert many.n_trials == 5  # a trial without a finite Sharpe still counts
    variance = float(np.var([outcome.risk.sharpe, 0.5, -0.3, 1.8], ddof=1)) / 252
    assert many.expected_max_sharpe == pytest.approx(
        risk.expected_max_sharpe(n_trials=5, trial_sharpe_variance=variance)
    )
    assert many.dsr < alone.dsr


def test_series_and_trades_are_plain_json() -> None:
    panel, scores, _ = random_market(6)
    outcome = trade(panel, scores, config=BacktestConfig(threshold=0.85, holding_days=2))
    series = outcome_series(outcome)
    assert len(series["dates"]) == len(series["equity"]) == len(series["benchmark"]) == len(panel.dates)
    assert max(series["drawdown"]) <= 0.0
    table = trades_table(outcome.result.trades)
    assert len(table["rows"]) == len(outcome.result.trades)
    first = dict(zip(table["columns"], table["rows"][0], strict=True))
    assert dt.date.fromisoformat(first["entry_date"])
    assert isinstance(first["intraday"], bool)
    json.dumps({"series": series, "trades": table}, allow_nan=False)


def test_strategy_config_survives_a_round_trip_through_json() -> None:
    cfg = BacktestConfig(threshold=None, top_k=5, holding_days=3, costs=CostRates(slippage_bps=25.0))
    assert config_from_dict(json.loads(json.dumps(config_to_dict(cfg)))) == cfg


def test_jsonable_drops_nan_and_unwraps_numpy() -> None:
    value = {"a": np.float32(1.5), "b": [np.nan, math.inf], "c": np.datetime64("2021-01-02"), "d": pd.NaT}
    assert jsonable(value) == {"a": 1.5, "b": [None, None], "c": "2021-01-02", "d": None}
    assert jsonable(pd.Timestamp("2021-03-04")) == "2021-03-04"
    assert jsonable(0.123456789, digits=3) == 0.123
    with pytest.raises(TypeError):
        jsonable(object())
