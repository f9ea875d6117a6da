from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from monitoring.performance import (
    DegradationAction,
    classification_counts,
    degradation_decide,
    estimated_performance,
    precision_at_k_per_day,
    realised_performance,
    relative_f1_drop,
)


def test_realised_precision_recall_f1_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(5_000) < 0.03
    decisions = (y & (rng.random(5_000) < 0.6)) | (rng.random(5_000) < 0.02)
    counts = classification_counts(y, decisions)
    precision, recall, f1, _ = precision_recall_fscore_support(y, decisions, average="binary", zero_division=0)
    assert (counts.precision, counts.recall, counts.f1) == pytest.approx((precision, recall, f1))
    assert counts.n == 5_000
    assert counts.positives == int(y.sum())


def test_no_predicted_positives_gives_zero_not_an_error() -> None:
    counts = classification_counts([1, 0, 1, 0], [0, 0, 0, 0])
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (0, 0, 2, 2)
    assert counts.precision == counts.recall == counts.f1 == 0.0


def test_labels_must_be_binary_and_aligned() -> None:
    with pytest.raises(ValueError, match="0 and 1"):
        classification_counts([0, 2], [0, 1])
    with pytest.raises(ValueError, match="length"):
        classification_counts([0, 1, 1], [0, 1])


def test_new_circuits_are_scored_without_todays_circuit_stocks() -> None:
    y_true = [1, 1, 0, 1, 0, 0]
    decisions = [1, 1, 1, 0, 0, 0]
    hit_today = [1, 1, 0, 0, 0, 0]  # the two streak continuations are easy hits
    window = realised_performance(y_true, decisions, hit_today=hit_today)
    assert window.overall.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert window.new_circuits is not None
    assert (window.new_circuits.tp, window.new_circuits.fp, window.new_circuits.fn) == (0, 1, 1)
    assert window.new_circuits.f1 == 0.0
    assert realised_performance(y_true, decisions).new_circuits is None


def test_precision_at_k_is_averaged_over_days() -> None:
    # Day 1: top-2 scores are rows 0 (hit) and 2 (miss) -> 0.5. Day 2: top-2 are rows 4, 5, both hits -> 1.0.
    scores = [0.9, 0.1, 0.8, 0.2, 0.7, 0.6]
    y_true = [1, 1, 0, 0, 1, 1]
    day = [1, 1, 1, 2, 2, 2]
    assert precision_at_k_per_day(scores, y_true, day, k=2) == pytest.approx(0.75)
    # A day with fewer rows than k is scored over what it has.
    assert precision_at_k_per_day([0.5], [1], [3], k=20) == 1.0


def test_estimated_f1_from_a_hand_worked_expected_confusion_matrix() -> None:
    probabilities = [0.9, 0.6, 0.2, 0.1]
    decisions = [1, 1, 0, 0]
    est = estimated_performance(probabilities, decisions)
    # E[TP] = 0.9 + 0.6 = 1.5, E[FP] = 0.1 + 0.4 = 0.5, E[FN] = 0.2 + 0.1 = 0.3
    assert (est.expected_tp, est.expected_fp, est.expected_fn) == pytest.approx((1.5, 0.5, 0.3))
    assert est.precision == pytest.approx(0.75)
    assert est.recall == pytest.approx(1.5 / 1.8)
    assert est.f1 == pytest.approx(3.0 / 3.8)
    assert est.is_estimate


def test_estimated_f1_tracks_realised_f1_when_probabilities_are_calibrated() -> None:
    rng = np.random.default_rng(1)
    probabilities = rng.beta(0.3, 8.0, 50_000)
    decisions = probabilities > 0.2
    labels = rng.random(50_000) < probabilities  # labels drawn from the probabilities: calibrated
    estimate = estimated_performance(probabilities, decisions).f1
    realised = classification_counts(labels, decisions).f1
    assert estimate == pytest.approx(realised, abs=0.02)


def test_estimated_performance_rejects_probabilities_outside_0_1() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        estimated_performance([0.5, 1.2], [1, 1])


def test_relative_drop_is_positive_when_the_model_got_worse() -> None:
    assert relative_f1_drop(0.45, 0.5) == pytest.approx(0.1)
    assert relative_f1_drop(0.55, 0.5) == pytest.approx(-0.1)
    assert relative_f1_drop(0.3, 0.0) is None


# Reference F1 0.5; drops use exactly representable binary fractions so the boundaries are exact.
@pytest.mark.parametrize(
    ("realised", "positives", "has_previous", "already_rolled_back", "action"),
    [
        (0.40, 399, True, False, DegradationAction.NONE),  # too few positives, whatever the drop
        (0.50, 400, True, False, DegradationAction.NONE),  # no drop
        (0.55, 400, True, False, DegradationAction.NONE),  # improvement
        (0.484375, 400, True, False, DegradationAction.NONE),  # 3.125% drop
        (0.46875, 400, True, False, DegradationAction.ALERT),  # 6.25% drop
        (0.4375, 400, True, False, DegradationAction.ROLLBACK),  # 12.5% drop
        (0.4375, 400, False, False, DegradationAction.ALERT),  # nothing to roll back to
        (0.4375, 400, True, True, DegradationAction.ALERT),  # this version already rolled back once
    ],
)
def test_degradation_decision_table(
    realised: float, positives: int, has_previous: bool, already_rolled_back: bool, action: DegradationAction
) -> None:
    decision = degradation_decide(
        realised_f1=realised,
        reference_f1=0.5,
        positives=positives,
        has_previous_version=has_previous,
        already_rolled_back=already_rolled_back,
        min_positives=400,
    )
    assert decision.action is action
    assert decision.positives == positives
    assert decision.reason


def test_drops_exactly_at_the_thresholds_do_not_trigger() -> None:
    common = {"reference_f1": 0.5, "positives": 1_000, "has_previous_version": True, "already_rolled_back": False}
    at_alert = degradation_decide(realised_f1=0.46875, alert_drop=0.0625, rollback_drop=0.125, **common)
    at_rollback = degradation_decide(realised_f1=0.4375, alert_drop=0.0625, rollback_drop=0.125, **common)
    assert at_alert.relative_drop == 0.0625
    assert at_alert.action is DegradationAction.NONE
    assert at_rollback.action is DegradationAction.ALERT


def test_a_zero_reference_f1_takes_no_action() -> None:
    decision = degradation_decide(
        realised_f1=0.1, reference_f1=0.0, positives=1_000, has_previous_version=True, already_rolled_back=False
    )
    assert decision.action is DegradationAction.NONE
    assert decision.relative_drop is None


def test_action_levels_order_none_alert_rollback() -> None:
    assert [a.level for a in DegradationAction] == [0, 1, 2]
