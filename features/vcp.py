"""The 25 VCP features for every stock and date of a panel at once.

Input is a ``Panel`` ((T dates, N stocks) float64, NaN where no bar). Output is a ``FeatureCube``
whose ``values`` are (T, N, 25) float32 in ``spec.FEATURE_NAMES`` order: float32 because the
models consume float32 and the full real panel (1,977 x 2,896) then takes 0.57 GB instead of 1.15.
Arithmetic is float64 throughout; only the result is rounded.

A feature is NaN where the stock has no bar that day or fewer than ``spec`` history dates since
its first bar (see docs/features.md for each formula and rule). Windows count the panel's dates;
days without a bar inside a window hold the last close with zero volume (``features.adjust``).
Rolling windows run on forward-adjusted prices, so a split is never a move; the price level,
traded value and circuit features use prices as traded.

Every value at date t is computed from rows <= t only: ``compute_features(panel.until(t))`` gives
bit-identical values at t (tests/features/test_no_lookahead.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import ndimage

from features import spec
from features.adjust import AdjustedPanel, adjust_panel
from marketdata.circuits import (
    band_estimate,
    band_rounding_gap,
    is_strict_upper,
    rolling_count,
    tick_paise,
    upper_band_price,
    upper_lock_mask,
)
from marketdata.panel import Panel

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

# A relative width below this is a flat price: float noise (e.g. prices rescaled across a split)
# must not be ranked or divided by.
_FLAT = 1e-9


@dataclass(frozen=True)
class FeatureCube:
    values: Float32Array  # (T, N, F), a view of feature-major storage: feature() is contiguous
    dates: npt.NDArray[np.datetime64]  # (T,) datetime64[D]
    symbols: npt.NDArray[np.object_]  # (N,)
    instrument_ids: npt.NDArray[np.int64]  # (N,), -1 when the panel had none
    names: tuple[str, ...] = spec.FEATURE_NAMES
    feature_set_hash: str = spec.FEATURE_SET_HASH

    def feature(self, name: str) -> Float32Array:
        """One feature as a (T, N) view."""
        return self.values[:, :, spec.FEATURE_INDEX[name]]

    def on(self, date: np.datetime64 | str) -> Float32Array:
        """(N, F) rows of one date of the cube."""
        return self.values[_date_row(self.dates, date)]

    def to_frame(self) -> pd.DataFrame:
        """Long rows ``date, symbol, instrument_id, <features>`` for every stock-day with a bar."""
        t_idx, n_idx = np.nonzero(~np.isnan(self.feature("log_close")))
        frame = pd.DataFrame(self.values[t_idx, n_idx], columns=list(self.names))
        frame.insert(0, "instrument_id", self.instrument_ids[n_idx])
        frame.insert(0, "symbol", self.symbols[n_idx])
        frame.insert(0, "date", self.dates[t_idx])
        return frame


def _date_row(dates: npt.NDArray[np.datetime64], date: np.datetime64 | str) -> int:
    day = np.asarray(date, dtype="datetime64[D]")
    row = int(np.searchsorted(dates, day))
    if row >= len(dates) or dates[row] != day:
        raise ValueError(f"{day} is not a trading date of the panel")
    return row


def _prefix_sums(values: FloatArray) -> FloatArray:
    """(T + 1, N) running sums with a leading zero row; NaN (before a first bar) counts as 0."""
    sums = np.zeros((values.shape[0] + 1, values.shape[1]))
    np.cumsum(np.nan_to_num(values, nan=0.0), axis=0, out=sums[1:])
    return sums


def _window_mean(sums: FloatArray, window: int, first: int = 0) -> FloatArray:
    """Trailing mean over ``window`` rows from prefix sums, for rows ``first:``; rows < window - 1 are
    partial (masked later). Each row is the same two operations whatever ``first`` is."""
    out = sums[first + 1 :].copy()
    lo = max(first, window - 1)
    if len(sums) - 1 > lo:
        out[lo - first :] -= sums[lo + 1 - window : len(sums) - window]
    out /= window
    return out


def _tail(values: FloatArray, lookback: int, first: int) -> FloatArray:
    """The rows of ``values`` that rows ``first:`` of a trailing computation reading ``lookback`` rows
    back need: a trailing filter over them equals the full one on every row from ``first`` on."""
    return values[max(0, first - lookback) :]


def _last(values: FloatArray, rows: int) -> FloatArray:
    return values[len(values) - rows :]


def _rolling_max(filled: FloatArray, window: int) -> FloatArray:
    """Trailing max over ``window`` rows of an array with -inf for missing values."""
    # origin shifts scipy's centred window to the trailing rows [t - window + 1, t].
    return ndimage.maximum_filter1d(filled, window, axis=0, origin=(window - 1) // 2, mode="nearest")


def _rolling_min(filled: FloatArray, window: int) -> FloatArray:
    """Trailing min over ``window`` rows of an array with +inf for missing values."""
    return ndimage.minimum_filter1d(filled, window, axis=0, origin=(window - 1) // 2, mode="nearest")


def _lag(values: FloatArray, rows: int) -> FloatArray:
    out = np.full_like(values, np.nan)
    out[rows:] = values[:-rows]
    return out


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den, NaN where den is not positive."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _bandwidth(close: FloatArray) -> FloatArray:
    """Bollinger bandwidth (upper - lower) / middle = 4 sigma / SMA over BB_WINDOW rows (sigma: ddof 0).

    Summed over window offsets rather than prefix sums so a flat price gives exactly 0 variance
    and the value does not depend on where the panel starts.
    """
    w = spec.BB_WINDOW
    t_len = close.shape[0]
    out = np.full_like(close, np.nan)
    if t_len < w:
        return out
    rows = t_len - w + 1
    total = close[:rows].copy()
    for k in range(1, w):
        total += close[k : k + rows]
    mean = total / w
    var = np.zeros_like(total)
    dev = total  # reused buffer
    for k in range(w):
        np.subtract(close[k : k + rows], mean, out=dev)
        dev *= dev
        var += dev
    width = 4.0 * np.sqrt(var / w) / mean
    width[width < _FLAT] = 0.0
    out[w - 1 :] = width
    return out


def _trailing_rank(values: FloatArray, window: int) -> FloatArray:
    """Share of the previous ``window - 1`` rows strictly below the current row, per column."""
    t_len = values.shape[0]
    out = np.full_like(values, np.nan)
    if t_len < window:
        return out
    current = values[window - 1 :]
    # uint8 counters and one reused comparison buffer: this loop is the hottest part of the module.
    below = np.zeros(current.shape, dtype=np.uint8)
    hit = np.empty(current.shape, dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        for k in range(1, window):
            np.less(values[window - 1 - k : t_len - k], current, out=hit)
            below += hit
    out[window - 1 :] = below / (window - 1)
    return out


def _days_since(flag: npt.NDArray[np.bool_], age: IntArray) -> FloatArray:
    """Dates since the last True (0 = today), capped at ``spec.DAYS_SINCE_CAP``.

    A flag seen defines the value at once; "none seen" means the cap only once the stock's history
    covers the cap, NaN before.
    """
    rows = np.arange(flag.shape[0], dtype=np.int64)[:, None]
    last = np.maximum.accumulate(np.where(flag, rows, -1), axis=0)
    since = (rows - last).astype(np.float64)
    cap = spec.DAYS_SINCE_CAP
    seen = (last >= 0) & (since <= cap)
    return np.where(seen, since, np.where(age > cap, float(cap), np.nan))


def _cross_sectional_rank(values: FloatArray) -> FloatArray:
    """Percentile rank (average ties, in (0, 1]) of each row's non-NaN values."""
    return pd.DataFrame(values).rank(axis=1, pct=True).to_numpy(dtype=np.float64)


def _compute(panel: Panel, start: int, rows: int | None = None) -> Float32Array:
    """(R, N, F) features for the last R rows of ``panel`` (R = ``rows``, default every row from
    ``start``); rows before ``start`` only carry state (the split adjustment).

    Every window runs over rows ``start:`` exactly as for the full output, but only the last R rows
    of each feature are finished: a scoring date asks for one row of a 253-row window, and the
    trailing windows, ranks and band prices of the other 252 are never computed. The R rows are
    bit-identical to the last R rows of ``_compute(panel, start)`` (tests/features/test_feature_rows.py).
    The result is a view of a feature-major (F, R, N) array.
    """
    adj: AdjustedPanel = adjust_panel(panel).take_rows(start)
    raw_close = panel.close[start:]
    raw_high = panel.high[start:]
    raw_low = panel.low[start:]
    t_len, n_len = raw_close.shape
    n_out = t_len if rows is None else min(rows, t_len)
    first = t_len - n_out  # the first output row, in rows of the window
    # Feature-major, so each feature is one contiguous write; callers see a (R, N, F) view.
    out = np.empty((spec.N_FEATURES, n_out, n_len), dtype=np.float32)
    has_bar, age = adj.has_bar[first:], adj.age[first:]
    close = adj.close
    close_out = close[first:]

    undefined: dict[int, npt.NDArray[np.bool_]] = {}

    def put(name: str, values: FloatArray, history: int | None = None) -> None:
        needed = spec.FEATURES[spec.FEATURE_INDEX[name]].history if history is None else history
        if needed not in undefined:
            undefined[needed] = ~has_bar | (age < needed)
        target = out[spec.FEATURE_INDEX[name]]
        target[...] = values
        target[undefined[needed]] = np.nan

    with np.errstate(invalid="ignore", divide="ignore"):
        # Trend template
        high = np.where(np.isnan(adj.high), -np.inf, adj.high)
        low = np.where(np.isnan(adj.low), np.inf, adj.low)
        # Prefix sums always start at the window's first row, so a mean rounds the same however
        # few rows are output; trailing filters read only the rows they need (_tail).
        put("close_sma50", close_out / _window_mean(_prefix_sums(close), spec.SMA_WINDOW, first) - 1.0)
        year = spec.YEAR
        put("dist_high252", close_out / _last(_rolling_max(_tail(high, year - 1, first), year), n_out) - 1.0)
        put("dist_low252", close_out / _last(_rolling_min(_tail(low, year - 1, first), year), n_out) - 1.0)

        # Volatility contraction
        range_sums = _prefix_sums(np.fmax(adj.high, adj.reference) - np.fmin(adj.low, adj.reference))
        put(
            "atr_ratio_10_50",
            _ratio(_window_mean(range_sums, spec.ATR_FAST, first), _window_mean(range_sums, spec.ATR_SLOW, first)),
        )
        del range_sums
        bb_lookback = spec.BB_RANK_WINDOW - 1 + spec.BB_WINDOW - 1
        bandwidth = _bandwidth(_tail(close, bb_lookback, first))
        put("bbw_pctile120", _last(_trailing_rank(bandwidth, spec.BB_RANK_WINDOW), n_out))
        del bandwidth
        seg = spec.CONTRACTION_SEGMENT
        seg_lookback = seg * spec.CONTRACTION_SEGMENTS - 1
        seg_high = _rolling_max(_tail(high, seg_lookback, first), seg)
        depth = (seg_high - _rolling_min(_tail(low, seg_lookback, first), seg)) / seg_high
        depth[depth < _FLAT] = 0.0
        # depths[0] is the oldest segment (59-45 dates ago), depths[-1] the latest (14-0).
        depths = [_lag(depth, seg * k) if k else depth for k in range(spec.CONTRACTION_SEGMENTS - 1, -1, -1)]
        put("contraction_max_depth", _last(np.maximum.reduce(depths), n_out))
        del depth, depths, seg_high
        tight = spec.TIGHT_WINDOW
        tight_high = _rolling_max(_tail(high, tight - 1, first), tight)
        tight_range = tight_high - _rolling_min(_tail(low, tight - 1, first), tight)
        put("range_tight10", _last(tight_range, n_out) / close_out)
        del high, low, tight_high, tight_range

        # Volume
        volume_sums = _prefix_sums(adj.volume)
        volume_slow = _window_mean(volume_sums, spec.VOLUME_SLOW, first)
        put("volume_dryup_10_50", _ratio(_window_mean(volume_sums, spec.VOLUME_FAST, first), volume_slow))
        put("volume_surge_50", _ratio(adj.volume[first:], volume_slow))
        del volume_slow, volume_sums

        # Momentum and relative strength
        put("return_1d", adj.raw_close[first:] / adj.raw_reference[first:] - 1.0)
        put("return_20d", close_out / _lag(close, spec.RETURN_WINDOW)[first:] - 1.0)
        rs_history = spec.FEATURES[spec.FEATURE_INDEX["rs_rank63"]].history
        long_return = np.where(
            has_bar & (age >= rs_history), close_out / _lag(close, spec.RS_WINDOW)[first:] - 1.0, np.nan
        )
        put("rs_rank63", _cross_sectional_rank(long_return))
        del long_return
        adj_high, adj_low = adj.high[first:], adj.low[first:]
        put("close_location", _ratio(close_out - adj_low, adj_high - adj_low))

        # Circuit history, on prices as traded against the previous close as traded (adjusted only
        # on an action day the exchange did not re-reference), with the lock flag the labels use.
        ref = adj.raw_reference
        tick = tick_paise(panel.open[start:], raw_high, raw_low, raw_close)
        upper = upper_lock_mask(raw_close, raw_high, ref, tick=tick)
        locked = upper > 0  # is_upper_lock; the mask itself feeds the band estimate
        strict = is_strict_upper(raw_close, raw_high, ref)
        put("lock_count20", rolling_count(locked, spec.LOCK_SHORT)[first:])
        put("lock_count60", rolling_count(locked, spec.LOCK_LONG)[first:])
        put("days_since_lock", _days_since(locked, adj.age)[first:], history=1)
        put("strict_count5", rolling_count(strict, spec.STRICT_SHORT)[first:])
        put("strict_count20", rolling_count(strict, spec.STRICT_LONG)[first:])
        put("days_since_strict", _days_since(strict, adj.age)[first:], history=1)
        del locked, strict
        band = band_estimate(
            raw_close, raw_high, raw_low, ref, tick=tick, known_band=panel.band[start:], upper_mask=upper
        )[first:]
        ref, tick, raw_close = ref[first:], tick[first:], raw_close[first:]
        put("band_pct", band)
        put("band_distance", upper_band_price(ref, band, tick=tick) / raw_close - 1.0)
        put("band_rounding_gap", band_rounding_gap(raw_close, band, tick=tick))
        put("band5_rounding_gap", band_rounding_gap(raw_close, 5.0, tick=tick))
        del band, tick

        # Liquidity and price level
        traded = _window_mean(_prefix_sums(adj.raw_close * adj.raw_volume), spec.TRADED_VALUE_WINDOW, first)
        put("log_traded_value20", np.log1p(traded))
        put("log_close", np.log(adj.raw_close[first:]))
    return out.transpose(1, 2, 0)


def compute_features(panel: Panel) -> FeatureCube:
    """All 25 features for every stock and date of ``panel`` (see the module docstring)."""
    return FeatureCube(
        values=_compute(panel, 0),
        dates=panel.dates,
        symbols=panel.symbols,
        instrument_ids=panel.instrument_ids,
    )


def features_on(panel: Panel, date: np.datetime64 | str) -> Float32Array:
    """(N, F) features of every stock on one trading date of ``panel``; NaN rows where no bar.

    Only the last ``spec.LOOKBACK`` dates up to ``date`` run through the windows (the adjustment
    state before them is carried), so the values equal ``compute_features(panel)`` on that date up
    to float rounding of the prefix sums (well below float32 resolution).
    """
    row = _date_row(panel.dates, date)
    known = panel.until(panel.dates[row])
    start = max(0, row + 1 - spec.LOOKBACK)
    return np.ascontiguousarray(_compute(known, start, rows=1)[-1])


def features_on_dates(panel: Panel, dates: Sequence[np.datetime64 | str]) -> Float32Array:
    """(D, N, F) features of every stock on each of ``dates`` (trading dates of ``panel``), in one pass.

    One computation over the last ``spec.LOOKBACK`` dates before the earliest of ``dates`` up to the
    latest, instead of one ``features_on`` per date: /batch_predict items on several dates share it.
    Values equal ``features_on`` on each date up to float rounding of the prefix sums.
    """
    rows = [_date_row(panel.dates, d) for d in dates]
    if not rows:
        return np.empty((0, panel.shape[1], len(spec.FEATURE_NAMES)), dtype=np.float32)
    known = panel.until(panel.dates[max(rows)])
    first = min(rows)
    start = max(0, first + 1 - spec.LOOKBACK)
    # Only the rows from the earliest date asked on are finished (_compute's ``rows``).
    cube = _compute(known, start, rows=max(rows) - first + 1)
    return np.ascontiguousarray(cube[[r - first for r in rows]])
