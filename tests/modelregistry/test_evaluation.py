from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from modelregistry.evaluation import (
    Truth,
    classification_metrics,
    evaluate,
    evaluate_truths,
    feature_importance,
    precision_at_k,
    top_k_per_day,
    truths_table,
)

Y = np.array([0, 1, 1, 0, 0, 1, 0, 0, 1, 0])
P = np.array([0.05, 0.8, 0.4, 0.3, 0.1, 0.65, 0.7, 0.2, 0.15, 0.02])
DAY = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])


def test_metrics_match_sklearn_on_a_hand_case() -> None:
    m = classification_metrics(Y, P, P >= 0.35, day=DAY, k=2)

    decision = (P >= 0.35).astype(int)
    assert m["f1"] == pytest.approx(f1_score(Y, decision))
    assert m["precision"] == pytest.approx(precision_score(Y, decision))
    assert m["recall"] == pytest.approx(recall_score(Y, decision))
    assert m["pr_auc"] == pytest.approx(average_precision_score(Y, P))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(Y, P))
    tn, fp, fn, tp = confusion_matrix(Y, decision).ravel()
    assert m["confusion"] == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    assert (m["rows"], m["positives"], m["base_rate"], m["days"]) == (10, 4, 0.4, 2)
    assert m["predicted_positive"] == 4


def test_precision_at_k_is_computed_per_day_then_averaged() -> None:
    # Day 0 top-2: 0.8 (pos), 0.4 (pos) -> 1.0. Day 1 top-2: 0.7 (neg), 0.65 (pos) -> 0.5.
    assert precision_at_k(Y, P, DAY, k=2) == pytest.approx(0.75)
    # A day with fewer rows than k is scored on the rows it has: day 2 has one negative.
    y = np.r_[Y, 0]
    p = np.r_[P, 0.9]
    day = np.r_[DAY, 2]
    assert precision_at_k(y, p, day, k=2) == pytest.approx((1.0 + 0.5 + 0.0) / 3)


def test_precision_at_k_counts_ties_at_their_expected_value() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 0, 0])
    flag = np.array([1, 1, 1, 0, 0, 0, 0, 0])  # a 0/1 score such as "hit today"
    day = np.zeros(8, dtype=int)
    # k=2: three rows tie at 1, one of them positive -> 2 * 1/3 expected hits.
    assert precision_at_k(y, flag, day, k=2) == pytest.approx(1 / 3)
    # k=4: all three 1s, then one of five 0s (two positive) -> (1 + 2/5) / 4.
    assert precision_at_k(y, flag, day, k=4) == pytest.approx((1 + 0.4) / 4)


def test_top_k_per_day_never_chooses_a_missing_score() -> None:
    score = np.array([0.3, np.nan, 0.1, 0.9, np.nan, np.nan])
    day = np.array([0, 0, 0, 1, 1, 1])

    chosen = top_k_per_day(score, day, k=2)

    assert chosen.tolist() == [True, False, True, True, False, False]


def _rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 4000
    hit = rng.random(n) < 0.05
    y = (rng.random(n) < np.where(hit, 0.4, 0.02)).astype(float)
    proba = np.clip(0.3 * y + 0.2 * hit + 0.3 * rng.random(n), 0, 1)
    return {
        "y": y,
        "proba": proba,
        "day": np.repeat(np.arange(40), 100),
        "hit": hit,
        "momentum": np.where(rng.random(n) < 0.1, np.nan, rng.standard_normal(n) + y),
        "series": np.where(rng.random(n) < 0.7, "EQ", "BE"),
    }


def test_baselines_are_scored_on_the_same_rows_as_the_model() -> None:
    r = _rows()
    report = evaluate(
        r["y"], r["proba"], 0.5, day=r["day"], hit_today=r["hit"], momentum=r["momentum"], series=r["series"], k=20
    )
    for name in ("all", "new_circuits", "series_eq", "series_other"):
        part = report[name]
        rows = part["model"]["rows"]
        assert part["baselines"]["hit_today"]["rows"] == rows
        assert part["baselines"]["momentum_top_k"]["rows"] == rows
        assert part["baselines"]["hit_today"]["positives"] == part["model"]["positives"]
    hit = report["all"]["baselines"]["hit_today"]
    assert hit["f1"] == pytest.approx(f1_score(r["y"], r["hit"]))
    assert hit["pr_auc"] == pytest.approx(average_precision_score(r["y"], r["hit"].astype(float)))
    momentum = report["all"]["baselines"]["momentum_top_k"]
    assert momentum["predicted_positive"] <= 20 * 40
    assert momentum["pr_auc"] > report["all"]["model"]["base_rate"]  # the score carries the label here


def test_new_circuit_slice_holds_only_stocks_that_did_not_hit_today() -> None:
    r = _rows()
    report = evaluate(r["y"], r["proba"], 0.5, day=r["day"], hit_today=r["hit"])

    new = report["new_circuits"]
    assert new["model"]["rows"] == int((~r["hit"]).sum())
    assert new["model"]["positives"] == int(r["y"][~r["hit"]].sum())
    assert new["baselines"]["hit_today"]["predicted_positive"] == 0
    assert new["baselines"]["hit_today"]["f1"] == 0.0
    assert new["baselines"]["hit_today"]["pr_auc"] == pytest.approx(new["model"]["base_rate"])


def test_series_slices_split_eq_from_the_rest() -> None:
    r = _rows()
    report = evaluate(r["y"], r["proba"], 0.5, day=r["day"], series=r["series"])

    assert report["series_eq"]["model"]["rows"] == int((r["series"] == "EQ").sum())
    assert report["series_other"]["model"]["rows"] == int((r["series"] != "EQ").sum())
    assert "new_circuits" not in report


def test_undefined_metrics_are_none_and_the_report_is_strict_json() -> None:
    y = np.zeros(6)
    report = evaluate(y, np.linspace(0, 1, 6), 0.5, day=np.zeros(6, dtype=int), hit_today=np.zeros(6, dtype=bool))

    model = report["all"]["model"]
    assert model["pr_auc"] is None
    assert model["roc_auc"] is None
    assert model["precision_at_20"] == 0.0
    json.dumps(report, allow_nan=False)


def test_evaluate_refuses_rows_without_a_label() -> None:
    with pytest.raises(ValueError, match="NaN"):
        evaluate(np.array([0.0, np.nan]), np.array([0.1, 0.2]), 0.5, day=np.array([0, 0]))


def _decisive_feature_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 4)).astype(np.float32)
    y = (x[:, 2] + 0.1 * rng.standard_normal(3000) > 1.0).astype(np.float32)
    return x, y


def test_gain_importance_is_keyed_by_feature_name_for_both_boosters() -> None:
    x, y = _decisive_feature_data()
    names = ("a", "b", "decisive", "d")
    xgb_model = xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(x, label=y), 10)
    lgb_model = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1}, lgb.Dataset(x, label=y), 10)

    for model in (xgb_model, lgb_model):
        importance = feature_importance(model, names)
        assert next(iter(importance)) == "decisive"
        assert set(importance) == set(names)
        assert sum(importance.values()) == pytest.approx(1.0)


def _truth(name: str, y: list[float], hit: list[bool], count: list[float]) -> Truth:
    return Truth(name=name, y=np.array(y), hit_today=np.array(hit), count_5d=np.array(count))


def test_every_truth_is_scored_beside_both_naive_rules_on_all_rows_and_new_circuits() -> None:
    day = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    proba = np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.6, 0.3, 0.05])
    strict = _truth("strict", [1, 0, 0, 0, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1, 0, 0], [3, 1, 0, 0, 0, 2, 0, 1])
    lock = _truth("lock", [1, 1, 0, 0, 1, 1, 0, 0], [1, 1, 0, 0, 1, 1, 0, 0], [3, 2, 0, 0, 1, 2, 0, 1])
    report = evaluate_truths(proba, 0.5, day=day, truths=[strict, lock], k=2)
    assert set(report) >= {"strict", "lock"}
    for name in ("strict", "lock"):
        for part in ("all", "new_circuits"):
            assert set(report[name][part]["baselines"]) == {"hit_today", "count_5d"}
    # On the lock truth the model ranks both days' positives first: precision@2 per day is 1.
    assert report["lock"]["all"]["model"]["precision_at_2"] == 1.0
    # New circuits are the rows not locked today under that truth.
    assert report["strict"]["new_circuits"]["model"]["rows"] == 5
    assert report["lock"]["new_circuits"]["model"]["rows"] == 4
    # count_5d decides "will hit" when the stock locked at least once in the last 5 days.
    assert report["strict"]["all"]["baselines"]["count_5d"]["predicted_positive"] == 4


def test_a_separate_new_circuit_score_ranks_the_new_circuit_slice() -> None:
    day = np.zeros(4, dtype=int)
    truth = _truth("strict", [0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0])
    proba = np.array([0.9, 0.2, 0.3, 0.1])
    fresh = np.array([0.0, 0.8, 0.1, 0.2])
    report = evaluate_truths(proba, 0.5, day=day, truths=[truth], new_proba=fresh, new_threshold=0.5, k=1)
    assert report["strict"]["new_circuits"]["model"]["pr_auc"] == 1.0
    assert report["strict"]["all"]["model"]["pr_auc"] < 1.0
    rows = truths_table(report, k=1)
    assert {(r["slice"], r["scorer"]) for r in rows} >= {("new_circuits", "model"), ("all", "count_5d")}


def test_a_truth_with_unlabelled_rows_is_refused() -> None:
    truth = _truth("lock", [1, np.nan], [False, False], [0, 0])
    with pytest.raises(ValueError, match="rows without a label"):
        evaluate_truths(np.array([0.1, 0.2]), 0.5, day=np.zeros(2), truths=[truth])
