from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from modelregistry.artifacts import load, save_version
from modelregistry.export import convert_to_onnx, export_onnx
from modelregistry.runtime import Calibration, NativeScorer, OnnxScorer, explain, native_predict_raw
from modelregistry.training import Split, TrainResult, build_dataset, synthetic_cube, temporal_split, train

FAST = {"xgboost": {"nthread": 1, "eta": 0.3}, "lightgbm": {"num_threads": 1, "learning_rate": 0.2}}
NAMES = tuple(f"feature_{i:02d}" for i in range(25))


@pytest.fixture(scope="module")
def split() -> Split:
    values, labels, dates, info = synthetic_cube(n_dates=100, n_stocks=120, seed=8)
    ds = build_dataset(values, labels, dates, row_info=info, feature_names=NAMES)
    return temporal_split(ds, train_end=dates[59], valid_end=dates[79], test_end=dates[-1], horizon=1)


@pytest.fixture(scope="module", params=["xgboost", "lightgbm"])
def trained(request: pytest.FixtureRequest, split: Split) -> TrainResult:
    return train(request.param, split, params=FAST[request.param], rounds=30)


def _scorers(result: TrainResult) -> tuple[OnnxScorer, NativeScorer]:
    kwargs = {"calibration": result.calibration, "threshold": result.threshold, "feature_names": NAMES}
    return OnnxScorer(convert_to_onnx(result.model), **kwargs), NativeScorer(result.model, n_threads=1, **kwargs)


def test_both_scorers_apply_the_same_calibration_and_threshold(trained: TrainResult, split: Split) -> None:
    onnx_scorer, native_scorer = _scorers(trained)
    rows = split.test.X

    onnx_scores, native_scores = onnx_scorer.score(rows), native_scorer.score(rows)

    raw = native_predict_raw(trained.model, rows)
    np.testing.assert_array_equal(native_scores.probability, trained.calibration.apply(raw))
    np.testing.assert_allclose(onnx_scores.probability, native_scores.probability, atol=1e-5)
    np.testing.assert_array_equal(onnx_scores.decision, native_scores.decision)
    np.testing.assert_array_equal(native_scores.decision, native_scores.probability >= trained.threshold)
    assert native_scores.decision.any()
    assert not native_scores.decision.all()


def test_a_single_row_with_missing_features_scores_as_in_a_batch(trained: TrainResult, split: Split) -> None:
    onnx_scorer, native_scorer = _scorers(trained)
    row = split.test.X[np.isnan(split.test.X).any(axis=1)][0]

    for scorer in (onnx_scorer, native_scorer):
        single = scorer.predict_proba(row)
        assert single.shape == (1,)
        assert single[0] == pytest.approx(scorer.predict_proba(row[None, :].repeat(3, axis=0))[1], abs=1e-7)


def test_rows_of_the_wrong_width_are_refused(trained: TrainResult) -> None:
    onnx_scorer, native_scorer = _scorers(trained)
    for scorer in (onnx_scorer, native_scorer):
        with pytest.raises(ValueError, match="25 features"):
            scorer.predict_proba(np.zeros((2, 24)))


def test_onnx_scorer_runs_on_one_intra_op_thread(trained: TrainResult) -> None:
    onnx_scorer, _ = _scorers(trained)
    assert onnx_scorer.session.get_session_options().intra_op_num_threads == 1


def test_explain_returns_the_five_strongest_contributions(trained: TrainResult) -> None:
    row = np.zeros(25, dtype=np.float32)
    row[0] = 3.0  # feature 0 carries most of the synthetic signal
    row[7] = np.nan

    top = explain(trained.model, row, NAMES)
    every = explain(trained.model, row, NAMES, top=25)

    assert len(top) == 5
    assert top[0].feature == "feature_00"
    assert top[0].contribution > 0
    assert top[0].value == 3.0
    assert [c.feature for c in top] == [c.feature for c in every[:5]]
    magnitudes = [abs(c.contribution) for c in every]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert next(c for c in every if c.feature == "feature_07").value is None


def test_isotonic_calibration_interpolates_between_breakpoints_and_clamps() -> None:
    calibration = Calibration("isotonic", x=(0.1, 0.5, 0.9), y=(0.0, 0.4, 0.6))
    np.testing.assert_allclose(calibration.apply([0.0, 0.1, 0.3, 0.7, 0.9, 1.0]), [0.0, 0.0, 0.2, 0.5, 0.6, 0.6])


def test_a_non_monotone_calibration_is_refused() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        Calibration("isotonic", x=(0.1, 0.5), y=(0.5, 0.2))


def test_a_300_tree_depth_6_model_loads_and_both_scorers_agree(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5_000, 25)).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    y = (rng.random(5_000) < 1 / (1 + np.exp(-(x[:, :5].sum(axis=1) - 3)))).astype(np.float32)
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "nthread": 1}
    model = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=300)
    calibration = Calibration("identity")
    exported = export_onnx(model, rows=x[:2000], threshold=0.5, calibration=calibration)
    save_version(
        tmp_path,
        name="m",
        version="1",
        native_model=model,
        onnx_bytes=exported.onnx_bytes,
        metadata={"feature_names": list(NAMES), "threshold": 0.5, "calibration": calibration.to_dict()},
    )

    # Load time is a benchmark (bench/onnx_inference.py), not a timed assertion: here, that it loads and scores.
    artifact = load(tmp_path, name="m", version="1")
    onnx_scorer = OnnxScorer.from_artifact(artifact)
    native_scorer = NativeScorer.from_artifact(artifact)
    assert onnx_scorer.predict_proba(x[0]) == pytest.approx(native_scorer.predict_proba(x[0]), abs=1e-5)

    assert model.num_boosted_rounds() == 300
