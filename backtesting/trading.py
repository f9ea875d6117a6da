"""A trading run: the engine's simulation, the buy-and-hold benchmark of the same universe, and their risk.

Pure (no Django). ``panel`` is the traded span ((T, N), NaN where no bar), ``scores`` (T, N) the
calibrated probabilities known after each day's close (NaN where none). Money is rupees; returns and
rates are fractions; Sharpe ratios are annualised unless the name says "per period".

The deflated Sharpe ratio needs the number of configurations tried for the same model: the caller
counts its recorded runs and passes their annualised Sharpes to :func:`deflate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtesting import risk
from backtesting.costs import CostRates
from backtesting.engine import (
    TRADE_COLUMNS,
    BacktestConfig,
    BacktestResult,
    BenchmarkResult,
    buy_and_hold_benchmark,
    simulate,
)
from backtesting.jsonify import jsonable
from backtesting.risk import DeflatedSharpe, RiskReport
from marketdata.panel import Panel

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class TradingOutcome:
    result: BacktestResult
    benchmark: BenchmarkResult
    risk: RiskReport
    benchmark_risk: RiskReport
    risk_free: float


def config_to_dict(config: BacktestConfig) -> dict[str, Any]:
    """Every field of the strategy and its cost rates, JSON-ready (part of a run's fingerprint)."""
    out = {f.name: getattr(config, f.name) for f in fields(config) if f.name != "costs"}
    out["costs"] = {f.name: getattr(config.costs, f.name) for f in fields(config.costs)}
    return out


def config_from_dict(data: dict[str, Any]) -> BacktestConfig:
    values = dict(data)
    costs = CostRates(**values.pop("costs", {}))
    return BacktestConfig(**values, costs=costs)


def trade(
    panel: Panel,
    scores: npt.ArrayLike,
    *,
    config: BacktestConfig,
    thresholds: npt.ArrayLike | None = None,
    risk_free: float = 0.0,
) -> TradingOutcome:
    """Simulate ``scores`` on ``panel`` and measure it against the equal-weight buy-and-hold benchmark."""
    result = simulate(panel=panel, scores=scores, config=config, thresholds=thresholds)
    bench = buy_and_hold_benchmark(panel, initial_capital=config.initial_capital, rates=config.costs)
    no_trades = np.array([], dtype=np.float64)
    zeros = np.zeros(len(bench.equity))
    return TradingOutcome(
        result=result,
        benchmark=bench,
        risk=risk.risk_report(
            equity=_with_start(result.equity, config.initial_capital),
            trade_pnl=result.trades["net_pnl"].to_numpy(dtype=np.float64),
            exposure=result.exposure.to_numpy(),
            turnover=result.turnover.to_numpy(),
            risk_free=risk_free,
        ),
        benchmark_risk=risk.risk_report(
            equity=_with_start(bench.equity, config.initial_capital),
            trade_pnl=no_trades,
            exposure=np.ones(len(bench.equity)),
            turnover=zeros,
            risk_free=risk_free,
        ),
        risk_free=risk_free,
    )


def _with_start(equity: pd.Series, initial_capital: float) -> npt.NDArray[np.float64]:
    """The curve with the initial capital in front, so the first day's trading counts as a return."""
    return np.append(initial_capital, equity.to_numpy(dtype=np.float64))


def deflate(outcome: TradingOutcome, *, trial_sharpes: list[float]) -> DeflatedSharpe:
    """Deflated Sharpe of ``outcome`` after ``len(trial_sharpes)`` trials (their annualised Sharpes).

    The trials are this model configuration's recorded runs, this one included; their variance
    (per period) sets the Sharpe the best of that many unskilled trials would reach.
    """
    sharpes = np.array([s for s in trial_sharpes if s is not None and math.isfinite(s)], dtype=np.float64)
    n_trials = max(len(trial_sharpes), 1)
    variance = float(np.var(sharpes, ddof=1)) / risk.PERIODS_PER_YEAR if sharpes.size > 1 else 0.0
    returns = risk.returns_from_equity(_with_start(outcome.result.equity, outcome.result.config.initial_capital))
    return risk.deflated_sharpe_ratio(
        returns, n_trials=n_trials, trial_sharpe_variance=variance, risk_free=outcome.risk_free
    )


def monthly_returns(equity: pd.Series, *, initial_capital: float) -> pd.DataFrame:
    """Compounded return of each calendar month (rows: years, columns: ``MONTHS``; NaN where no data).

    The first month is measured from ``initial_capital``, every later one from the previous month's
    last equity.
    """
    if equity.empty:
        return pd.DataFrame(columns=list(MONTHS), dtype=np.float64)
    month_end = equity.groupby([equity.index.year, equity.index.month]).last()
    previous = month_end.shift(1).fillna(initial_capital)
    returns = month_end / previous - 1.0
    table = returns.unstack(level=1).reindex(columns=range(1, 13))
    table.columns = list(MONTHS)
    table.index.name = "year"
    return table


def drawdown_series(equity: pd.Series) -> pd.Series:
    """Fraction below the running peak, <= 0, per date."""
    return equity / equity.cummax() - 1.0


def trades_table(trades: pd.DataFrame) -> dict[str, Any]:
    """The trade-by-trade table as ``{"columns", "rows"}``: dates ISO, money rounded to paise."""
    columns = [c for c in TRADE_COLUMNS if c in trades.columns]
    frame = trades[columns].copy()
    for column in ("signal_date", "entry_date", "exit_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
    rounded = {"score": 4, "share_factor": 4, "entry_price": 2, "exit_price": 2}
    rows = [
        [jsonable(v, digits=rounded.get(c, 2)) for c, v in zip(columns, row, strict=True)]
        for row in frame.itertuples(index=False, name=None)
    ]
    return {"columns": columns, "rows": rows}


def outcome_series(outcome: TradingOutcome) -> dict[str, Any]:
    """Daily series for the charts: equity, benchmark, both drawdowns and the exposure."""
    equity, bench = outcome.result.equity, outcome.benchmark.equity
    initial = outcome.result.config.initial_capital
    monthly = monthly_returns(equity, initial_capital=initial)
    return jsonable(
        {
            "dates": [d.strftime("%Y-%m-%d") for d in equity.index],
            "equity": equity.to_numpy(),
            "benchmark": bench.to_numpy(),
            "drawdown": drawdown_series(equity).to_numpy(),
            "benchmark_drawdown": drawdown_series(bench).to_numpy(),
            "exposure": outcome.result.exposure.to_numpy(),
            "monthly_returns": {
                "years": [int(y) for y in monthly.index],
                "months": list(MONTHS),
                "values": monthly.to_numpy(),
            },
        },
        digits=6,
    )


def risk_dict(report: RiskReport) -> dict[str, Any]:
    return jsonable(report)


def outcome_summary(outcome: TradingOutcome) -> dict[str, Any]:
    """Risk of the strategy and of the benchmark, the engine's counts and the benchmark's membership."""
    equity = outcome.result.equity
    return jsonable(
        {
            "strategy": risk_dict(outcome.risk),
            "benchmark": risk_dict(outcome.benchmark_risk),
            "final_equity": float(equity.iloc[-1]) if len(equity) else None,
            "benchmark_final_equity": float(outcome.benchmark.equity.iloc[-1]) if len(equity) else None,
            "total_return": float(equity.iloc[-1] / outcome.result.config.initial_capital - 1) if len(equity) else None,
            "benchmark_total_return": (
                float(outcome.benchmark.equity.iloc[-1] / outcome.result.config.initial_capital - 1)
                if len(equity)
                else None
            ),
            "benchmark_members": outcome.benchmark.members,
            "benchmark_excluded": outcome.benchmark.excluded,
            "risk_free": outcome.risk_free,
            "costs_total": float(outcome.result.trades["costs"].sum()) if len(outcome.result.trades) else 0.0,
            "gross_pnl_total": (float(outcome.result.trades["gross_pnl"].sum()) if len(outcome.result.trades) else 0.0),
        }
    )
