"""The paired day-block bootstrap of a PR-AUC difference (modelregistry.significance)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from modelregistry.significance import _SortedAP, pr_auc_difference_ci


def test_day_weighted_average_precision_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(1)
    y = (rng.uniform(size=400) < 0.2).astype(float)
    score = np.round(rng.uniform(size=400) + 0.3 * y, 1)  # rounding makes many ties
    days = np.arange(400) // 10
    day_weights = rng.integers(0, 4, size=40).astype(float)  # a resample: how often each day was drawn
    ap = _SortedAP(y, score, days)
    assert ap(np.ones(40)) == pytest.approx(average_precision_score(y, score))
    assert ap(day_weights) == pytest.approx(average_precision_score(y, score, sample_weight=day_weights[days]))
    untied = rng.uniform(size=400)
    assert _SortedAP(y, untied, days)(day_weights) == pytest.approx(
        average_precision_score(y, untied, sample_weight=day_weights[days])
    )


def synthetic_days(seed: int, *, n_days: int = 60, per_day: int = 80) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    days = np.repeat(np.arange(n_days), per_day)
    # Each day has its own base rate: rows within a day are correlated.
    rate = rng.uniform(0.01, 0.2, n_days)[days]
    y = (rng.uniform(size=days.size) < rate).astype(float)
    good = y + rng.normal(0, 0.6, days.size)
    weak = y + rng.normal(0, 2.0, days.size)
    return y, good, weak, days


def test_bootstrap_finds_a_clearly_better_ranker() -> None:
    y, good, weak, days = synthetic_days(2)
    result = pr_auc_difference_ci(y_true=y, score_a=good, score_b=weak, days=days, n_boot=300, seed=4)
    assert result.pr_auc_a == pytest.approx(average_precision_score(y, good))
    assert result.pr_auc_b == pytest.approx(average_precision_score(y, weak))
    assert result.low > 0
    assert result.low < result.difference < result.high
    assert result.n_days == 60
    assert result.verdict.startswith("Model A ranks better")


def test_bootstrap_of_a_model_against_itself_is_zero() -> None:
    y, good, _, days = synthetic_days(3)
    result = pr_auc_difference_ci(y_true=y, score_a=good, score_b=good.copy(), days=days, n_boot=100)
    assert (result.difference, result.low, result.high) == (0.0, 0.0, 0.0)
    assert result.verdict.startswith("No clear difference")


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    y, good, weak, days = synthetic_days(5)
    kwargs = {"y_true": y, "score_a": good, "score_b": weak, "days": days, "n_boot": 100}
    first = pr_auc_difference_ci(**kwargs, seed=7)
    assert pr_auc_difference_ci(**kwargs, seed=7) == first
    assert pr_auc_difference_ci(**kwargs, seed=8).low != first.low


def test_bootstrap_resamples_whole_days() -> None:
    # Duplicating every row leaves day-block resamples unchanged, since the days are what is drawn.
    y, good, weak, days = synthetic_days(6, n_days=30)
    once = pr_auc_difference_ci(y_true=y, score_a=good, score_b=weak, days=days, n_boot=200, seed=1)
    twice = pr_auc_difference_ci(
        y_true=np.tile(y, 2),
        score_a=np.tile(good, 2),
        score_b=np.tile(weak, 2),
        days=np.tile(days, 2),
        n_boot=200,
        seed=1,
    )
    assert twice.n_days == once.n_days == 30
    assert (twice.low, twice.high) == pytest.approx((once.low, once.high))
