from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from monitoring.performance import (
    DegradationAction,
    classification_counts,
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


def test_action_levels_order_none_alert_rollback() -> None:
    assert [a.level for a in DegradationAction] == [0, 1, 2]
