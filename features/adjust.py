"""Causal forward adjustment for splits and bonuses, and the dense price arrays the features use.

Raw NSE prices are not adjusted: a 1:1 bonus shows as a -50% "move". We detect an action on the
day it happens, from that day's bar and the stock's previous close only, and rescale that day's
and all *later* prices into the units of the history before it (forward adjustment). Prices before
an action never change, so nothing after date t influences a value at t, and a ratio of two prices
inside any window is the same as with the usual backward adjustment.

Detection, per stock-day (ratio r = price after / price before the action, 1 where none):

- NSE adjusted the reference itself: ``prev_close / last close`` lies outside
  ``[ACTION_LOW, ACTION_HIGH]``. r is that ratio (NSE's own figure).
- NSE did not: the day's whole range lies beyond any band, ``high / prev_close < ACTION_LOW`` or
  ``low / prev_close > ACTION_HIGH``. r is ``open / prev_close``: the opening gap is taken to be
  the action and the open-to-close move stays a real move.

The bounds sit just outside a 20% band (a stock locked at its lower band all day has
``high / prev_close = 0.8``), and a change of a single 0.05 tick is never an action, since
below Rs 0.25 one tick exceeds 20%. Actions smaller than a band (a 1:4 bonus is -20%) pass as real
moves: the data cannot tell them from a lower circuit.

Days without a bar repeat the last close as high, low, close and reference, with zero volume:
the stock did not trade, so its price stood still and nothing changed hands. Price arrays are NaN
only before a stock's first bar.

All arrays are ``(T dates, N stocks)`` float64; prices in rupees of the stock's earliest units
(adjusted) or rupees as traded (raw); volume in shares of the earliest units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from marketdata.circuits import TICK
from marketdata.panel import Panel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ACTION_LOW = 0.78
ACTION_HIGH = 1.0 / ACTION_LOW
# Paise noise on rupee prices must not turn a one-tick change into "more than a tick".
_TICK_SLACK = TICK + 1e-6


@dataclass(frozen=True)
class AdjustedPanel:
    """Dense prices for rolling windows plus the raw reference prices of each day's bar."""

    has_bar: BoolArray  # (T, N)
    age: IntArray  # (T, N) dates since the first bar, that day = 1; 0 before it
    ratio: FloatArray  # (T, N) action ratio r of the day, 1 where none
    factor: FloatArray  # (T, N) cumulative 1 / r up to and including the day
    high: FloatArray  # (T, N) adjusted, dense
    low: FloatArray
    close: FloatArray
    reference: FloatArray  # (T, N) adjusted previous close the day's move is measured against
    volume: FloatArray  # (T, N) adjusted, 0 on days without a bar
    raw_close: FloatArray  # (T, N) as traded, dense
    raw_volume: FloatArray  # (T, N) as traded, 0 on days without a bar
    raw_reference: FloatArray  # (T, N) prev_close in traded rupees, x r on an unreferenced action day

    def take_rows(self, start: int) -> AdjustedPanel:
        """The same arrays from row ``start`` on (the state carried over is already in them)."""
        return AdjustedPanel(**{name: getattr(self, name)[start:] for name in self.__dataclass_fields__})


def _forward_fill_index(has_bar: BoolArray) -> IntArray:
    """Row of the latest bar at or before each row, -1 before the first bar."""
    rows = np.arange(has_bar.shape[0], dtype=np.int64)[:, None]
    return np.maximum.accumulate(np.where(has_bar, rows, -1), axis=0)


def _take_rows(values: FloatArray, row_index: IntArray) -> FloatArray:
    out = np.take_along_axis(values, np.maximum(row_index, 0), axis=0)
    out[row_index < 0] = np.nan
    return out


def _positive_or(values: FloatArray, fallback: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        return np.where(values > 0, values, fallback)


def action_ratio(
    *,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    prev_close: FloatArray,
    last_close: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Split/bonus ratios per stock-day: (referenced, unreferenced), each 1.0 where none.

    ``referenced`` is where NSE already adjusted ``prev_close`` (it disagrees with ``last_close``,
    the close of the stock's previous bar); ``unreferenced`` is where the day's whole range jumped
    away from an unadjusted ``prev_close``. A stock's first bar (``last_close`` NaN) is never an
    action: its "move" from an issue price is real. All inputs (T, N) raw rupees.
    """
    r_ref = np.ones(prev_close.shape)
    r_unref = np.ones(prev_close.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Cheap band tests on the whole panel; the tick test only on the few candidates.
        gap_out = (prev_close < ACTION_LOW * last_close) | (prev_close > ACTION_HIGH * last_close)
        idx = np.nonzero(gap_out)
        real = np.abs(prev_close[idx] - last_close[idx]) > _TICK_SLACK
        idx = (idx[0][real], idx[1][real])
        r_ref[idx] = prev_close[idx] / last_close[idx]

        has_previous = ~np.isnan(last_close)
        below = (high < ACTION_LOW * prev_close) & has_previous
        above = (low > ACTION_HIGH * prev_close) & has_previous
        idx = np.nonzero(below | above)
        p, h, lo = prev_close[idx], high[idx], low[idx]
        real = ((h < ACTION_LOW * p) & (p - h > _TICK_SLACK)) | ((lo > ACTION_HIGH * p) & (lo - p > _TICK_SLACK))
        idx = (idx[0][real], idx[1][real])
        r_unref[idx] = open_[idx] / prev_close[idx]
    return r_ref, r_unref


def adjust_panel(panel: Panel) -> AdjustedPanel:
    """Forward-adjusted dense arrays for every stock and date of ``panel`` (see module docstring)."""
    has_bar = panel.has_bar
    t_len = has_bar.shape[0]
    fill = _forward_fill_index(has_bar)
    first_seen = has_bar.argmax(axis=0) if t_len else np.zeros(has_bar.shape[1], dtype=np.int64)
    first = np.where(has_bar.any(axis=0), first_seen, t_len)
    age = np.maximum(np.arange(t_len, dtype=np.int64)[:, None] - first[None, :] + 1, 0)

    close = panel.close
    open_ = _positive_or(panel.open, close)
    high = np.fmax(np.fmax(panel.high, close), open_)
    low = np.fmin(np.fmin(_positive_or(panel.low, close), close), open_)
    dense_close = _take_rows(close, fill)
    last_close = np.full_like(dense_close, np.nan)
    last_close[1:] = dense_close[:-1]
    # A first bar without a reference is measured against its own close.
    prev_close = _positive_or(panel.prev_close, np.where(np.isnan(last_close), close, last_close))

    r_ref, r_unref = action_ratio(open_=open_, high=high, low=low, prev_close=prev_close, last_close=last_close)
    factor = np.cumprod(1.0 / (r_ref * r_unref), axis=0, dtype=np.float64)

    # Days without a bar: the last close stands still, so H=L=C= that close and volume is 0.
    no_bar = ~has_bar
    raw_reference = prev_close * r_unref
    raw_reference[no_bar] = dense_close[no_bar]
    high[no_bar] = dense_close[no_bar]
    low[no_bar] = dense_close[no_bar]
    raw_volume = np.nan_to_num(panel.volume, nan=0.0)
    raw_volume[no_bar] = 0.0
    return AdjustedPanel(
        has_bar=has_bar,
        age=age,
        ratio=r_ref * r_unref,
        factor=factor,
        high=high * factor,
        low=low * factor,
        close=dense_close * factor,
        reference=raw_reference * factor,
        volume=raw_volume / factor,
        raw_close=dense_close,
        raw_volume=raw_volume,
        raw_reference=raw_reference,
    )
