"""Price bands, upper and lower locks, the three truths of "hit the upper circuit", and labels.

Pure numpy, no Django: ``features/``, ``modelregistry/``, ``backtesting/`` and ``monitoring`` all read
the circuit rules from here and nowhere else.

Arrays are 1-D (one value per stock-day) or 2-D panels shaped ``(T dates, N stocks)``, float64
rupees with NaN where a stock has no bar. Prices are compared in integer paise (``to_paise``), so
"equal" is exact. Bands are percents from ``STANDARD_BANDS``.

Tick
    Rs 0.05 on NSE 2015-2022; Rs 0.01 for ETFs, and for many stocks since 2024. The data carries no
    tick column, so a stock-day trades on a 1-paisa tick when any of its prices over the last
    ``TICK_WINDOW`` dates (causal) lies off the 0.05 grid (``tick_paise``).

Band price (measured on NSE 2015-2022: docs/features.md, "The lock flag")
    upper = prev_close x (1 + b/100) rounded DOWN to the tick, but at least one tick above the
    previous close; lower = prev_close x (1 - b/100) rounded UP, at least one tick below it and never
    below one tick. On context-clean fully locked up-days the 5% band price matches rounding down
    29,287 times, rounding to nearest 13,095 (every one of those also a round-down match); the 2%
    band's apparent "round to nearest" is the one-tick minimum at prev_close up to Rs 2.45.

The three truths (each a (T, N) bool panel: "locked at the upper circuit on day t")
    ``lock``      close == high, close > prev_close, close on the 0.05 grid and EQUAL to the upper band
                  price of at least one standard band. Band-agnostic and causal (day t only): the
                  tick-aware lock. It is the flag every circuit-history feature is built on.
    ``strict``    close == high and the move within 0.1 percentage point of 2, 5, 10 or 20%. An
                  independent definition from raw prices; it misses penny-stock locks, whose rounded
                  band price sits far from the round percentage.
    ``platform``  a lock at a band that was in force: the day ranges of the ``LABEL_BAND_WINDOW``
                  dates before t, or of those after t, all fit inside that band. It looks forward, so
                  it is for LABELS only (a band cut leaves the later side clean; a lock whose price is
                  only a coincidence of a wider band is dropped). This is the label the models learn.

Causal band estimate (features, the trading engine)
    The band of the last lock (upper or lower) within ``LOCK_BAND_MEMORY`` rows, unless a later day
    needed a wider band; else the smallest band covering the ranges of the last ``BAND_CONTEXT``
    rows. A band from an exchange file (``PriceBand``, as of the date) overrides it.

Label
    ``label[t] = 1`` when the stock is locked (under the chosen truth) on any of the next ``horizon``
    trading days (dates of the panel), 0 when it trades without one, NaN when those days are beyond
    the data or the stock has no bar on day t.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Int8Array = npt.NDArray[np.int8]

TICK = 0.05
TICK_PAISE = 5
FINE_TICK_PAISE = 1
TICK_WINDOW = 20
STANDARD_BANDS: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0)
MAX_BAND = 20.0
STRICT_TOLERANCE_PP = 0.1
# A close-to-close move beyond any band: a split, a bonus or a listing day, not a trading move.
CORPORATE_ACTION_MOVE_PCT = 20.5
MAX_HORIZON = 5
LABEL_BAND_WINDOW = 5
BAND_CONTEXT = 60
LOCK_BAND_MEMORY = 120
NO_INFO = -1  # a band index meaning "this day says nothing about the band"

TRUTHS: tuple[str, ...] = ("platform", "strict", "lock")


def to_paise(price: npt.ArrayLike) -> FloatArray:
    """Rupees -> integer paise held in float64 (exact below 2**53); NaN stays NaN. Any shape."""
    return np.round(np.asarray(price, dtype=np.float64) * 100.0)


# Below this many paise a float quotient p / t of integers is exact enough that floor(p / t) * t == p
# exactly when t divides p (the quotient is at least 1/t from any other integer). fmod is exact
# everywhere but about 6x slower, and the features test millions of prices a night.
_EXACT_QUOTIENT = 2.0**50


def _remainder(paise: FloatArray, tick: npt.ArrayLike) -> FloatArray:
    """``np.fmod(paise, tick)`` bit for bit, about 6x faster: a floor division wherever it is exact
    (whole non-negative paise below ``_EXACT_QUOTIENT``, or NaN; a whole tick >= 1), fmod itself on
    the rest (negative, fractional, huge or infinite values), which real prices never are."""
    t = np.asarray(tick, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(paise - np.floor(paise / t) * t, dtype=np.float64)  # an array even for one price
        whole_tick = (t >= 1) & (t < _EXACT_QUOTIENT) & (np.floor(t) == t)
        # fmod keeps the dividend's sign (-0.0 included); the floor division would not.
        exact = (paise < _EXACT_QUOTIENT) & (np.floor(paise) == paise) & ~np.signbit(paise)
        slow = ~(exact | np.isnan(paise)) | ~whole_tick
        if slow.any():
            ticks = np.broadcast_to(t, out.shape)
            out[slow] = np.fmod(paise[slow], ticks[slow])
    return out


def off_grid(*prices: npt.ArrayLike) -> BoolArray:
    """True where any of the prices is off the 0.05 grid (NaN counts as on it)."""
    off = np.zeros(np.shape(prices[0]), dtype=bool)
    with np.errstate(invalid="ignore"):
        for price in prices:
            off |= _remainder(to_paise(price), TICK_PAISE) > 0
    return off


def at_the_open(tick: FloatArray, open_: npt.ArrayLike) -> FloatArray:
    """(T, N) the tick known at each day's open: yesterday's, or fine when the open itself is off the
    0.05 grid. ``tick`` is ``tick_paise`` of the panel; the day's own high, low and close come later."""
    known = np.vstack([np.full((1, tick.shape[1]), float(TICK_PAISE)), tick[:-1]])
    return np.where(off_grid(open_), float(FINE_TICK_PAISE), known)


def tick_paise(
    open_: npt.ArrayLike, high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, *, window: int = TICK_WINDOW
) -> FloatArray:
    """The tick each stock-day trades on, in paise: 1 where any price of the last ``window`` dates
    (the day included) is off the 0.05 grid, else 5. 2-D (T, N) panels read the window (causal);
    1-D inputs read the day alone."""
    off = off_grid(open_, high, low, close)
    if off.ndim == 2:
        off = maximum_filter1d(off.astype(np.int8), window, axis=0, mode="constant", cval=0, origin=(window - 1) // 2)
    return np.where(off > 0, float(FINE_TICK_PAISE), float(TICK_PAISE))


def _upper_paise(prev_paise: FloatArray, band: float, tick: npt.ArrayLike = TICK_PAISE) -> FloatArray:
    # prev x (100 + b) is an exact integer in paise x 100, so the floor is exact.
    t = np.asarray(tick, dtype=np.float64)
    down = np.floor(prev_paise * (100.0 + band) / (100 * t)) * t
    return np.maximum(down, prev_paise + t)


def _lower_paise(prev_paise: FloatArray, band: float, tick: npt.ArrayLike = TICK_PAISE) -> FloatArray:
    t = np.asarray(tick, dtype=np.float64)
    up = np.ceil(prev_paise * (100.0 - band) / (100 * t)) * t
    return np.maximum(np.minimum(up, prev_paise - t), t)


def _per_band(
    prev_close: npt.ArrayLike,
    band_pct: npt.ArrayLike,
    tick: npt.ArrayLike,
    price: Callable[[FloatArray, float, npt.ArrayLike], FloatArray],
) -> FloatArray:
    prev = to_paise(prev_close)
    band = np.broadcast_to(np.asarray(band_pct, dtype=np.float64), prev.shape)
    out = np.full(prev.shape, np.nan)
    for b in STANDARD_BANDS:
        out = np.where(band == b, price(prev, b, tick), out)
    return out / 100.0


def upper_band_price(
    prev_close: npt.ArrayLike, band_pct: npt.ArrayLike, *, tick: npt.ArrayLike = TICK_PAISE
) -> FloatArray:
    """Upper band price in rupees: prev x (1 + b/100) down to the tick (paise), >= prev + 1 tick. NaN
    for an unknown or non-standard band. Inputs broadcast; any shape."""
    return _per_band(prev_close, band_pct, tick, _upper_paise)


def lower_band_price(
    prev_close: npt.ArrayLike, band_pct: npt.ArrayLike, *, tick: npt.ArrayLike = TICK_PAISE
) -> FloatArray:
    """Lower band price in rupees: prev x (1 - b/100) up to the tick, <= prev - 1 tick, >= 1 tick."""
    return _per_band(prev_close, band_pct, tick, _lower_paise)


def _on_grid(paise: FloatArray, tick: npt.ArrayLike) -> BoolArray:
    with np.errstate(invalid="ignore"):
        return _remainder(paise, tick) == 0


def _lock_mask(
    close: npt.ArrayLike, extreme: npt.ArrayLike, prev_close: npt.ArrayLike, tick: npt.ArrayLike | None, *, up: bool
) -> npt.NDArray[np.uint8]:
    c, x, p = to_paise(close), to_paise(extreme), to_paise(prev_close)
    t = tick_paise(close, extreme, extreme, prev_close) if tick is None else np.asarray(tick, dtype=np.float64)
    band_price = _upper_paise if up else _lower_paise
    with np.errstate(invalid="ignore"):
        base = (c == x) & ((c > p) if up else (c < p)) & _on_grid(c, t)
        mask = np.zeros(c.shape, dtype=np.uint8)
        for i, band in enumerate(STANDARD_BANDS):
            mask |= np.where(base & (c == band_price(p, band, t)), np.uint8(1 << i), np.uint8(0))
    return mask


def upper_lock_mask(
    close: npt.ArrayLike, high: npt.ArrayLike, prev_close: npt.ArrayLike, *, tick: npt.ArrayLike | None = None
) -> npt.NDArray[np.uint8]:
    """Bit i set where the day is an upper lock at ``STANDARD_BANDS[i]`` (a penny price can match
    several bands). 0 = no lock, NaN inputs included. ``tick`` in paise (``tick_paise``); None reads
    each day's own prices. Any common shape."""
    return _lock_mask(close, high, prev_close, tick, up=True)


def lower_lock_mask(
    close: npt.ArrayLike, low: npt.ArrayLike, prev_close: npt.ArrayLike, *, tick: npt.ArrayLike | None = None
) -> npt.NDArray[np.uint8]:
    """Bit i set where the day is a lower lock at ``STANDARD_BANDS[i]`` (close == low == band price)."""
    return _lock_mask(close, low, prev_close, tick, up=False)


def is_upper_lock(
    close: npt.ArrayLike, high: npt.ArrayLike, prev_close: npt.ArrayLike, *, tick: npt.ArrayLike | None = None
) -> BoolArray:
    """The tick-aware lock flag (band-agnostic, causal). Same shape as the inputs."""
    return upper_lock_mask(close, high, prev_close, tick=tick) > 0


def is_lower_lock(
    close: npt.ArrayLike, low: npt.ArrayLike, prev_close: npt.ArrayLike, *, tick: npt.ArrayLike | None = None
) -> BoolArray:
    return lower_lock_mask(close, low, prev_close, tick=tick) > 0


def is_strict_upper(close: npt.ArrayLike, high: npt.ArrayLike, prev_close: npt.ArrayLike) -> BoolArray:
    """The strict truth: close == high (paise) and the move within 0.1 pp of a standard band."""
    c, h, p = to_paise(close), to_paise(high), to_paise(prev_close)
    with np.errstate(invalid="ignore", divide="ignore"):
        move = (c / p - 1.0) * 100.0
        near = np.zeros(c.shape, dtype=bool)
        for band in STANDARD_BANDS:
            near |= np.abs(move - band) <= STRICT_TOLERANCE_PP + 1e-9
        return (c == h) & near & (p > 0)


def day_needed_band(
    high: npt.ArrayLike, low: npt.ArrayLike, prev_close: npt.ArrayLike, *, tick: npt.ArrayLike = TICK_PAISE
) -> Int8Array:
    """Index into ``STANDARD_BANDS`` of the smallest band whose [lower, upper] prices contain the day's
    [low, high]; ``NO_INFO`` where no bar or the range is beyond every band (a corporate action, a
    listing day or an un-banded stock says nothing about the band). (T, N) -> (T, N) int8."""
    h, lo, p = to_paise(high), to_paise(low), to_paise(prev_close)
    out = np.full(h.shape, NO_INFO, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for i in reversed(range(len(STANDARD_BANDS))):
            band = STANDARD_BANDS[i]
            fits = (h <= _upper_paise(p, band, tick)) & (lo >= _lower_paise(p, band, tick))
            out = np.where(fits, np.int8(i), out)
    return out


def _window_max(values: Int8Array, window: int, *, forward: bool) -> Int8Array:
    """Max over the ``window`` rows strictly before (or after) each row; ``NO_INFO`` where none."""
    v = values.astype(np.int16)
    if forward:
        v = v[::-1]
    shifted = np.full_like(v, NO_INFO)
    shifted[1:] = v[:-1]
    out = maximum_filter1d(shifted, window, axis=0, mode="constant", cval=NO_INFO, origin=(window - 1) // 2)
    return (out[::-1] if forward else out).astype(np.int8)


def _top_band_index(mask: npt.NDArray[np.uint8]) -> Int8Array:
    """The widest band whose bit is set (a penny price matching several bands trusts the widest)."""
    top = np.full(mask.shape, NO_INFO, dtype=np.int8)
    for i in range(len(STANDARD_BANDS)):
        top = np.where(mask & (1 << i), np.int8(i), top)
    return top


def upper_lock_in_force(
    close: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    prev_close: npt.ArrayLike,
    *,
    tick: npt.ArrayLike = TICK_PAISE,
    window: int = LABEL_BAND_WINDOW,
) -> BoolArray:
    """The platform truth: a lock whose band fits the ranges of the ``window`` dates before t, or of
    those after t. Moves beyond the band on both sides mean a wider band, so a close at that band's
    price is a coincidence. (T, N) panels in, (T, N) bool out. NOT causal: labels only."""
    mask = upper_lock_mask(close, high, prev_close, tick=tick)
    need = day_needed_band(high, low, prev_close, tick=tick)
    top = _top_band_index(mask)
    before = _window_max(need, window, forward=False)
    after = _window_max(need, window, forward=True)
    return (mask > 0) & ((before <= top) | (after <= top))


def _band_index_to_pct(index: npt.ArrayLike) -> FloatArray:
    idx = np.asarray(index, dtype=np.float64)
    table = np.asarray(STANDARD_BANDS)
    out = np.full(idx.shape, np.nan)
    ok = (idx >= 0) & (idx < len(table))
    out[ok] = table[idx[ok].astype(np.int64)]
    return out


def _since_last(flag: BoolArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row of the last True at or before each row (-1 before any), and the row numbers."""
    rows = np.arange(flag.shape[0], dtype=np.int64)[:, None]
    return np.maximum.accumulate(np.where(flag, rows, -1), axis=0), rows


def _need_since(flag: BoolArray, need: Int8Array) -> Int8Array:
    """The widest needed band since the last ``flag`` (inclusive); ``NO_INFO`` before any. A running
    max of ``segment * 16 + need`` never mixes segments: a later segment always outranks an earlier."""
    segment = np.cumsum(flag, axis=0, dtype=np.int64)
    run = np.maximum.accumulate(segment * 16 + (need.astype(np.int64) + 1), axis=0)
    return np.where(segment > 0, run - segment * 16 - 1, NO_INFO).astype(np.int8)


def band_estimate(
    close: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    prev_close: npt.ArrayLike,
    *,
    tick: npt.ArrayLike = TICK_PAISE,
    known_band: npt.ArrayLike | None = None,
    upper_mask: npt.NDArray[np.uint8] | None = None,
) -> FloatArray:
    """The band in force on each day (percent), from each stock's history up to and including it.

    Causal: only rows <= t are read. ``known_band`` (T, N) from the exchanges' band files (as of each
    date; NaN = not covered, 0 = no band) overrides the estimate where present. ``upper_mask`` is the
    caller's ``upper_lock_mask`` of the same prices and tick, when it has one (the features do: the
    lock flag), so it is not computed twice. (T, N) -> (T, N), NaN where no bar or no evidence yet.
    """
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"band_estimate expects (T, N) panels, got shape {c.shape}")
    up = upper_lock_mask(close, high, prev_close, tick=tick) if upper_mask is None else upper_mask
    down = lower_lock_mask(close, low, prev_close, tick=tick)
    need = day_needed_band(high, low, prev_close, tick=tick)
    locked = (up | down) > 0
    last, rows = _since_last(locked)
    lock_band = np.take_along_axis(_top_band_index(up | down), np.maximum(last, 0), axis=0)
    recent = (last >= 0) & (rows - last <= LOCK_BAND_MEMORY)
    trust_lock = recent & (_need_since(locked, need) <= lock_band)
    context = maximum_filter1d(
        need, BAND_CONTEXT, axis=0, mode="constant", cval=NO_INFO, origin=(BAND_CONTEXT - 1) // 2
    )
    index = np.where(trust_lock, lock_band, np.where(context >= 0, context, NO_INFO))
    band = _band_index_to_pct(np.where(index >= 0, index, np.nan))
    if known_band is not None:
        known = np.broadcast_to(np.asarray(known_band, dtype=np.float64), c.shape)
        band = np.where(np.isnan(known), band, known)
    band[np.isnan(c)] = np.nan
    return band


def band_rounding_gap(close: npt.ArrayLike, band_pct: npt.ArrayLike, *, tick: npt.ArrayLike = TICK_PAISE) -> FloatArray:
    """Percentage points that tomorrow's upper band price loses to tick rounding: b - the move to it.

    Known tonight (today's close is tomorrow's previous close): 0 where the band price is a round b%,
    large below Rs 10 (close 2.10, band 5: band price 2.20 is +4.76%, a gap of 0.24 pp). It is what
    separates a lock the strict rule counts from a penny lock it misses. Any common shape.
    """
    c = to_paise(close)
    band = np.broadcast_to(np.asarray(band_pct, dtype=np.float64), c.shape)
    out = np.full(c.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for b in STANDARD_BANDS:
            out = np.where(band == b, b - (_upper_paise(c, b, tick) / c - 1.0) * 100.0, out)
    return out


def truth_flags(
    open_: npt.ArrayLike, high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, prev_close: npt.ArrayLike
) -> dict[str, BoolArray]:
    """The three (T, N) truths of "locked at the upper circuit on day t", keyed by ``TRUTHS``."""
    tick = tick_paise(open_, high, low, close)
    return {
        "platform": upper_lock_in_force(close, high, low, prev_close, tick=tick),
        "strict": is_strict_upper(close, high, prev_close),
        "lock": is_upper_lock(close, high, prev_close, tick=tick),
    }


def rolling_count(flag: npt.ArrayLike, window: int) -> FloatArray:
    """True values among the last ``window`` rows, the row itself included. (T, N) -> (T, N)."""
    counts = np.cumsum(np.asarray(flag, dtype=bool), axis=0, dtype=np.int64)
    out = counts.copy()
    out[window:] -= counts[:-window]
    return out.astype(np.float64)


def move_pct(close: npt.ArrayLike, prev_close: npt.ArrayLike) -> FloatArray:
    """Close-to-previous-close move in percent (NaN where either is missing or prev_close <= 0)."""
    c = np.asarray(close, dtype=np.float64)
    p = np.asarray(prev_close, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c / p - 1.0) * 100.0
    out[~(p > 0)] = np.nan
    return out


def next_day_label(upper_circuit: npt.ArrayLike, has_bar: npt.ArrayLike, *, horizon: int = 1) -> FloatArray:
    """Label per stock-day: 1.0 if a lock occurs within the next ``horizon`` dates.

    ``upper_circuit`` and ``has_bar`` are (T, N) booleans. Returns (T, N) float with NaN where the
    stock has no bar on t or where t + horizon runs past the last date. A stock that does not trade
    on a following date simply did not lock that day.
    """
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be between 1 and {MAX_HORIZON} trading days, got {horizon}")
    uc = np.asarray(upper_circuit, dtype=bool)
    bars = np.asarray(has_bar, dtype=bool)
    if uc.ndim != 2 or uc.shape != bars.shape:
        raise ValueError("upper_circuit and has_bar must be (T, N) arrays of the same shape")
    t_len = uc.shape[0]
    hit = np.zeros(uc.shape, dtype=bool)
    for k in range(1, horizon + 1):
        hit[: t_len - k] |= uc[k:]
    label = hit.astype(np.float64)
    label[max(t_len - horizon, 0) :] = np.nan
    label[~bars] = np.nan
    return label
