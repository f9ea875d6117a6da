"""Realised model performance over a window of past predictions, and the degradation rule.

Pure numpy, no Django. Every array is 1-D with one entry per scored stock-day of the window:
``y_true`` the realised label (0/1), ``decisions`` the model's thresholded call (0/1),
``probabilities`` calibrated probabilities in [0, 1], ``hit_today`` whether the stock was already
at its upper circuit on the prediction day, ``day`` an integer or date key per row.

Circuits come in streaks, so a model that repeats "it hit today" looks good on F1; realised figures
are therefore also reported for *new* circuits (rows with ``hit_today`` False) when that mask is given.

The degradation *decision* lives in ``monitoring.lift`` (lift over "hit today", issue 11): realised
F1 moves with the market, so it is reported here and on the dashboard but decides nothing.

Estimated F1 (no labels yet)
    From calibrated probabilities through the expected confusion matrix:
    ``E[TP] = sum p`` over predicted positives, ``E[FP] = sum (1 - p)`` over predicted positives,
    ``E[FN] = sum p`` over predicted negatives, and ``F1 = 2 E[TP] / (2 E[TP] + E[FP] + E[FN])``.
    It is a ratio of expectations, not the expected F1, and it is only as good as the calibration:
    an *estimate*, never a substitute for the realised figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

DEFAULT_TOP_K = 20


class DegradationAction(StrEnum):
    NONE = "none"
    ALERT = "alert"
    ROLLBACK = "rollback"

    @property
    def level(self) -> int:
        """0, 1, 2: what the ``vcp_model_degradation_action`` gauge exports."""
        return _ACTION_ORDER.index(self)


_ACTION_ORDER: tuple[DegradationAction, ...] = (
    DegradationAction.NONE,
    DegradationAction.ALERT,
    DegradationAction.ROLLBACK,
)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


@dataclass(frozen=True)
class ClassificationCounts:
    """A confusion matrix; precision, recall and F1 are 0.0 where undefined (scikit-learn's zero_division=0)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


@dataclass(frozen=True)
class WindowPerformance:
    overall: ClassificationCounts
    new_circuits: ClassificationCounts | None  # rows not at a circuit on the prediction day; None without the mask


@dataclass(frozen=True)
class EstimatedPerformance:
    """Expected confusion matrix from calibrated probabilities: an estimate, not a measurement."""

    expected_tp: float
    expected_fp: float
    expected_fn: float
    n: int
    is_estimate: bool = True

    @property
    def precision(self) -> float:
        return _ratio(self.expected_tp, self.expected_tp + self.expected_fp)

    @property
    def recall(self) -> float:
        return _ratio(self.expected_tp, self.expected_tp + self.expected_fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.expected_tp, 2 * self.expected_tp + self.expected_fp + self.expected_fn)


def _binary(values: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1")
    return arr.astype(bool)


def classification_counts(y_true: npt.ArrayLike, decisions: npt.ArrayLike) -> ClassificationCounts:
    """Confusion matrix of 0/1 ``decisions`` (n,) against 0/1 ``y_true`` (n,)."""
    y = _binary(y_true, "y_true")
    d = _binary(decisions, "decisions")
    if y.shape != d.shape:
        raise ValueError(f"y_true {y.shape} and decisions {d.shape} differ in length")
    tp = int(np.count_nonzero(y & d))
    fp = int(np.count_nonzero(~y & d))
    fn = int(np.count_nonzero(y & ~d))
    return ClassificationCounts(tp=tp, fp=fp, fn=fn, tn=len(y) - tp - fp - fn)


def realised_performance(
    y_true: npt.ArrayLike, decisions: npt.ArrayLike, *, hit_today: npt.ArrayLike | None = None
) -> WindowPerformance:
    """Realised precision, recall and F1 over the window, and on new circuits when ``hit_today`` is given."""
    overall = classification_counts(y_true, decisions)
    new = None
    if hit_today is not None:
        fresh = ~_binary(hit_today, "hit_today")
        if len(fresh) != overall.n:
            raise ValueError("hit_today differs in length from y_true")
        new = classification_counts(np.asarray(y_true)[fresh], np.asarray(decisions)[fresh])
    return WindowPerformance(overall=overall, new_circuits=new)


def precision_at_k_per_day(
    scores: npt.ArrayLike, y_true: npt.ArrayLike, day: npt.ArrayLike, *, k: int = DEFAULT_TOP_K
) -> float:
    """Mean over days of the share of positives among each day's ``k`` highest ``scores`` (n,).
    A day with fewer than ``k`` rows is scored over the rows it has; NaN for an empty window."""
    s = np.asarray(scores, dtype=np.float64)
    y = _binary(y_true, "y_true")
    days = np.asarray(day)
    if not (len(s) == len(y) == len(days)):
        raise ValueError("scores, y_true and day differ in length")
    if len(s) == 0:
        return float("nan")
    if k < 1:
        raise ValueError("k must be >= 1")
    _, day_idx = np.unique(days, return_inverse=True)
    # Rows sorted by day, then by descending score; the rank within each day follows from the day starts.
    order = np.lexsort((-s, day_idx))
    sorted_days = day_idx[order]
    starts = np.searchsorted(sorted_days, sorted_days, side="left")
    rank = np.arange(len(order)) - starts
    top = rank < k
    n_days = int(sorted_days.max()) + 1
    hits = np.bincount(sorted_days[top], weights=y[order][top].astype(np.float64), minlength=n_days)
    taken = np.bincount(sorted_days[top], minlength=n_days)
    return float(np.mean(hits / taken))


def estimated_performance(probabilities: npt.ArrayLike, decisions: npt.ArrayLike) -> EstimatedPerformance:
    """Label-free estimate of precision, recall and F1 from calibrated ``probabilities`` (n,)."""
    p = np.asarray(probabilities, dtype=np.float64)
    d = _binary(decisions, "decisions")
    if p.shape != d.shape:
        raise ValueError(f"probabilities {p.shape} and decisions {d.shape} differ in length")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return EstimatedPerformance(
        expected_tp=float(p[d].sum()),
        expected_fp=float((1.0 - p[d]).sum()),
        expected_fn=float(p[~d].sum()),
        n=len(p),
    )


def relative_f1_drop(realised_f1: float, reference_f1: float) -> float | None:
    """``(reference - realised) / reference``: positive when the model got worse; None for a zero reference."""
    if reference_f1 <= 0.0:
        return None
    return (reference_f1 - realised_f1) / reference_f1
