"""Risk and performance metrics of an equity curve and its trades, and the deflated Sharpe ratio.

Pure numpy/scipy, no Django. ``equity`` is a 1-D array (or Series) of account values in rupees, one
per trading day; ``returns`` are its simple daily returns (fractions), length ``len(equity) - 1``.
Annualisation uses ``periods_per_year`` (252 trading days by default). Risk-free rates are annual
fractions, turned into a per-period rate geometrically: ``(1 + rf) ** (1 / periods) - 1``.

Formulas (``r`` per-period returns, ``e = r - rf_period`` excess returns, ``p`` periods per year):

* CAGR = ``(equity[-1] / equity[0]) ** (p / (len(equity) - 1)) - 1``
* volatility = ``std(r, ddof=1) * sqrt(p)``
* Sharpe = ``mean(e) / std(e, ddof=1) * sqrt(p)``
* Sortino = ``mean(e) / sqrt(mean(min(e, 0) ** 2)) * sqrt(p)`` (downside deviation over all periods)
* max drawdown = ``min(equity / running_max(equity) - 1)``; Calmar = ``CAGR / |max drawdown|``
* deflated Sharpe (Bailey & Lopez de Prado 2014): the probability that the true per-period Sharpe
  exceeds the Sharpe expected from the best of ``n_trials`` unskilled trials,
  ``SR0 = sqrt(V) * ((1 - g) * Z(1 - 1/N) + g * Z(1 - 1/(N e)))`` with ``g`` Euler's constant, ``V``
  the variance of the trials' per-period Sharpes and ``Z`` the standard normal quantile; then
  ``DSR = Phi((SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR ** 2))`` with
  the per-period ``SR``, ``T`` returns, and Pearson (non-excess) kurtosis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]

PERIODS_PER_YEAR = 252
EULER_GAMMA = float(np.euler_gamma)


def _array(values: npt.ArrayLike) -> FloatArray:
    out = np.asarray(values, dtype=np.float64).ravel()
    return out[~np.isnan(out)]


def returns_from_equity(equity: npt.ArrayLike) -> FloatArray:
    """Simple per-period returns of an equity curve: ``equity[1:] / equity[:-1] - 1``."""
    e = _array(equity)
    return e[1:] / e[:-1] - 1.0


def periodic_rate(annual_rate: float, *, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """The per-period rate that compounds to ``annual_rate`` over a year."""
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def cagr(equity: npt.ArrayLike, *, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate, years counted as ``(len(equity) - 1) / periods_per_year``."""
    e = _array(equity)
    if e.size < 2 or e[0] <= 0:
        return math.nan
    if e[-1] <= 0:
        return -1.0
    return float((e[-1] / e[0]) ** (periods_per_year / (e.size - 1)) - 1.0)


def annual_volatility(returns: npt.ArrayLike, *, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    r = _array(returns)
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year)) if r.size > 1 else math.nan


def sharpe_ratio(returns: npt.ArrayLike, *, risk_free: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised Sharpe ratio; ``risk_free`` is an annual rate. NaN with fewer than 2 returns or no spread."""
    excess = _array(returns) - periodic_rate(risk_free, periods_per_year=periods_per_year)
    if excess.size < 2:
        return math.nan
    sd = float(np.std(excess, ddof=1))
    return float(np.mean(excess) / sd * math.sqrt(periods_per_year)) if sd > 0 else math.nan


def sortino_ratio(returns: npt.ArrayLike, *, risk_free: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised Sortino ratio, the target being the risk-free rate; inf when no period falls below it."""
    excess = _array(returns) - periodic_rate(risk_free, periods_per_year=periods_per_year)
    if excess.size < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside == 0:
        return math.inf if np.mean(excess) > 0 else math.nan
    return float(np.mean(excess) / downside * math.sqrt(periods_per_year))


@dataclass(frozen=True)
class Drawdown:
    """The deepest drawdown (a fraction <= 0) and its positions in the curve (indices into ``equity``).

    ``duration`` counts periods from the peak to the recovery (the first value back at the peak), or
    to the end when it never recovered. ``longest_duration`` is the longest time spent below a
    previous peak by any drawdown, in periods.
    """

    depth: float
    peak: int
    trough: int
    recovery: int | None
    duration: int
    longest_duration: int


def max_drawdown(equity: npt.ArrayLike) -> Drawdown:
    e = _array(equity)
    if e.size == 0:
        return Drawdown(depth=0.0, peak=0, trough=0, recovery=None, duration=0, longest_duration=0)
    running = np.maximum.accumulate(e)
    dd = e / running - 1.0
    trough = int(np.argmin(dd))
    peak = int(np.flatnonzero(e[: trough + 1] == running[trough])[0])
    back = np.flatnonzero(e[trough:] >= running[trough])
    recovery = int(trough + back[0]) if back.size and dd[trough] < 0 else None
    duration = (recovery if recovery is not None else e.size - 1) - peak if dd[trough] < 0 else 0
    # Each spell below water runs from one value at the running max to the next (or to the end).
    at_peak = np.flatnonzero(e >= running)
    spells = np.diff(at_peak)
    spells = np.append(spells[spells > 1], e.size - 1 - at_peak[-1])
    return Drawdown(
        depth=float(dd[trough]),
        peak=peak,
        trough=trough,
        recovery=recovery,
        duration=int(duration),
        longest_duration=int(spells.max()),
    )


def calmar_ratio(equity: npt.ArrayLike, *, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    depth = max_drawdown(equity).depth
    return cagr(equity, periods_per_year=periods_per_year) / abs(depth) if depth < 0 else math.nan


@dataclass(frozen=True)
class TradeStats:
    """Per-trade statistics of net P&L in rupees. ``average_loss`` is negative (or NaN without losses)."""

    n_trades: int
    win_rate: float
    profit_factor: float
    expectancy: float
    average_win: float
    average_loss: float


def trade_stats(pnl: npt.ArrayLike) -> TradeStats:
    """Win rate (share of trades with P&L > 0), profit factor (gains / |losses|), expectancy (mean P&L)."""
    p = _array(pnl)
    if p.size == 0:
        return TradeStats(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    wins, losses = p[p > 0], p[p < 0]
    gross_loss = float(-losses.sum())
    profit_factor = float(wins.sum()) / gross_loss if gross_loss > 0 else (math.inf if wins.size else math.nan)
    return TradeStats(
        n_trades=int(p.size),
        win_rate=float(wins.size / p.size),
        profit_factor=profit_factor,
        expectancy=float(p.mean()),
        average_win=float(wins.mean()) if wins.size else math.nan,
        average_loss=float(losses.mean()) if losses.size else math.nan,
    )


def average_exposure(exposure: npt.ArrayLike) -> float:
    """Mean daily share of equity deployed (engine's ``exposure`` series)."""
    x = _array(exposure)
    return float(x.mean()) if x.size else math.nan


def annual_turnover(turnover: npt.ArrayLike, *, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Traded value (buys + sells) per year as a multiple of equity: mean daily turnover x periods."""
    x = _array(turnover)
    return float(x.mean() * periods_per_year) if x.size else math.nan


def expected_max_sharpe(*, n_trials: int, trial_sharpe_variance: float) -> float:
    """Expected best per-period Sharpe of ``n_trials`` unskilled trials (Bailey & Lopez de Prado 2014, eq. 2)."""
    if n_trials < 1:
        raise ValueError("n_trials must be at least 1")
    if n_trials == 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(trial_sharpe_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def probabilistic_sharpe_ratio(
    *, sharpe: float, benchmark_sharpe: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """P(true Sharpe > benchmark_sharpe), all Sharpes per period; ``kurtosis`` is Pearson (normal = 3)."""
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if n_obs < 2 or denom <= 0:
        return math.nan
    return float(stats.norm.cdf((sharpe - benchmark_sharpe) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio (a probability) and its inputs; Sharpes are per period."""

    dsr: float
    sharpe: float
    expected_max_sharpe: float
    n_obs: int
    skew: float
    kurtosis: float
    n_trials: int


def deflated_sharpe_ratio(
    returns: npt.ArrayLike,
    *,
    n_trials: int,
    trial_sharpe_variance: float,
    risk_free: float = 0.0,
    periods_per_year: int = PERIODS_PER_YEAR,
) -> DeflatedSharpe:
    """DSR of the chosen strategy's ``returns`` after ``n_trials`` tried configurations.

    ``trial_sharpe_variance`` is the variance across the trials of their *per-period* Sharpe ratios
    (divide an annualised-Sharpe variance by ``periods_per_year``).
    """
    excess = _array(returns) - periodic_rate(risk_free, periods_per_year=periods_per_year)
    sd = float(np.std(excess, ddof=1)) if excess.size > 1 else 0.0
    sharpe = float(np.mean(excess) / sd) if sd > 0 else math.nan
    skew = float(stats.skew(excess))
    kurt = float(stats.kurtosis(excess, fisher=False))
    sr0 = expected_max_sharpe(n_trials=n_trials, trial_sharpe_variance=trial_sharpe_variance)
    dsr = probabilistic_sharpe_ratio(
        sharpe=sharpe, benchmark_sharpe=sr0, n_obs=int(excess.size), skew=skew, kurtosis=kurt
    )
    return DeflatedSharpe(
        dsr=dsr,
        sharpe=sharpe,
        expected_max_sharpe=sr0,
        n_obs=int(excess.size),
        skew=skew,
        kurtosis=kurt,
        n_trials=n_trials,
    )


@dataclass(frozen=True)
class RiskReport:
    """Every metric of one backtest, as stored on a run and shown on the staff pages."""

    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_duration: int
    longest_drawdown_duration: int
    calmar: float
    exposure: float
    turnover: float
    trades: TradeStats
    deflated_sharpe: DeflatedSharpe | None


def risk_report(
    *,
    equity: npt.ArrayLike,
    trade_pnl: npt.ArrayLike,
    exposure: npt.ArrayLike,
    turnover: npt.ArrayLike,
    risk_free: float = 0.0,
    periods_per_year: int = PERIODS_PER_YEAR,
    n_trials: int | None = None,
    trial_sharpe_variance: float | None = None,
) -> RiskReport:
    """All metrics at once; the deflated Sharpe only when the caller says how many trials were run."""
    r = returns_from_equity(equity)
    dd = max_drawdown(equity)
    deflated = (
        deflated_sharpe_ratio(
            r,
            n_trials=n_trials,
            trial_sharpe_variance=trial_sharpe_variance,
            risk_free=risk_free,
            periods_per_year=periods_per_year,
        )
        if n_trials is not None and trial_sharpe_variance is not None
        else None
    )
    return RiskReport(
        cagr=cagr(equity, periods_per_year=periods_per_year),
        volatility=annual_volatility(r, periods_per_year=periods_per_year),
        sharpe=sharpe_ratio(r, risk_free=risk_free, periods_per_year=periods_per_year),
        sortino=sortino_ratio(r, risk_free=risk_free, periods_per_year=periods_per_year),
        max_drawdown=dd.depth,
        max_drawdown_duration=dd.duration,
        longest_drawdown_duration=dd.longest_duration,
        calmar=calmar_ratio(equity, periods_per_year=periods_per_year),
        exposure=average_exposure(exposure),
        turnover=annual_turnover(turnover, periods_per_year=periods_per_year),
        trades=trade_stats(trade_pnl),
        deflated_sharpe=deflated,
    )
