"""Statistical comparisons of models: McNemar's test, a day-block bootstrap of the PR-AUC difference, and
a trend test of a metric over walk-forward folds.

Pure numpy/scipy/statsmodels, no Django. Inputs are 1-D arrays with one element per stock-day
(``y_true`` 0/1, decisions 0/1, scores in [0, 1]) or per fold (metric values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Below this many discordant pairs the chi-square approximation is poor, so the exact binomial is used.
EXACT_BELOW_DISCORDANT = 25


@dataclass(frozen=True)
class McNemarResult:
    """``table`` rows: model A right / wrong; columns: model B right / wrong (counts of stock-days)."""

    table: IntArray
    statistic: float
    pvalue: float
    exact: bool
    verdict: str


def mcnemar_compare(
    *, y_true: npt.ArrayLike, pred_a: npt.ArrayLike, pred_b: npt.ArrayLike, alpha: float = 0.05
) -> McNemarResult:
    """McNemar's test of two models' 0/1 decisions against the truth on the same stock-days.

    Exact binomial test when the discordant pairs number fewer than 25, otherwise chi-square with
    continuity correction (``statsmodels.stats.contingency_tables.mcnemar``). The statistic is the
    smaller discordant count for the exact test and the chi-square otherwise.
    """
    y = np.asarray(y_true).astype(bool).ravel()
    a_right = np.asarray(pred_a).astype(bool).ravel() == y
    b_right = np.asarray(pred_b).astype(bool).ravel() == y
    if not a_right.shape == b_right.shape == y.shape:
        raise ValueError("y_true, pred_a and pred_b must have the same length")
    table = np.array(
        [
            [np.sum(a_right & b_right), np.sum(a_right & ~b_right)],
            [np.sum(~a_right & b_right), np.sum(~a_right & ~b_right)],
        ],
        dtype=np.int64,
    )
    only_a, only_b = int(table[0, 1]), int(table[1, 0])
    exact = only_a + only_b < EXACT_BELOW_DISCORDANT
    result = mcnemar(table, exact=exact, correction=True)
    pvalue = float(result.pvalue)
    split = (
        f"of {only_a + only_b} stock-days where exactly one model was right, A was right on {only_a} and B on {only_b}."
    )
    if only_a + only_b == 0:
        verdict = "The two models made the same right and wrong calls on every stock-day: no difference to test."
    elif pvalue < alpha:
        better = "A" if only_a > only_b else "B"
        verdict = f"Model {better} is right significantly more often (p = {pvalue:.3g} < {alpha}): {split}"
    else:
        verdict = f"No significant difference (p = {pvalue:.3g} >= {alpha}): {split}"
    return McNemarResult(table=table, statistic=float(result.statistic), pvalue=pvalue, exact=exact, verdict=verdict)


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


@dataclass(frozen=True)
class TrendResult:
    """Trend of a per-fold metric against the fold index: OLS slope (per fold) and Kendall's tau."""

    n_folds: int
    slope: float
    slope_pvalue: float
    tau: float
    tau_pvalue: float
    degrading: bool
    verdict: str


def fold_trend(values: npt.ArrayLike, *, alpha: float = 0.05, metric: str = "F1") -> TrendResult:
    """Does ``metric`` fall over the walk-forward folds (in order)? Folds with NaN are left out.

    The verdict follows Kendall's tau (rank-based, so one bad month cannot make a trend); the
    regression slope gives its size. ``degrading`` is a significant negative tau.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    x = np.arange(v.size, dtype=np.float64)
    keep = ~np.isnan(v)
    x, v = x[keep], v[keep]
    if v.size < 3:
        raise ValueError(f"a trend needs at least 3 folds with a {metric}, got {v.size}")
    reg = stats.linregress(x, v)
    kendall = stats.kendalltau(x, v)
    tau, tau_p = float(kendall.statistic), float(kendall.pvalue)
    if np.isnan(tau):  # a constant metric has no rank order
        tau, tau_p = 0.0, 1.0
    degrading = tau < 0 and tau_p < alpha
    direction = "falls" if reg.slope < 0 else "rises"
    if tau_p < alpha:
        verdict = (
            f"{metric} {direction} over the {v.size} folds by {abs(reg.slope):.4f} per fold "
            f"(Kendall tau {tau:+.2f}, p = {tau_p:.3g})" + (": the model is degrading." if degrading else ".")
        )
    else:
        verdict = f"No significant trend in {metric} over the {v.size} folds (Kendall tau {tau:+.2f}, p = {tau_p:.3g})."
    return TrendResult(
        n_folds=int(v.size),
        slope=float(reg.slope),
        slope_pvalue=float(reg.pvalue),
        tau=tau,
        tau_pvalue=tau_p,
        degrading=bool(degrading),
        verdict=verdict,
    )


@dataclass(frozen=True)
class FoldSummary:
    """Mean and sample standard deviation of a per-fold metric, its consistency and its trend.

    ``consistency`` is the share of folds with the metric at or above ``target``; NaN folds count as
    below it (a fold that produced no metric did not reach the target). ``trend`` is None with fewer
    than 3 folds with a value.
    """

    metric: str
    n_folds: int
    n_with_value: int
    mean: float
    std: float
    minimum: float
    maximum: float
    target: float
    above_target: int
    consistency: float
    trend: TrendResult | None


def summarise_folds(values: npt.ArrayLike, *, target: float = 0.65, metric: str = "F1") -> FoldSummary:
    """Summary of ``values`` (one per fold, in fold order; NaN where a fold has none)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    known = v[~np.isnan(v)]
    above = int(np.sum(known >= target))
    return FoldSummary(
        metric=metric,
        n_folds=int(v.size),
        n_with_value=int(known.size),
        mean=float(known.mean()) if known.size else math.nan,
        std=float(known.std(ddof=1)) if known.size > 1 else math.nan,
        minimum=float(known.min()) if known.size else math.nan,
        maximum=float(known.max()) if known.size else math.nan,
        target=float(target),
        above_target=above,
        consistency=above / v.size if v.size else math.nan,
        trend=fold_trend(v, metric=metric) if known.size >= 3 else None,
    )
