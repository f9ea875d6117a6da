"""The pure degradation rule: lift over "hit today", persistence, and when a rollback is allowed."""

from __future__ import annotations

import numpy as np
import pytest

from modelregistry.significance import pr_auc_difference_ci
from monitoring.lift import (
    ReferenceLift,
    RollbackFacts,
    WindowLift,
    lift_check,
    lift_dropped,
    rollback_decide,
    window_lift,
)
from monitoring.performance import DegradationAction

REFERENCE = ReferenceLift(pr_auc_lift=0.3, precision_at_k_lift=0.25)


def _window(pr_auc_lift: float, p_lift: float, positives: int = 500) -> WindowLift:
    return WindowLift(
        days=10,
        rows=20_000,
        positives=positives,
        k=20,
        model_pr_auc=0.2 + pr_auc_lift,
        naive_pr_auc=0.2,
        model_precision_at_k=0.4 + p_lift,
        naive_precision_at_k=0.4,
    )


def test_window_lift_scores_model_and_naive_rule_on_the_same_rows() -> None:
    rng = np.random.default_rng(0)
    day = np.repeat(np.arange(5), 100)
    y = (rng.uniform(size=500) < 0.1).astype(int)
    hit_today = np.where(rng.uniform(size=500) < 0.5, y, 0)  # the naive rule catches about half
    score = y * 0.5 + rng.uniform(size=500) * 0.6  # the model ranks most positives first
    lift = window_lift(y, score, hit_today, day, k=20)
    assert (lift.days, lift.rows, lift.positives) == (5, 500, int(y.sum()))
    assert lift.pr_auc_lift == pytest.approx(lift.model_pr_auc - lift.naive_pr_auc)
    assert lift.pr_auc_lift > 0
    assert lift.precision_at_k_lift > 0
    same = window_lift(y, hit_today.astype(float), hit_today, day)
    assert same.pr_auc_lift == pytest.approx(0.0)
    assert same.precision_at_k_lift == pytest.approx(0.0)


def test_a_window_drops_only_when_both_lifts_fall_below_the_threshold() -> None:
    assert lift_dropped(_window(0.1, 0.1), REFERENCE, drop=0.5)
    assert not lift_dropped(_window(0.1, 0.2), REFERENCE, drop=0.5)  # the top-20 still beat the rule
    assert not lift_dropped(_window(0.2, 0.1), REFERENCE, drop=0.5)
    assert not lift_dropped(_window(float("nan"), 0.0), REFERENCE, drop=0.5)


def test_an_alert_needs_the_drop_in_k_of_the_last_n_checks() -> None:
    bad = _window(0.0, 0.0)
    first = lift_check(bad, REFERENCE, earlier_drops=[], persist_k=3, persist_n=5)
    assert (first.action, first.dropped, first.drops_in_last_n) == (DegradationAction.NONE, True, 1)
    assert "alert at 3" in first.reason
    third = lift_check(bad, REFERENCE, earlier_drops=[False, True, True], persist_k=3, persist_n=5)
    assert third.action is DegradationAction.ALERT
    assert "in 3 of the last 5 checks" in third.reason
    # Drops older than the last n checks no longer count.
    stale = lift_check(bad, REFERENCE, earlier_drops=[True, True, False, False, False, False], persist_k=3)
    assert stale.action is DegradationAction.NONE


def test_too_few_positives_or_no_test_lift_means_no_judgement() -> None:
    few = lift_check(_window(0.0, 0.0, positives=30), REFERENCE, earlier_drops=[True] * 4, min_positives=100)
    assert few.action is DegradationAction.NONE
    assert "only 30 positives" in few.reason
    assert lift_check(_window(0.0, 0.0), None, earlier_drops=[True] * 4).action is DegradationAction.NONE
    never = lift_check(_window(0.0, 0.0), ReferenceLift(-0.01, 0.1), earlier_drops=[True] * 4)
    assert never.action is DegradationAction.NONE
    assert "did not beat 'hit today'" in never.reason


def _comparison(better: bool) -> object:
    rng = np.random.default_rng(1)
    day = np.repeat(np.arange(10), 200)
    y = (rng.uniform(size=2000) < 0.05).astype(float)
    good = y * 0.6 + rng.uniform(size=2000) * 0.5
    noise = rng.uniform(size=2000)
    return pr_auc_difference_ci(y_true=y, score_a=good if better else noise, score_b=noise, days=day, n_boot=200)


def _facts(**overrides: object) -> RollbackFacts:
    base: dict[str, object] = {
        "target": "upper-circuit v1",
        "production_reached_by_rollback": False,
        "target_failed_before": False,
        "shadow_days": 10,
        "window_days": 10,
        "comparison": _comparison(better=True),
    }
    return RollbackFacts(**{**base, **overrides})  # type: ignore[arg-type]


def test_rollback_only_to_a_shadow_scored_version_better_beyond_noise() -> None:
    go, why = rollback_decide(_facts())
    assert go
    assert "day-block interval" in why
    same = rollback_decide(_facts(comparison=_comparison(better=False)))
    assert not same[0]
    assert "not better beyond noise" in same[1]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"target": None}, "no rollback target"),
        ({"production_reached_by_rollback": True}, "one automatic rollback per incident"),
        ({"target_failed_before": True}, "failed once"),
        ({"shadow_days": 7, "comparison": None}, "scored in shadow on 7 of the window's 10 days"),
    ],
)
def test_no_rollback_without_evidence_to_a_failed_version_or_as_a_chain(
    overrides: dict[str, object], words: str
) -> None:
    go, why = rollback_decide(_facts(**overrides))
    assert not go
    assert words in why
