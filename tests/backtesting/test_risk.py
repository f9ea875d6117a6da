from __future__ import annotations

import math

import numpy as np
import pytest

from backtesting import risk

# Four daily returns: mean 0.005; deviations 0.005, -0.025, 0.025, -0.005 -> sum of squares 0.0013.
RETURNS = np.array([0.01, -0.02, 0.03, 0.0])
SD = math.sqrt(0.0013 / 3)


def test_cagr_of_ten_percent_a_period_over_one_year_of_two_periods() -> None:
    assert risk.cagr([100.0, 110.0, 121.0], periods_per_year=2) == pytest.approx(0.21)
    # 252 daily steps doubling the money is a 100% year.
    assert risk.cagr(np.geomspace(1.0, 2.0, 253)) == pytest.approx(1.0)


def test_annual_volatility_uses_sample_std_times_root_252() -> None:
    assert risk.annual_volatility(RETURNS) == pytest.approx(SD * math.sqrt(252))


def test_sharpe_by_hand() -> None:
    assert risk.sharpe_ratio(RETURNS) == pytest.approx(0.005 / SD * math.sqrt(252))
    # With a risk-free rate the mean excess drops by the daily rate; the spread is unchanged.
    rf_daily = 1.0665 ** (1 / 252) - 1
    assert risk.sharpe_ratio(RETURNS, risk_free=0.0665) == pytest.approx((0.005 - rf_daily) / SD * math.sqrt(252))


def test_sortino_by_hand() -> None:
    # Downside deviation: sqrt((0 + 0.02^2 + 0 + 0) / 4) = 0.01.
    assert risk.sortino_ratio(RETURNS) == pytest.approx(0.005 / 0.01 * math.sqrt(252))
    assert risk.sortino_ratio([0.01, 0.02, 0.0]) == math.inf


def test_sharpe_and_sortino_match_empyrical() -> None:
    import empyrical  # installed by `make venv` from requirements/dev-nodeps.txt

    rng = np.random.default_rng(5)
    returns = rng.normal(0.0008, 0.02, 500)
    rf = 0.065
    rf_daily = risk.periodic_rate(rf)
    assert risk.sharpe_ratio(returns, risk_free=rf) == pytest.approx(
        empyrical.sharpe_ratio(returns, risk_free=rf_daily)
    )
    assert risk.sortino_ratio(returns, risk_free=rf) == pytest.approx(
        empyrical.sortino_ratio(returns, required_return=rf_daily)
    )
    assert risk.annual_volatility(returns) == pytest.approx(empyrical.annual_volatility(returns))
    equity = 1e6 * np.cumprod(np.append(1.0, 1.0 + returns))
    assert risk.max_drawdown(equity).depth == pytest.approx(empyrical.max_drawdown(returns))
    assert risk.cagr(equity) == pytest.approx(empyrical.cagr(returns))
    assert risk.calmar_ratio(equity) == pytest.approx(empyrical.calmar_ratio(returns))


def test_max_drawdown_depth_positions_and_duration() -> None:
    dd = risk.max_drawdown([100.0, 120.0, 90.0, 110.0, 130.0, 125.0])
    assert dd.depth == pytest.approx(90.0 / 120.0 - 1.0)
    assert (dd.peak, dd.trough, dd.recovery) == (1, 2, 4)
    assert dd.duration == 3
    assert dd.longest_duration == 3


def test_longest_drawdown_can_be_shallower_than_the_deepest() -> None:
    dd = risk.max_drawdown([100.0, 95.0, 96.0, 97.0, 98.0, 101.0, 80.0, 102.0])
    assert dd.depth == pytest.approx(80.0 / 101.0 - 1.0)
    assert dd.duration == 2
    assert dd.longest_duration == 5


def test_an_unrecovered_drawdown_lasts_until_the_end() -> None:
    dd = risk.max_drawdown([100.0, 110.0, 99.0, 100.0])
    assert dd.recovery is None
    assert dd.duration == 2
    assert risk.max_drawdown([1.0, 2.0, 3.0]).longest_duration == 0


def test_calmar_is_cagr_over_max_drawdown() -> None:
    equity = [100.0, 80.0, 121.0]  # CAGR 21% over one year of two periods; drawdown 20%
    assert risk.calmar_ratio(equity, periods_per_year=2) == pytest.approx(0.21 / 0.20)


def test_trade_stats_by_hand() -> None:
    s = risk.trade_stats([100.0, -50.0, 200.0, -25.0, 0.0])
    assert s.n_trades == 5
    assert s.win_rate == pytest.approx(0.4)
    assert s.profit_factor == pytest.approx(300.0 / 75.0)
    assert s.expectancy == pytest.approx(45.0)
    assert s.average_win == pytest.approx(150.0)
    assert s.average_loss == pytest.approx(-37.5)
    assert risk.trade_stats([10.0, 5.0]).profit_factor == math.inf


def test_exposure_and_turnover_averages() -> None:
    assert risk.average_exposure([0.0, 1.0, 0.5, 0.5]) == pytest.approx(0.5)
    assert risk.annual_turnover([0.0, 2.0, 2.0, 0.0]) == pytest.approx(252.0)


def test_deflated_sharpe_reproduces_bailey_and_lopez_de_prado_worked_example() -> None:
    # Their example: annualised SR 2.5 over 5 years of daily returns (T = 1250, 250 a year), skew -3,
    # kurtosis 10, N = 100 trials whose annualised Sharpes have variance 0.5 -> SR0 ~ 0.1132, DSR ~ 0.9004.
    sr0 = risk.expected_max_sharpe(n_trials=100, trial_sharpe_variance=0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = risk.probabilistic_sharpe_ratio(
        sharpe=2.5 / math.sqrt(250), benchmark_sharpe=sr0, n_obs=1250, skew=-3.0, kurtosis=10.0
    )
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_deflated_sharpe_falls_as_more_trials_were_run() -> None:
    rng = np.random.default_rng(3)
    returns = rng.normal(0.001, 0.01, 750)
    one = risk.deflated_sharpe_ratio(returns, n_trials=1, trial_sharpe_variance=0.001)
    many = risk.deflated_sharpe_ratio(returns, n_trials=200, trial_sharpe_variance=0.001)
    assert one.expected_max_sharpe == 0.0
    assert one.dsr == pytest.approx(
        risk.probabilistic_sharpe_ratio(
            sharpe=one.sharpe, benchmark_sharpe=0.0, n_obs=750, skew=one.skew, kurtosis=one.kurtosis
        )
    )
    assert many.dsr < one.dsr
    assert one.sharpe == pytest.approx(risk.sharpe_ratio(returns) / math.sqrt(252))
    assert abs(one.kurtosis - 3.0) < 0.5  # Pearson kurtosis of normal draws


def test_risk_report_gathers_every_metric() -> None:
    equity = np.array([100.0, 101.0, 99.0, 102.0, 104.0])
    report = risk.risk_report(
        equity=equity,
        trade_pnl=[1.0, -2.0, 3.0],
        exposure=[0.0, 1.0, 1.0, 1.0, 1.0],
        turnover=[0.0, 2.0, 2.0, 2.0, 2.0],
        n_trials=10,
        trial_sharpe_variance=0.01,
    )
    assert report.sharpe == pytest.approx(risk.sharpe_ratio(risk.returns_from_equity(equity)))
    assert report.max_drawdown == pytest.approx(99.0 / 101.0 - 1.0)
    assert report.trades.n_trades == 3
    assert report.exposure == pytest.approx(0.8)
    assert report.deflated_sharpe is not None
    assert risk.risk_report(equity=equity, trade_pnl=[], exposure=[], turnover=[]).deflated_sharpe is None
