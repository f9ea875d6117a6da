from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import f1_score

from modelregistry.runtime import native_predict_raw
from modelregistry.training import (
    INFO_HIT_TODAY,
    INFO_SERIES,
    Split,
    TrainResult,
    build_dataset,
    choose_threshold,
    dataset_fingerprint,
    downsample_negatives,
    fit_calibration,
    synthetic_cube,
    temporal_split,
    train,
)

ALGORITHMS = ("xgboost", "lightgbm")
# One thread and a fast learning rate keep the suite quick on a shared 2-core machine.
FAST = {"xgboost": {"nthread": 1, "eta": 0.3}, "lightgbm": {"num_threads": 1, "learning_rate": 0.2}}
ROUNDS = 40


def _split(seed: int = 3, horizon: int = 1) -> Split:
    values, labels, dates, info = synthetic_cube(n_dates=160, n_stocks=200, seed=seed)
    dataset = build_dataset(values, labels, dates, row_info=info)
    return temporal_split(dataset, train_end=dates[99], valid_end=dates[129], test_end=dates[-1], horizon=horizon)


@pytest.fixture(scope="module")
def split() -> Split:
    return _split()


@pytest.fixture(scope="module", params=ALGORITHMS)
def result(request: pytest.FixtureRequest, split: Split) -> TrainResult:
    return train(request.param, split, params=FAST[request.param], rounds=ROUNDS, seed=0)


def test_build_dataset_keeps_rows_with_known_label_and_a_bar() -> None:
    values = np.arange(4 * 3 * 2, dtype=np.float64).reshape(4, 3, 2)
    values[1, 2, 0] = np.nan
    labels = np.array([[0, 1, np.nan], [1, 0, 0], [0, np.nan, 1], [np.nan, np.nan, np.nan]])
    has_bar = np.ones((4, 3), dtype=bool)
    has_bar[2, 2] = False
    dates = np.array(["2022-01-03", "2022-01-04", "2022-01-05", "2022-01-06"], dtype="datetime64[D]")
    series = np.array(["EQ", "BE", "SM"], dtype=object)
    flag = np.zeros((4, 3), dtype=bool)
    flag[1, 1] = True

    ds = build_dataset(values, labels, dates, has_bar=has_bar, row_info={"series": series, "flag": flag})

    assert list(zip(ds.date_idx.tolist(), ds.stock_idx.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 0),
    ]
    assert ds.y.tolist() == [0, 1, 1, 0, 0, 0]
    assert ds.X.dtype == np.float32
    np.testing.assert_array_equal(ds.X[1], values[0, 1])
    assert np.isnan(ds.X[4, 0])
    assert ds.X[4, 1] == values[1, 2, 1]
    assert ds.info["series"].tolist() == ["EQ", "BE", "EQ", "BE", "SM", "EQ"]
    assert ds.info["flag"].tolist() == [False, False, False, True, False, False]
    assert ds.row_dates[-1] == np.datetime64("2022-01-05")


def test_build_dataset_rejects_labels_of_another_shape() -> None:
    with pytest.raises(ValueError, match=r"\(T, N, F\)"):
        build_dataset(np.zeros((4, 3, 2)), np.zeros((4, 2)), np.arange(4).astype("datetime64[D]"))


@pytest.mark.parametrize("horizon", [1, 3])
def test_split_purges_the_last_horizon_dates_before_each_boundary(horizon: int) -> None:
    values, labels, dates, info = synthetic_cube(n_dates=60, n_stocks=40, seed=1)
    ds = build_dataset(values, labels, dates, row_info=info)

    sp = temporal_split(ds, train_end=dates[29], valid_end=dates[44], test_end=dates[-1], horizon=horizon)

    # A label on day t looks at t+1..t+horizon: none may reach past its own period's end.
    assert sp.train.date_idx.max() + horizon <= 29
    assert sp.valid.date_idx.min() == 30
    assert sp.valid.date_idx.max() + horizon <= 44
    assert sp.test.date_idx.min() == 45
    assert sp.train.date_idx.max() == 29 - horizon
    assert sp.valid.date_idx.max() == 44 - horizon
    assert sp.purged_dates["train_valid"] == [str(d) for d in dates[30 - horizon : 30]]
    assert sp.purged_dates["valid_test"] == [str(d) for d in dates[45 - horizon : 45]]
    assert len(sp.train) + len(sp.valid) + len(sp.test) < len(ds)


def test_split_takes_dates_as_strings_and_an_optional_train_start() -> None:
    values, labels, dates, _ = synthetic_cube(n_dates=40, n_stocks=20, seed=1)
    ds = build_dataset(values, labels, dates)

    sp = temporal_split(
        ds,
        train_start=str(dates[5]),
        train_end=str(dates[19]),
        valid_end=str(dates[29]),
        test_end="2100-01-01",
        horizon=2,
    )

    assert sp.train.date_idx.min() == 5
    assert sp.train.date_idx.max() == 17
    assert sp.test.date_idx.max() == len(dates) - 2  # the last date has no label


def test_split_refuses_boundaries_out_of_order() -> None:
    values, labels, dates, _ = synthetic_cube(n_dates=30, n_stocks=20, seed=1)
    ds = build_dataset(values, labels, dates)
    with pytest.raises(ValueError, match="train_end < valid_end < test_end"):
        temporal_split(ds, train_end=dates[20], valid_end=dates[10], test_end=dates[-1], horizon=1)


def test_negative_downsampling_keeps_every_positive_and_repeats_with_the_seed(split: Split) -> None:
    a = downsample_negatives(split.train, rate=0.25, seed=7)
    b = downsample_negatives(split.train, rate=0.25, seed=7)
    c = downsample_negatives(split.train, rate=0.25, seed=8)

    assert a.n_positive == split.train.n_positive
    negatives_before = len(split.train) - split.train.n_positive
    assert (len(a) - a.n_positive) == pytest.approx(0.25 * negatives_before, rel=0.1)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.X, b.X)
    assert len(a) != len(c) or not np.array_equal(a.stock_idx, c.stock_idx)


def test_training_records_exactly_how_imbalance_was_handled(split: Split) -> None:
    result = train(
        "xgboost",
        split,
        params=FAST["xgboost"],
        rounds=10,
        negative_sample_rate=0.5,
        scale_pos_weight="auto",
        seed=4,
    )
    imb = result.imbalance
    assert imb["negative_sample_rate"] == 0.5
    assert imb["sample_seed"] == 4
    assert imb["train_positives"] == split.train.n_positive
    assert imb["train_negatives_before"] == len(split.train) - split.train.n_positive
    assert imb["train_negatives_after"] == pytest.approx(imb["train_negatives_before"] / 2, rel=0.1)
    assert imb["scale_pos_weight"] == pytest.approx(imb["train_negatives_after"] / imb["train_positives"])
    assert result.params["scale_pos_weight"] == pytest.approx(imb["scale_pos_weight"])


def test_threshold_and_calibration_come_from_validation(result: TrainResult, split: Split) -> None:
    valid_raw = native_predict_raw(result.model, split.valid.X)
    calibration = fit_calibration(valid_raw, split.valid.y)
    assert result.calibration == calibration
    assert result.threshold == choose_threshold(split.valid.y, calibration.apply(valid_raw))


def test_test_labels_do_not_influence_the_model_or_threshold(result: TrainResult, split: Split) -> None:
    rng = np.random.default_rng(0)
    scrambled = replace(split, test=replace(split.test, y=rng.permutation(split.test.y)))

    again = train(result.algorithm, scrambled, params=FAST[result.algorithm], rounds=ROUNDS, seed=0)

    assert again.threshold == result.threshold
    assert again.best_iteration == result.best_iteration
    np.testing.assert_array_equal(
        native_predict_raw(again.model, split.test.X), native_predict_raw(result.model, split.test.X)
    )
    assert again.test_metrics["all"]["model"]["pr_auc"] != result.test_metrics["all"]["model"]["pr_auc"]


def test_choose_threshold_maximises_f1_and_sits_between_scores() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.35, 0.9, 0.5, 0.6])

    cut = choose_threshold(y, p)

    best = max(f1_score(y, p >= c) for c in np.unique(p))
    assert f1_score(y, p >= cut) == pytest.approx(best)
    assert cut not in set(p.tolist())
    assert cut == pytest.approx((0.3 + 0.2) / 2)


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_is_monotone_and_survives_json(method: str) -> None:
    rng = np.random.default_rng(0)
    raw = rng.random(5000)
    y = (rng.random(5000) < raw**2).astype(float)

    calibration = fit_calibration(raw, y, method=method)  # type: ignore[arg-type]
    grid = np.linspace(-0.1, 1.1, 2001)
    out = calibration.apply(grid)

    assert np.all(np.diff(out) >= 0)
    assert out.min() >= 0
    assert out.max() <= 1
    restored = type(calibration).from_dict(json.loads(json.dumps(calibration.to_dict())))
    np.testing.assert_array_equal(restored.apply(grid), out)
    # Calibrated probabilities track the observed rate (raw**2 is the truth here).
    assert np.mean(np.abs(calibration.apply(raw) - raw**2)) < 0.05


def test_centred_isotonic_keeps_the_models_ranking_inside_its_range() -> None:
    rng = np.random.default_rng(1)
    raw = rng.random(3000)
    y = (rng.random(3000) < raw).astype(float)

    calibration = fit_calibration(raw, y, method="isotonic")
    inside = np.sort(raw[(raw > calibration.x[0]) & (raw < calibration.x[-1])])

    assert np.all(np.diff(calibration.apply(inside)) > 0)


def test_progress_reports_every_stage_in_order(split: Split) -> None:
    events: list[tuple[str, int, int]] = []

    train("lightgbm", split, params=FAST["lightgbm"], rounds=15, progress=lambda *e: events.append(e))

    stages = [s for s, _, _ in events]
    assert stages[0] == "dataset"
    assert stages[-1] == "evaluate"
    assert stages.index("calibrate") > max(i for i, s in enumerate(stages) if s == "fit")
    fit_steps = [done for s, done, _ in events if s == "fit"]
    assert fit_steps == list(range(1, len(fit_steps) + 1))
    assert all(total == 15 for s, _, total in events if s == "fit")


def test_result_times_each_stage_and_serialises_to_json(result: TrainResult) -> None:
    assert set(result.timings) == {"build_dataset", "dataset", "fit", "calibrate", "evaluate", "total"}
    assert all(v >= 0 for v in result.timings.values())
    assert result.timings["total"] == pytest.approx(sum(v for k, v in result.timings.items() if k != "total"), abs=1e-3)
    meta = json.loads(json.dumps(result.metadata(), allow_nan=False))
    assert meta["n_trees"] == result.best_iteration + 1
    assert meta["windows"]["train"]["last_date"] < meta["windows"]["valid"]["first_date"]
    assert len(meta["feature_names"]) == 25


def test_model_beats_the_naive_baselines_on_the_synthetic_signal(result: TrainResult) -> None:
    report = result.test_metrics["all"]
    assert report["model"]["pr_auc"] > 3 * report["model"]["base_rate"]
    assert report["model"]["pr_auc"] > report["baselines"]["hit_today"]["pr_auc"]
    assert report["model"]["pr_auc"] > report["baselines"]["momentum_top_k"]["pr_auc"]


def test_shuffled_labels_score_near_the_base_rate(split: Split) -> None:
    rng = np.random.default_rng(5)
    shuffled = replace(
        split,
        train=replace(split.train, y=rng.permutation(split.train.y)),
        valid=replace(split.valid, y=rng.permutation(split.valid.y)),
    )
    for algorithm in ALGORITHMS:
        real = train(algorithm, split, params=FAST[algorithm], rounds=ROUNDS)
        noise = train(algorithm, shuffled, params=FAST[algorithm], rounds=ROUNDS)
        base_rate = real.test_metrics["all"]["model"]["base_rate"]

        assert noise.test_metrics["all"]["model"]["pr_auc"] < 1.6 * base_rate
        assert real.test_metrics["all"]["model"]["pr_auc"] > 4 * base_rate


def test_same_seed_same_model(split: Split) -> None:
    for algorithm in ALGORITHMS:
        a = train(algorithm, split, params=FAST[algorithm], rounds=15, seed=11)
        b = train(algorithm, split, params=FAST[algorithm], rounds=15, seed=11)
        np.testing.assert_array_equal(
            native_predict_raw(a.model, split.test.X), native_predict_raw(b.model, split.test.X)
        )


def test_dataset_fingerprint_changes_with_any_label(split: Split) -> None:
    flipped = split.train.y.copy()
    flipped[0] = 1 - flipped[0]
    assert dataset_fingerprint(split.train) == dataset_fingerprint(replace(split.train))
    assert dataset_fingerprint(split.train) != dataset_fingerprint(replace(split.train, y=flipped))


def test_synthetic_cube_has_real_shapes_and_a_few_percent_positives() -> None:
    values, labels, dates, info = synthetic_cube(n_dates=50, n_stocks=80, seed=2)
    assert values.shape == (50, 80, 25)
    assert labels.shape == (50, 80)
    assert dates.shape == (50,)
    assert np.isnan(values).mean() == pytest.approx(0.03, abs=0.01)
    assert 0.015 < np.nanmean(labels) < 0.04
    assert np.isnan(labels[-1]).all()
    assert info[INFO_SERIES].shape == (80,)
    assert info[INFO_HIT_TODAY].shape == (50, 80)
