"""Pure feature computation: numpy/pandas only, no Django (tests/features/test_spec.py checks it)."""

from __future__ import annotations

from features.adjust import AdjustedPanel, adjust_panel
from features.spec import (
    FEATURE_NAMES,
    FEATURE_SET_HASH,
    FEATURE_SET_VERSION,
    FEATURES,
    LOOKBACK,
    N_FEATURES,
    REQUIRED_HISTORY,
    FeatureSpec,
)
from features.vcp import FeatureCube, compute_features, features_on
from marketdata.panel import Panel

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_SET_HASH",
    "FEATURE_SET_VERSION",
    "LOOKBACK",
    "N_FEATURES",
    "REQUIRED_HISTORY",
    "AdjustedPanel",
    "FeatureCube",
    "FeatureSpec",
    "Panel",
    "adjust_panel",
    "compute_features",
    "features_on",
]
