"""The rankings one model serves, derived from its probability and the row's own features.

Pure (numpy). The model estimates P(locked at the upper circuit of the band in force tomorrow) (the
platform's label). Two more rankings follow from known-tonight facts, with no second model:

- **New circuits** (``new_circuit_probability``): the same probability for stocks NOT locked today
  (``days_since_lock != 0``), NaN for the others, and a decision threshold chosen on the new-circuit
  rows of the validation period. It separates fresh candidates from streak continuations. A second
  model trained on those rows alone did no better on the 2021 validation year (docs/model-card.md).
- **Strict-eligible** (``strict_probability``): the probability where tomorrow's band price is within
  ``STRICT_GAP_PP`` of a round 2/5/10/20% move (``band_rounding_gap``), else 0. The strict truth only
  counts such locks, so this is the model's estimate of a strict lock tomorrow.

Arrays are (R,) per row; ``features`` is (R, F) in ``feature_names`` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from marketdata.circuits import STRICT_TOLERANCE_PP

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

STRICT_GAP_PP = STRICT_TOLERANCE_PP
LOCKED_TODAY_FEATURE = "days_since_lock"
ROUNDING_GAP_FEATURE = "band_rounding_gap"


@dataclass(frozen=True)
class Rankings:
    probability: FloatArray  # (R,) calibrated P(lock tomorrow)
    decision: BoolArray  # (R,) probability >= threshold
    new_circuit_probability: FloatArray  # (R,) NaN where the stock is locked today
    new_circuit_decision: BoolArray  # (R,) False where locked today
    strict_probability: FloatArray  # (R,) 0 where a lock tomorrow would not be a round move


def _column(features: npt.ArrayLike, feature_names: Sequence[str], name: str) -> FloatArray | None:
    x = np.asarray(features, dtype=np.float64)
    return x[:, list(feature_names).index(name)] if name in feature_names else None


def locked_today(features: npt.ArrayLike, feature_names: Sequence[str]) -> BoolArray:
    """(R,) the stock closed locked at its upper circuit on the row's day. A model whose feature set
    lacks ``days_since_lock`` (a feature-set variant) knows no lock: every stock is a candidate."""
    days = _column(features, feature_names, LOCKED_TODAY_FEATURE)
    return np.zeros(len(np.asarray(features)), dtype=bool) if days is None else days == 0


def strict_eligible(features: npt.ArrayLike, feature_names: Sequence[str]) -> BoolArray:
    """(R,) tomorrow's band price is within ``STRICT_GAP_PP`` of a round band move (NaN: not eligible).
    Without ``band_rounding_gap`` in the feature set nothing can be excluded: every row is eligible."""
    gap = _column(features, feature_names, ROUNDING_GAP_FEATURE)
    if gap is None:
        return np.ones(len(np.asarray(features)), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(gap, nan=np.inf) <= STRICT_GAP_PP + 1e-9


def rankings_of(
    probability: npt.ArrayLike,
    features: npt.ArrayLike,
    feature_names: Sequence[str],
    *,
    threshold: float,
    new_circuit_threshold: float,
) -> Rankings:
    p = np.asarray(probability, dtype=np.float64)
    locked = locked_today(features, feature_names)
    fresh = np.where(locked, np.nan, p)
    return Rankings(
        probability=p,
        decision=p >= threshold,
        new_circuit_probability=fresh,
        new_circuit_decision=~locked & (p >= new_circuit_threshold),
        strict_probability=np.where(strict_eligible(features, feature_names), p, 0.0),
    )
