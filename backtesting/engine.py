"""A circuit-aware daily trading simulation over a panel, and an equal-weight buy-and-hold benchmark.

Pure numpy/pandas, no Django. Inputs are ``(T dates, N stocks)`` arrays aligned with a
:class:`marketdata.panel.Panel` (NaN where a stock has no bar). Money is rupees; prices rupees per share.

Timing (day ``t`` is a row of the panel, so "the next trading day" is the next row):

* A score on day ``t`` is known after ``t``'s close. It signals when it is >= the threshold and/or
  among the day's ``top_k`` (ties go to the lower column, i.e. the earlier symbol). With both set, a
  signal needs both. The threshold may also be given per date (``simulate(thresholds=...)``): each
  walk-forward fold scores its test month with its own model and its own threshold.
* The entry is at day ``t+1``'s open (plus slippage). There is no entry without a bar on ``t+1``, or
  when ``t+1`` opens at the upper band price of its band (``circuits.upper_band_price``): a stock
  locked at its upper circuit has only buyers. A stock already held is not bought again.
* Sizing: the day's entries, best score first and at most ``max_positions`` open at once, share the
  cash equally (optionally capped at ``max_position_weight`` of equity); whole shares only, and the
  cost of the buy must fit in the budget. Liquidity cap: at most ``liquidity_share`` of the stock's
  traded value (close x volume) on the *signal* day ``t``; the entry day's own traded value is only
  known after its close, so using it would look ahead.
* The exit is at the close of the ``holding_days``-th trading day counted from the entry day (1: the
  entry day's close, an intraday round trip). A stock that closes at its lower circuit
  (``circuits.is_lower_lock``) has only sellers, and one without a bar cannot be sold: the exit
  carries to the next day's close, again while it stays locked or absent. Whatever is still open on
  the last date is sold at its last close and marked ``end_of_data``.
* Costs (:mod:`backtesting.costs`): the buy leg is charged at entry for the planned product
  (intraday when ``holding_days == 1``); at the exit the whole round trip is recomputed for the
  product it turned out to be (a carried intraday position becomes delivery) and the difference is
  charged, so the trade's ``costs`` are exact.
* Bands: the band matrix is the band in force on each day (from the exchange's file, or
  ``circuits.band_estimate``). It decides only whether an order can fill on the day it is placed, never
  which stock is chosen.
* Corporate actions: prices are raw. When a stock held overnight moves beyond
  ``circuits.CORPORATE_ACTION_MOVE_PCT`` against its previous close (a split or bonus), the move is
  taken as the corporate action: the position's share count is scaled by ``prev_close / close`` so its
  value is unchanged that day (``share_factor`` in the trades).
* Proceeds are usable from the next day; settlement (T+1) and margin are not modelled.

Mostly vectorised: one pass over the T days, all N stocks at once within a day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from backtesting.costs import CostRates, apply_slippage, leg_costs, round_trip_costs
from marketdata import circuits
from marketdata.panel import Panel

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

EXIT_HOLDING_PERIOD: Final = "holding_period"
EXIT_DELAYED: Final = "delayed"
EXIT_END_OF_DATA: Final = "end_of_data"
EXIT_REASONS: Final = (EXIT_HOLDING_PERIOD, EXIT_DELAYED, EXIT_END_OF_DATA)

TRADE_COLUMNS: Final = (
    "symbol",
    "signal_date",
    "score",
    "entry_date",
    "entry_price",
    "exit_date",
    "exit_price",
    "quantity",
    "share_factor",
    "buy_value",
    "sell_value",
    "gross_pnl",
    "costs",
    "net_pnl",
    "slippage",
    "holding_days",
    "carried_days",
    "intraday",
    "exit_reason",
)


@dataclass(frozen=True)
class BacktestConfig:
    """What to trade and how. Rupees for money, fractions for shares of equity or traded value."""

    initial_capital: float = 1_000_000.0
    threshold: float | None = 0.5
    top_k: int | None = None
    holding_days: int = 1
    max_positions: int | None = 10
    max_position_weight: float | None = None
    liquidity_share: float = 0.02
    costs: CostRates = field(default_factory=CostRates)

    def __post_init__(self) -> None:
        if self.threshold is None and self.top_k is None:
            raise ValueError("set a score threshold, a top_k, or both")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if self.holding_days < 1:
            raise ValueError("holding_days must be at least 1 trading day")
        if self.max_positions is not None and self.max_positions < 1:
            raise ValueError("max_positions must be at least 1")
        if self.max_position_weight is not None and not 0 < self.max_position_weight <= 1:
            raise ValueError("max_position_weight must be in (0, 1]")
        if not 0 < self.liquidity_share <= 1:
            raise ValueError("liquidity_share must be in (0, 1]")
        if self.initial_capital <= 0:
            raise ValueError("initial_capital must be positive")


@dataclass(frozen=True)
class BacktestResult:
    """Trades (one row per round trip, ``TRADE_COLUMNS``) and daily series indexed by the panel's dates.

    ``equity`` is cash plus open positions at each close (rupees). ``exposure`` is the value deployed
    during the day (positions carried in at the previous close plus the day's buys) over the previous
    close's equity. ``turnover`` is the day's bought plus sold value over the previous close's equity.
    ``counts`` tallies signals, entries and why signals were not entered.
    """

    trades: pd.DataFrame
    equity: pd.Series
    cash: pd.Series
    exposure: pd.Series
    turnover: pd.Series
    counts: dict[str, int]
    config: BacktestConfig

    @property
    def returns(self) -> pd.Series:
        """Daily simple returns of the equity curve (the first day is 0)."""
        return self.equity.pct_change().fillna(0.0)


@dataclass(frozen=True)
class BenchmarkResult:
    """Equal-weight buy-and-hold: equity per date (rupees) and how many stocks it holds."""

    equity: pd.Series
    members: int
    excluded: int


def signals_from_scores(
    scores: npt.ArrayLike, *, threshold: float | npt.ArrayLike | None, top_k: int | None
) -> BoolArray:
    """(T, N) signals: score >= threshold and/or among the row's top_k scores; NaN never signals.

    ``threshold`` is one number or one per date ``(T,)``; a NaN date threshold gives no signal that day.
    """
    s = np.asarray(scores, dtype=np.float64)
    known = ~np.isnan(s)
    signal = known.copy()
    if threshold is not None:
        cut = np.asarray(threshold, dtype=np.float64)
        if cut.ndim == 1:
            if cut.shape[0] != s.shape[0]:
                raise ValueError(f"thresholds has {cut.shape[0]} dates, the scores {s.shape[0]}")
            cut = cut[:, None]
        with np.errstate(invalid="ignore"):
            signal &= s >= cut
    if top_k is not None and s.shape[1]:
        k = min(top_k, s.shape[1])
        # Stable sort of -score: ties keep column order, so the earlier symbol wins.
        order = np.argsort(np.where(known, -s, np.inf), axis=1, kind="stable")[:, :k]
        top = np.zeros(s.shape, dtype=bool)
        np.put_along_axis(top, order, True, axis=1)
        signal &= top
    return signal


class _Book:
    """Open positions, one slot per stock (N,), and the finished trades."""

    def __init__(self, n: int) -> None:
        self.held = np.zeros(n, dtype=bool)
        self.qty = np.zeros(n)
        self.factor = np.ones(n)
        self.entry_idx = np.full(n, -1, dtype=np.int64)
        self.signal_idx = np.full(n, -1, dtype=np.int64)
        self.due_idx = np.full(n, -1, dtype=np.int64)
        self.entry_raw = np.zeros(n)
        self.entry_fill = np.zeros(n)
        self.buy_charged = np.zeros(n)
        self.score = np.zeros(n)
        self.carried = np.zeros(n, dtype=np.int64)
        self.mark = np.full(n, np.nan)
        self.closed: list[dict[str, npt.NDArray[np.generic]]] = []

    def value(self) -> float:
        return float(np.sum(self.qty[self.held] * self.factor[self.held] * self.mark[self.held]))

    def sell(self, idx: IntArray, day: int, raw_price: FloatArray, reason: str, rates: CostRates) -> float:
        """Sell stocks ``idx`` at ``raw_price`` (before slippage) on ``day``; returns the cash it brings in.

        The round trip's costs are recomputed for the product it turned out to be (intraday only when
        sold on the entry day), less the buy leg already charged at entry.
        """
        qty, factor = self.qty[idx], self.factor[idx]
        exit_fill = apply_slippage(raw_price, side="sell", rates=rates)
        sell_value = qty * factor * exit_fill
        buy_value = qty * self.entry_fill[idx]
        intraday = self.entry_idx[idx] == day
        total = round_trip_costs(buy_value, sell_value, intraday=intraday, rates=rates).total
        delayed = np.where(self.carried[idx] > 0, EXIT_DELAYED, reason)
        self.closed.append(
            {
                "stock": idx,
                "signal_idx": self.signal_idx[idx],
                "score": self.score[idx],
                "entry_idx": self.entry_idx[idx],
                "exit_idx": np.full(idx.size, day, dtype=np.int64),
                "entry_fill": self.entry_fill[idx],
                "exit_fill": exit_fill,
                "qty": qty,
                "factor": factor,
                "buy_value": buy_value,
                "sell_value": sell_value,
                "gross": sell_value - buy_value,
                "costs": total,
                "slippage": qty * (self.entry_fill[idx] - self.entry_raw[idx]) + qty * factor * (raw_price - exit_fill),
                "carried": self.carried[idx],
                "intraday": intraday,
                "reason": delayed if reason == EXIT_HOLDING_PERIOD else np.full(idx.size, reason),
            }
        )
        self.held[idx] = False
        return float(np.sum(sell_value - (total - self.buy_charged[idx])))


def _trades_frame(closed: list[dict[str, npt.NDArray[np.generic]]], panel: Panel) -> pd.DataFrame:
    if not closed:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TRADE_COLUMNS})
    cols = {k: np.concatenate([c[k] for c in closed]) for k in closed[0]}
    dates = panel.dates
    out = pd.DataFrame(
        {
            "symbol": panel.symbols[cols["stock"]].astype(str),
            "signal_date": pd.to_datetime(dates[cols["signal_idx"]]),
            "score": cols["score"],
            "entry_date": pd.to_datetime(dates[cols["entry_idx"]]),
            "entry_price": cols["entry_fill"],
            "exit_date": pd.to_datetime(dates[cols["exit_idx"]]),
            "exit_price": cols["exit_fill"],
            "quantity": cols["qty"].astype(np.int64),
            "share_factor": cols["factor"],
            "buy_value": cols["buy_value"],
            "sell_value": cols["sell_value"],
            "gross_pnl": cols["gross"],
            "costs": cols["costs"],
            "net_pnl": cols["gross"] - cols["costs"],
            "slippage": cols["slippage"],
            "holding_days": (cols["exit_idx"] - cols["entry_idx"] + 1).astype(np.int64),
            "carried_days": cols["carried"].astype(np.int64),
            "intraday": cols["intraday"].astype(bool),
            "exit_reason": cols["reason"].astype(str),
        }
    )
    return out.sort_values(["entry_date", "symbol"], kind="stable").reset_index(drop=True)


def _check_shapes(panel: Panel, **arrays: FloatArray) -> None:
    for name, arr in arrays.items():
        if arr.shape != panel.shape:
            raise ValueError(f"{name} has shape {arr.shape}, the panel is {panel.shape}")


def simulate(
    *,
    panel: Panel,
    scores: npt.ArrayLike,
    bands: npt.ArrayLike | None = None,
    config: BacktestConfig | None = None,
    thresholds: npt.ArrayLike | None = None,
) -> BacktestResult:
    """Trade the signals of ``scores`` (T, N) on ``panel`` under ``config``; see the module docstring.

    ``bands`` (T, N) are band percents per stock-day; None estimates them causally with
    ``circuits.band_estimate`` (the panel's ``band`` from the exchange files overriding).
    ``thresholds`` (T,) replaces ``config.threshold`` with one threshold per signal date (NaN: no
    signal that day).
    """
    cfg = config or BacktestConfig()
    rates = cfg.costs
    score = np.asarray(scores, dtype=np.float64)
    tick = circuits.tick_paise(panel.open, panel.high, panel.low, panel.close)
    if bands is None:
        # The band in force at an open is the one known at the previous close (or from the band file).
        estimated = circuits.band_estimate(panel.close, panel.high, panel.low, panel.prev_close, tick=tick)
        known_at_open = np.vstack([np.full((1, panel.shape[1]), np.nan), estimated[:-1]])
        band = np.where(np.isnan(panel.band), known_at_open, panel.band)
    else:
        band = np.asarray(bands, dtype=np.float64)
    _check_shapes(panel, scores=score, bands=band)
    t_len, n_len = panel.shape
    opens, close, prev = panel.open, panel.close, panel.prev_close
    has_bar = panel.has_bar
    with np.errstate(invalid="ignore"):
        can_open = has_bar & (opens > 0)
    with np.errstate(invalid="ignore"):
        open_band_price = circuits.upper_band_price(prev, band, tick=circuits.at_the_open(tick, opens))
        locked_open = circuits.to_paise(opens) == circuits.to_paise(open_band_price)
    lower_locked = circuits.is_lower_lock(close, panel.low, prev, tick=tick)
    corporate_action = np.abs(circuits.move_pct(close, prev)) > circuits.CORPORATE_ACTION_MOVE_PCT
    traded_value = np.nan_to_num(close * panel.volume, nan=0.0)
    signal = signals_from_scores(score, threshold=cfg.threshold if thresholds is None else thresholds, top_k=cfg.top_k)
    planned_intraday = cfg.holding_days == 1
    cost_bound = rates.buy_cost_rate_bound(intraday=planned_intraday)

    book = _Book(n_len)
    cash = cfg.initial_capital
    equity = np.empty(t_len)
    cash_series = np.empty(t_len)
    exposure = np.zeros(t_len)
    turnover = np.zeros(t_len)
    counts = dict.fromkeys(
        (
            "signals",
            "entries",
            "blocked_already_held",
            "blocked_no_bar",
            "blocked_locked_open",
            "blocked_no_slot",
            "blocked_liquidity",
            "blocked_budget",
            "liquidity_capped",
            "carried_lower_circuit_days",
            "carried_no_bar_days",
            "corporate_action_adjustments",
        ),
        0,
    )

    for d in range(t_len):
        eq_prev = equity[d - 1] if d else cfg.initial_capital
        carried_in_value = book.value()
        overnight = book.held & corporate_action[d]
        if overnight.any():
            book.factor[overnight] *= prev[d, overnight] / close[d, overnight]
            counts["corporate_action_adjustments"] += int(overnight.sum())

        bought = 0.0
        if d:
            wanted = signal[d - 1]
            counts["signals"] += int(wanted.sum())
            counts["blocked_already_held"] += int((wanted & book.held).sum())
            wanted = wanted & ~book.held
            counts["blocked_no_bar"] += int((wanted & ~can_open[d]).sum())
            counts["blocked_locked_open"] += int((wanted & can_open[d] & locked_open[d]).sum())
            idx = np.flatnonzero(wanted & can_open[d] & ~locked_open[d])
            idx = idx[np.argsort(-score[d - 1, idx], kind="stable")]
            if cfg.max_positions is not None:
                slots = max(cfg.max_positions - int(book.held.sum()), 0)
                counts["blocked_no_slot"] += max(idx.size - slots, 0)
                idx = idx[:slots]
            if idx.size:
                raw = opens[d, idx]
                fill = apply_slippage(raw, side="buy", rates=rates)
                budget = cash / idx.size
                if cfg.max_position_weight is not None:
                    budget = min(budget, cfg.max_position_weight * eq_prev)
                budget_qty = np.floor(budget / (fill * (1.0 + cost_bound)))
                liquid_qty = np.floor(cfg.liquidity_share * traded_value[d - 1, idx] / fill)
                qty = np.minimum(budget_qty, liquid_qty)
                ok = qty >= 1
                counts["blocked_liquidity"] += int((liquid_qty < 1).sum())
                counts["blocked_budget"] += int(((budget_qty < 1) & (liquid_qty >= 1)).sum())
                counts["liquidity_capped"] += int((ok & (liquid_qty < budget_qty)).sum())
                idx, raw, fill, qty = idx[ok], raw[ok], fill[ok], qty[ok]
                value = qty * fill
                charged = leg_costs(value, side="buy", intraday=planned_intraday, rates=rates).total
                book.held[idx] = True
                book.qty[idx] = qty
                book.factor[idx] = 1.0
                book.entry_idx[idx] = d
                book.signal_idx[idx] = d - 1
                book.due_idx[idx] = d + cfg.holding_days - 1
                book.entry_raw[idx] = raw
                book.entry_fill[idx] = fill
                book.buy_charged[idx] = charged
                book.score[idx] = score[d - 1, idx]
                book.carried[idx] = 0
                book.mark[idx] = raw
                bought = float(value.sum())
                cash -= bought + float(charged.sum())
                counts["entries"] += int(idx.size)

        due = book.held & (book.due_idx <= d)
        sellable = due & has_bar[d] & ~lower_locked[d]
        blocked = due & ~sellable
        counts["carried_lower_circuit_days"] += int((blocked & has_bar[d]).sum())
        counts["carried_no_bar_days"] += int((blocked & ~has_bar[d]).sum())
        book.mark[has_bar[d]] = close[d, has_bar[d]]
        sold_value = 0.0
        idx = np.flatnonzero(sellable)
        if idx.size:
            sold_value += float(np.sum(book.qty[idx] * book.factor[idx] * close[d, idx]))
            cash += book.sell(idx, d, close[d, idx], EXIT_HOLDING_PERIOD, rates)
        book.carried[blocked] += 1
        if d == t_len - 1 and book.held.any():
            idx = np.flatnonzero(book.held)
            sold_value += float(np.sum(book.qty[idx] * book.factor[idx] * book.mark[idx]))
            cash += book.sell(idx, d, book.mark[idx], EXIT_END_OF_DATA, rates)

        equity[d] = cash + book.value()
        cash_series[d] = cash
        exposure[d] = (carried_in_value + bought) / eq_prev
        turnover[d] = (bought + sold_value) / eq_prev

    index = pd.DatetimeIndex(pd.to_datetime(panel.dates), name="date")
    return BacktestResult(
        trades=_trades_frame(book.closed, panel),
        equity=pd.Series(equity, index=index, name="equity"),
        cash=pd.Series(cash_series, index=index, name="cash"),
        exposure=pd.Series(exposure, index=index, name="exposure"),
        turnover=pd.Series(turnover, index=index, name="turnover"),
        counts=counts,
        config=cfg,
    )


def buy_and_hold_benchmark(
    panel: Panel, *, initial_capital: float = 1_000_000.0, rates: CostRates | None = None
) -> BenchmarkResult:
    """Equal-weight buy-and-hold of the panel's stocks over the panel's dates, never rebalanced.

    Rule: the stocks with a bar on the first date are bought at that close (plus slippage and
    delivery buy costs), fractional shares, equal rupees each. Stocks whose first bar comes later
    never join, since adding them would mean selling the others (a rebalance). Each holding then
    grows by ``close / prev_close`` on the days it trades and is frozen at its last close while it
    does not (a delisting keeps its last value); moves beyond ``circuits.CORPORATE_ACTION_MOVE_PCT``
    are taken as splits or bonuses and count as no change, as in :func:`simulate`. The last date
    deducts the delivery sell costs of liquidating everything at that close.
    """
    r = rates or CostRates()
    t_len = len(panel.dates)
    index = pd.DatetimeIndex(pd.to_datetime(panel.dates), name="date")
    if t_len == 0:
        return BenchmarkResult(equity=pd.Series(dtype=np.float64, name="benchmark"), members=0, excluded=0)
    with np.errstate(invalid="ignore"):
        members = panel.has_bar[0] & (panel.close[0] > 0)
    n = int(members.sum())
    if n == 0:
        raise ValueError("no stock has a bar on the first date: the benchmark would hold nothing")
    close = panel.close[:, members]
    prev = panel.prev_close[:, members]
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = close / prev
    corporate_action = np.abs(circuits.move_pct(close, prev)) > circuits.CORPORATE_ACTION_MOVE_PCT
    growth = np.where(np.isfinite(growth) & (growth > 0) & ~corporate_action, growth, 1.0)
    growth[0] = 1.0

    # The bound makes value + buy costs fit the equal share; the few rupees left over stay in cash.
    value = np.full(n, initial_capital / n / (1.0 + r.buy_cost_rate_bound(intraday=False)))
    buy_costs = float(leg_costs(value, side="buy", intraday=False, rates=r).total.sum())
    cash = initial_capital - float(value.sum()) - buy_costs
    first_fill = apply_slippage(close[0], side="buy", rates=r)
    holdings = value / first_fill * close[0] * np.cumprod(growth, axis=0)
    equity = holdings.sum(axis=1) + cash
    last = apply_slippage(holdings[-1], side="sell", rates=r)
    equity[-1] = float(last.sum()) + cash - float(leg_costs(last, side="sell", intraday=False, rates=r).total.sum())
    return BenchmarkResult(
        equity=pd.Series(equity, index=index, name="benchmark"),
        members=n,
        excluded=int(panel.shape[1] - n),
    )
