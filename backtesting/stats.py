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
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

# The day-block bootstrap of a PR-AUC difference lives with the registry, whose promotion gate uses it.

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
