"""Is one ranking better than another? A paired day-block bootstrap of a PR-AUC difference.

Pure (numpy/pandas). Rows are stock-days; ``days`` groups them into trading days. The promotion
gate (a challenger's lift over "hit today") and ``compare_models`` (two models) both use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class _SortedAP:
    """Average precision (sklearn's step-wise PR-AUC) of one score vector under per-day weights.

    The rows are sorted once. A resample only changes how many times each day counts, and the PR
    curve only gains recall at steps holding a positive, so each call is one cumulative sum of the
    day weights over all rows plus arithmetic over the positives.
    """

    def __init__(self, y: FloatArray, score: FloatArray, day_codes: IntArray) -> None:
        order = np.argsort(-score, kind="stable")
        s = score[order]
        self.days = day_codes[order]
        # Tied scores form one step of the curve, ending at the group's last row.
        step_ends = np.append(np.flatnonzero(np.diff(s) != 0), s.size - 1)
        positives = np.flatnonzero(y[order] > 0)
        group = np.searchsorted(step_ends, positives)
        last_in_group = np.append(group[1:] != group[:-1], True)
        self.positive_days = self.days[positives]
        self.last_in_group = last_in_group
        self.step_end = step_ends[group[last_in_group]]

    def __call__(self, day_weights: FloatArray) -> float:
        if self.positive_days.size == 0:
            return math.nan
        tps = np.cumsum(day_weights[self.positive_days])[self.last_in_group]
        if tps[-1] <= 0:
            return math.nan
        seen = np.cumsum(day_weights[self.days])[self.step_end]
        gained = np.diff(tps, prepend=0.0)
        precision = np.divide(tps, seen, out=np.zeros_like(tps), where=seen > 0)
        return float(np.sum(gained * precision) / tps[-1])


@dataclass(frozen=True)
class BootstrapResult:
    """PR-AUC (average precision) of A and B, their difference A - B, and its percentile interval."""

    pr_auc_a: float
    pr_auc_b: float
    difference: float
    low: float
    high: float
    confidence: float
    n_boot: int
    n_days: int
    verdict: str


def pr_auc_difference_ci(
    *,
    y_true: npt.ArrayLike,
    score_a: npt.ArrayLike,
    score_b: npt.ArrayLike,
    days: npt.ArrayLike,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> BootstrapResult:
    """Paired bootstrap interval of PR-AUC(A) - PR-AUC(B), resampling whole days.

    Stock-days of one date share the market's mood (circuits come in waves), so rows are not
    independent; drawing days with replacement keeps each day's rows together. Both models see the
    same resampled days (paired). A resample whose days hold no positive is dropped.
    """
    y = np.asarray(y_true, dtype=np.float64).ravel()
    a = np.asarray(score_a, dtype=np.float64).ravel()
    b = np.asarray(score_b, dtype=np.float64).ravel()
    day_codes, uniq = pd.factorize(np.asarray(days).ravel(), sort=True)
    if not y.shape == a.shape == b.shape == day_codes.shape:
        raise ValueError("y_true, score_a, score_b and days must have the same length")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("scores must not contain NaN")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must be 0/1")
    codes = day_codes.astype(np.int64)
    ap_a, ap_b = _SortedAP(y, a, codes), _SortedAP(y, b, codes)
    n_days = len(uniq)
    ones = np.ones(n_days)
    observed_a, observed_b = ap_a(ones), ap_b(ones)
    rng = np.random.default_rng(seed)
    diffs = np.full(n_boot, np.nan)
    for i in range(n_boot):
        multiplicity = np.bincount(rng.integers(0, n_days, n_days), minlength=n_days).astype(np.float64)
        diffs[i] = ap_a(multiplicity) - ap_b(multiplicity)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = (float(v) for v in np.nanpercentile(diffs, [tail, 100.0 - tail]))
    diff = observed_a - observed_b
    if low > 0 or high < 0:
        better = "A" if diff > 0 else "B"
        verdict = (
            f"Model {better} ranks better: PR-AUC difference A - B = {diff:+.4f}, "
            f"{confidence:.0%} interval [{low:+.4f}, {high:+.4f}] excludes 0 ({n_days} days resampled)."
        )
    else:
        verdict = (
            f"No clear difference: PR-AUC difference A - B = {diff:+.4f}, "
            f"{confidence:.0%} interval [{low:+.4f}, {high:+.4f}] includes 0 ({n_days} days resampled)."
        )
    return BootstrapResult(
        pr_auc_a=observed_a,
        pr_auc_b=observed_b,
        difference=diff,
        low=low,
        high=high,
        confidence=confidence,
        n_boot=int(np.sum(~np.isnan(diffs))),
        n_days=n_days,
        verdict=verdict,
    )
