"""Upper- and lower-circuit rules, price bands and the prediction label: defined here only.

Pure numpy, no Django: ``features/`` and ``backtesting/`` import this module too.

Arrays are either 1-D (one value per stock-day) or 2-D panels shaped ``(T dates, N stocks)`` with
NaN where a stock has no bar. Prices are rupees, bands are percents (2, 5, 10, 20).

Band price
    ``prev_close * (1 + band/100)`` rounded *down* to the 0.05 tick for the upper band, *up* for
    the lower band, so the band never exceeds the percentage. On the real 2015-2022 NSE data,
    rounding down matches 95-99% of 5/10/20% locks; rounding to nearest matched only 61-70%.
    Prices are converted to integer paise first so the rounding is exact.

Upper circuit
    ``close == high``, ``close > prev_close``, and the close within one tick of the upper band
    price, the tolerance capped at 0.5% of the previous close. The cap matters below Rs 10, where a
    tick is a large share of the price: without it a Rs 1 stock's flat close lies "within one tick"
    of its 5% band price, and 22% of all flags on the real 2015-2022 data were such penny-stock artefacts.

Band inference (data without a band file)
    The band in force on day t is the smallest standard band (2/5/10/20) that is at least the
    largest absolute close-to-prev_close move over the last ``window`` trading days up to and
    including t (60 by default). Moves beyond 20.5% cannot happen inside any band, so they are
    corporate actions (splits, bonuses) or un-banded stocks and are ignored. A band from the
    exchange's band file, or set manually, overrides the inference. Only days <= t are used, so the
    rule is causal; it can miss a band cut (a 20% stock moved to 5% keeps reading 20% until its
    big moves leave the window) and it can read a 10%-band stock that locked at exactly +5% as a
    5%-band lock: both are rare and documented in docs/circuits.md.

Label
    ``label[t] = 1`` when the stock hits its upper circuit on any of the next ``horizon`` trading
    days (dates of the panel), 0 when it trades without one, NaN when those days are beyond the
    data (the last ``horizon`` dates) or the stock has no bar on day t.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TICK = 0.05
STANDARD_BANDS: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0)
MAX_BAND = 20.0
CORPORATE_ACTION_MOVE_PCT = 20.5
DEFAULT_BAND_WINDOW = 60
MAX_HORIZON = 5

MAX_TOLERANCE_FRACTION = 0.005
_TICK_PAISE = 5
# Prices compare equal when they are the same in paise; the slack absorbs float noise only.
_PRICE_EQ = 0.001


def _to_paise(price: npt.ArrayLike) -> FloatArray:
    return np.round(np.asarray(price, dtype=np.float64) * 100.0)


def upper_band_price(prev_close: npt.ArrayLike, band_pct: npt.ArrayLike) -> FloatArray:
    """Upper band price: prev_close x (1 + band/100), rounded down to the 0.05 tick."""
    prev = _to_paise(prev_close)
    band = np.asarray(band_pct, dtype=np.float64)
    # Paise x (100 + band) is an exact integer for integer bands, so floor() is exact too.
    raw = prev * (100.0 + band) / 100.0
    return np.floor(np.round(raw, 6) / _TICK_PAISE) * _TICK_PAISE / 100.0


def lower_band_price(prev_close: npt.ArrayLike, band_pct: npt.ArrayLike) -> FloatArray:
    """Lower band price: prev_close x (1 - band/100), rounded up to the 0.05 tick."""
    prev = _to_paise(prev_close)
    band = np.asarray(band_pct, dtype=np.float64)
    raw = prev * (100.0 - band) / 100.0
    return np.ceil(np.round(raw, 6) / _TICK_PAISE) * _TICK_PAISE / 100.0


def _tolerance(prev_close: npt.ArrayLike) -> FloatArray:
    """One tick, but never more than 0.5% of the previous close.

    Below Rs 10 a tick is more than 0.5% of the price, and for a Rs 1 stock it is 5%: a flat close
    would sit "within one tick" of a 5% band. Those stocks must hit the band price exactly.
    """
    prev = np.asarray(prev_close, dtype=np.float64)
    return np.minimum(TICK, MAX_TOLERANCE_FRACTION * prev) + _PRICE_EQ


def _near_band(price: FloatArray, target: FloatArray, prev_close: npt.ArrayLike) -> BoolArray:
    with np.errstate(invalid="ignore"):
        return np.abs(price - target) <= _tolerance(prev_close)


def is_upper_circuit(
    close: npt.ArrayLike, high: npt.ArrayLike, prev_close: npt.ArrayLike, band_pct: npt.ArrayLike
) -> BoolArray:
    """True where the day closed at its high and within one tick of the upper band price.

    NaN in any input (no bar, no band) gives False.
    """
    c = np.asarray(close, dtype=np.float64)
    h = np.asarray(high, dtype=np.float64)
    target = upper_band_price(prev_close, band_pct)
    with np.errstate(invalid="ignore"):
        at_high = np.abs(c - h) <= _PRICE_EQ
        moved_up = c > np.asarray(prev_close, dtype=np.float64) + _PRICE_EQ
    return at_high & moved_up & _near_band(c, target, prev_close)


def is_lower_circuit(
    close: npt.ArrayLike, low: npt.ArrayLike, prev_close: npt.ArrayLike, band_pct: npt.ArrayLike
) -> BoolArray:
    """True where the day closed at its low and within one tick of the lower band price."""
    c = np.asarray(close, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    target = lower_band_price(prev_close, band_pct)
    with np.errstate(invalid="ignore"):
        at_low = np.abs(c - lo) <= _PRICE_EQ
        moved_down = c < np.asarray(prev_close, dtype=np.float64) - _PRICE_EQ
    return at_low & moved_down & _near_band(c, target, prev_close)


def is_at_upper_band(price: npt.ArrayLike, prev_close: npt.ArrayLike, band_pct: npt.ArrayLike) -> BoolArray:
    """True where a price (e.g. an open) sits at the upper band price: a locked open."""
    return _near_band(np.asarray(price, dtype=np.float64), upper_band_price(prev_close, band_pct), prev_close)


def move_pct(close: npt.ArrayLike, prev_close: npt.ArrayLike) -> FloatArray:
    """Close-to-previous-close move in percent (NaN where either is missing or prev_close <= 0)."""
    c = np.asarray(close, dtype=np.float64)
    p = np.asarray(prev_close, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c / p - 1.0) * 100.0
    out[~(p > 0)] = np.nan
    return out


def smallest_band_covering(move_abs_pct: npt.ArrayLike) -> FloatArray:
    """The smallest standard band >= the given absolute move (20 when beyond; NaN stays NaN)."""
    m = np.asarray(move_abs_pct, dtype=np.float64)
    out = np.full(m.shape, MAX_BAND)
    # Walk bands from widest to narrowest so the narrowest covering band wins.
    for band in reversed(STANDARD_BANDS):
        with np.errstate(invalid="ignore"):
            out = np.where(m <= band + 1e-9, band, out)
    out[np.isnan(m)] = np.nan
    return out


def infer_band(
    close: npt.ArrayLike,
    prev_close: npt.ArrayLike,
    *,
    window: int = DEFAULT_BAND_WINDOW,
    known_band: npt.ArrayLike | None = None,
) -> FloatArray:
    """Band in force per stock-day, from each stock's own history up to and including that day.

    ``close``/``prev_close`` are (T, N) panels. ``known_band`` (same shape, or (N,)) holds bands from
    an exchange file or set manually; NaN there means "infer". Returns (T, N) percents, NaN before a
    stock's first bar.
    """
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"infer_band expects (T, N) panels, got shape {c.shape}")
    moves = np.abs(move_pct(c, prev_close))
    moves[moves > CORPORATE_ACTION_MOVE_PCT] = np.nan
    has_bar = ~np.isnan(c)
    # A day with a bar but an ignored move still counts as "seen" with a zero move.
    moves = np.where(has_bar & np.isnan(moves), 0.0, moves)
    # A trailing max over ``window`` rows: maximum_filter1d is centred, so shift its origin back.
    # -inf stands for "no bar"; those cells are set to NaN below anyway.
    filled = np.where(np.isnan(moves), -np.inf, moves)
    rolling_max = maximum_filter1d(filled, size=window, axis=0, mode="constant", cval=-np.inf, origin=(window - 1) // 2)
    band = smallest_band_covering(rolling_max)
    band[~has_bar] = np.nan
    if known_band is not None:
        known = np.broadcast_to(np.asarray(known_band, dtype=np.float64), c.shape)
        band = np.where(np.isnan(known), band, known)
        band[~has_bar] = np.nan
    return band


def upper_circuit_panel(
    close: npt.ArrayLike,
    high: npt.ArrayLike,
    prev_close: npt.ArrayLike,
    *,
    band: npt.ArrayLike | None = None,
    window: int = DEFAULT_BAND_WINDOW,
) -> BoolArray:
    """(T, N) upper-circuit flags; bands inferred causally where ``band`` is None or NaN."""
    inferred = infer_band(close, prev_close, window=window, known_band=band)
    return is_upper_circuit(close, high, prev_close, inferred)


def next_day_label(upper_circuit: npt.ArrayLike, has_bar: npt.ArrayLike, *, horizon: int = 1) -> FloatArray:
    """Label per stock-day: 1.0 if an upper circuit occurs within the next ``horizon`` dates.

    ``upper_circuit`` and ``has_bar`` are (T, N) booleans. Returns (T, N) float with NaN where the
    stock has no bar on t or where t + horizon runs past the last date. A stock that does not trade
    on a following date simply did not hit a circuit that day.
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
