from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar

from backtesting.stats import fold_trend, mcnemar_compare, summarise_folds


def decisions_for(table: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth and two models' decisions whose right/wrong table is ``table`` (rows A, columns B)."""
    y, a, b = [], [], []
    for a_right, row in ((True, table[0]), (False, table[1])):
        for b_right, count in zip((True, False), row, strict=True):
            y += [1] * count
            a += [1 if a_right else 0] * count
            b += [1 if b_right else 0] * count
    return np.array(y), np.array(a), np.array(b)


def test_mcnemar_uses_chi_square_with_correction_for_many_discordant_pairs() -> None:
    table = [[50, 30], [10, 10]]
    result = mcnemar_compare(**dict(zip(("y_true", "pred_a", "pred_b"), decisions_for(table), strict=True)))
    np.testing.assert_array_equal(result.table, table)
    assert not result.exact
    assert result.statistic == pytest.approx((abs(30 - 10) - 1) ** 2 / 40)  # 9.025
    assert result.pvalue == pytest.approx(sps.chi2.sf(9.025, 1))
    reference = mcnemar(np.array(table), exact=False, correction=True)
    assert result.pvalue == pytest.approx(reference.pvalue)
    assert result.verdict.startswith("Model A is right significantly more often")


def test_mcnemar_uses_the_exact_binomial_below_25_discordant_pairs() -> None:
    table = [[5, 8], [2, 3]]
    y, a, b = decisions_for(table)
    result = mcnemar_compare(y_true=y, pred_a=a, pred_b=b)
    assert result.exact
    assert result.statistic == 2
    assert result.pvalue == pytest.approx(2 * (1 + 10 + 45) / 1024)  # two-sided P(X <= 2), n = 10
    assert result.pvalue == pytest.approx(mcnemar(np.array(table), exact=True).pvalue)
    assert result.verdict.startswith("No significant difference")


def test_mcnemar_with_identical_models_has_nothing_to_test() -> None:
    y = np.array([1, 0, 1, 0])
    result = mcnemar_compare(y_true=y, pred_a=[1, 0, 0, 0], pred_b=[1, 0, 0, 0])
    assert result.pvalue == pytest.approx(1.0)
    assert "no difference to test" in result.verdict


def test_trend_test_flags_a_steady_decline() -> None:
    f1 = 0.5 - 0.01 * np.arange(12)
    result = fold_trend(f1)
    assert result.slope == pytest.approx(-0.01)
    assert result.tau == pytest.approx(-1.0)
    assert result.tau_pvalue == pytest.approx(2 / math.factorial(12))  # exact: only one of 12! orders is as extreme
    assert result.degrading
    assert result.verdict.endswith("the model is degrading.")


def test_trend_test_sees_no_trend_in_noise_and_skips_missing_folds() -> None:
    f1 = np.array([0.42, 0.47, np.nan, 0.40, 0.46, 0.43, 0.45, 0.41, 0.44])
    result = fold_trend(f1)
    assert result.n_folds == 8
    reference = sps.kendalltau(np.delete(np.arange(9), 2), np.delete(f1, 2))
    assert result.tau == pytest.approx(reference.statistic)
    assert not result.degrading
    assert result.verdict.startswith("No significant trend")
    with pytest.raises(ValueError, match="at least 3 folds"):
        fold_trend([0.4, np.nan, 0.5])


def test_fold_summary_by_hand() -> None:
    f1 = [0.70, 0.60, np.nan, 0.65, 0.50]
    summary = summarise_folds(f1, target=0.65)
    known = np.array([0.70, 0.60, 0.65, 0.50])
    assert summary.n_folds == 5
    assert summary.n_with_value == 4
    assert summary.mean == pytest.approx(0.6125)
    assert summary.std == pytest.approx(math.sqrt(np.sum((known - 0.6125) ** 2) / 3))  # sample std
    assert summary.above_target == 2  # 0.70 and 0.65: "at or above"
    assert summary.consistency == pytest.approx(2 / 5)  # the fold without an F1 did not reach the target
    assert summary.trend is not None
    assert summary.trend.n_folds == 4
    assert summarise_folds([0.7, 0.8], target=0.65).trend is None
