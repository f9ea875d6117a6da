"""The 25 VCP features: names in their fixed column order, units, history, and the feature-set hash.

Everything that consumes a feature matrix (training, ONNX export, scoring, drift baselines) relies
on ``FEATURE_NAMES`` for the column order and on ``FEATURE_SET_HASH`` to refuse a model trained on
a different feature set. Change a definition in ``features/vcp.py`` -> bump ``FEATURE_SET_VERSION``.

History is counted in trading dates of the panel (rows), the day itself included: a feature with
``history = 50`` is defined on the 50th date since the stock's first bar, NaN before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from marketdata.circuits import BAND_CONTEXT, LOCK_BAND_MEMORY

FEATURE_SET_VERSION = "vcp-features/2"  # 2: circuit history on the tick-aware lock flag (issue 10)

# Window lengths, in trading dates.
SMA_WINDOW = 50
YEAR = 252
ATR_FAST, ATR_SLOW = 10, 50
BB_WINDOW = 20
BB_RANK_WINDOW = 120
CONTRACTION_SEGMENT = 15
CONTRACTION_SEGMENTS = 4
TIGHT_WINDOW = 10
VOLUME_FAST, VOLUME_SLOW = 10, 50
RETURN_WINDOW = 20
RS_WINDOW = 63
LOCK_SHORT, LOCK_LONG = 20, 60
STRICT_SHORT, STRICT_LONG = 5, 20
DAYS_SINCE_CAP = 250
TRADED_VALUE_WINDOW = 20


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    family: str
    unit: str
    history: int
    description: str


# Chosen on the 2021 validation year of the real NSE data (docs/features.md, "Feature selection"):
# the trend and contraction features that carried under 1% of the gain each were dropped, except the
# two classic VCP contraction measures; the circuit history is rebuilt on the lock flag, and the
# strict-lock history and the band's rounding gap were added.
FEATURES: tuple[FeatureSpec, ...] = (
    # Trend
    FeatureSpec("close_sma50", "trend", "ratio", 50, "close / SMA50(close) - 1"),
    FeatureSpec("dist_high252", "trend", "ratio", 252, "close / max(high, 252 dates) - 1 (<= 0)"),
    FeatureSpec("dist_low252", "trend", "ratio", 252, "close / min(low, 252 dates) - 1 (>= 0)"),
    # Volatility contraction
    FeatureSpec("atr_ratio_10_50", "contraction", "ratio", 50, "mean true range 10 dates / mean true range 50"),
    FeatureSpec("bbw_pctile120", "contraction", "fraction 0-1", 139, "share of the previous 119 BBW(20) below today's"),
    FeatureSpec("contraction_max_depth", "contraction", "fraction 0-1", 60, "deepest of the four 15-date depths"),
    FeatureSpec("range_tight10", "contraction", "ratio", 10, "(max high - min low) over 10 dates / close"),
    # Volume
    FeatureSpec("volume_dryup_10_50", "volume", "ratio", 50, "mean volume 10 dates / mean volume 50 dates"),
    FeatureSpec("volume_surge_50", "volume", "ratio", 50, "volume today / mean volume 50 dates"),
    # Momentum and relative strength
    FeatureSpec("return_1d", "momentum", "ratio", 1, "close / prev_close - 1 (prev_close adjusted on action days)"),
    FeatureSpec("return_20d", "momentum", "ratio", 21, "close / close 20 dates ago - 1"),
    FeatureSpec("rs_rank63", "momentum", "fraction 0-1", 64, "63-date return's percentile rank among the day's stocks"),
    FeatureSpec("close_location", "momentum", "fraction 0-1", 1, "(close - low) / (high - low); NaN if high == low"),
    # Circuit history, on the tick-aware lock flag (marketdata.circuits.is_upper_lock)
    FeatureSpec("lock_count20", "circuit", "count", 20, "upper locks in the last 20 dates, today included"),
    FeatureSpec("lock_count60", "circuit", "count", 60, "upper locks in the last 60 dates, today included"),
    FeatureSpec("days_since_lock", "circuit", "dates 0-250", 1, "dates since the last upper lock (0 = today)"),
    FeatureSpec("strict_count5", "circuit", "count", 5, "strict upper circuits in the last 5 dates, today included"),
    FeatureSpec("strict_count20", "circuit", "count", 20, "strict upper circuits in the last 20 dates"),
    FeatureSpec("days_since_strict", "circuit", "dates 0-250", 1, "dates since the last strict upper circuit"),
    # The band, estimated causally (an exchange band file overrides it)
    FeatureSpec("band_pct", "band", "percent", 1, "band in force today (2/5/10/20; 0 = no band)"),
    FeatureSpec("band_distance", "band", "ratio", 1, "today's upper band price / close - 1 (~0 at a lock)"),
    FeatureSpec("band_rounding_gap", "band", "pp", 1, "pp tomorrow's band price loses to tick rounding"),
    FeatureSpec("band5_rounding_gap", "band", "pp", 1, "the same gap for a 5% band"),
    # Liquidity and price level
    FeatureSpec("log_traded_value20", "liquidity", "ln rupees", 20, "ln(1 + mean(close x volume) over 20 dates)"),
    FeatureSpec("log_close", "liquidity", "ln rupees", 1, "ln(raw close): the unadjusted price level"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
# The circuit-history features (locks and strict circuits counted back from today): what a model
# "without circuit history" leaves out, and what monitoring's injected degradation blanks.
CIRCUIT_HISTORY: tuple[str, ...] = tuple(f.name for f in FEATURES if f.family == "circuit")
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
N_FEATURES = len(FEATURE_NAMES)

# Trading dates of bars a stock needs, the day itself included, before every feature is defined.
REQUIRED_HISTORY: int = max(f.history for f in FEATURES)

# Rows `features_on` keeps so its values equal `compute_features` on the full panel: the longest
# window (dist_high252), days_since_* reading DAYS_SINCE_CAP dates back, and the band estimate
# reading the last lock up to LOCK_BAND_MEMORY dates back plus BAND_CONTEXT dates of ranges.
LOOKBACK: int = max(REQUIRED_HISTORY, DAYS_SINCE_CAP + 1, LOCK_BAND_MEMORY + BAND_CONTEXT + 1)

FEATURE_SET_HASH: str = hashlib.sha256("\n".join((FEATURE_SET_VERSION, *FEATURE_NAMES)).encode()).hexdigest()
