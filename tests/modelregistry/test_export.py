from __future__ import annotations

import lightgbm as lgb
import numpy as np
import onnx
import pytest
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType

from modelregistry.export import OnnxParityError, check_parity, convert_to_onnx, export_onnx, onnx_predict_raw
from modelregistry.runtime import Calibration, native_predict_raw
from modelregistry.training import Split, TrainResult, build_dataset, synthetic_cube, temporal_split, train

FAST = {"xgboost": {"nthread": 1, "eta": 0.3}, "lightgbm": {"num_threads": 1, "learning_rate": 0.2}}


@pytest.fixture(scope="module")
def split_rows() -> tuple[Split, np.ndarray]:
    values, labels, dates, info = synthetic_cube(n_dates=120, n_stocks=150, seed=4)
    ds = build_dataset(values, labels, dates, row_info=info)
    split = temporal_split(ds, train_end=dates[69], valid_end=dates[94], test_end=dates[-1], horizon=1)
    return split, split.test.X


@pytest.fixture(scope="module", params=["xgboost", "lightgbm"])
def trained(request: pytest.FixtureRequest, split_rows: tuple[Split, np.ndarray]) -> TrainResult:
    split, _ = split_rows
    return train(request.param, split, params=FAST[request.param], rounds=40, seed=0)


def _shift_split_values(onnx_bytes: bytes, shift: float) -> bytes:
    """The same model with every split threshold moved by ``shift``: a subtly wrong export."""
    model = onnx.load_from_string(onnx_bytes)
    (tree,) = [n for n in model.graph.node if n.op_type.startswith("TreeEnsemble")]
    (values,) = [a for a in tree.attribute if a.name == "nodes_values"]
    shifted = [v + shift for v in values.floats]
    del values.floats[:]
    values.floats.extend(shifted)
    return model.SerializeToString()


def test_parity_gate_passes_with_nan_rows(trained: TrainResult, split_rows: tuple[Split, np.ndarray]) -> None:
    _, rows = split_rows
    exported = export_onnx(trained.model, rows=rows, threshold=trained.threshold, calibration=trained.calibration)

    report = exported.parity
    assert report.passed
    assert report.rows == len(rows)
    assert report.rows_with_nan > 0
    assert report.max_abs_diff < 1e-4
    assert report.decision_flips == 0
    onnx.checker.check_model(onnx.load_from_string(exported.onnx_bytes))


def test_parity_gate_fails_on_a_corrupted_onnx_model(
    trained: TrainResult, split_rows: tuple[Split, np.ndarray]
) -> None:
    _, rows = split_rows
    corrupted = _shift_split_values(convert_to_onnx(trained.model), 0.5)

    with pytest.raises(OnnxParityError, match="parity gate") as caught:
        check_parity(trained.model, corrupted, rows=rows, threshold=trained.threshold, calibration=trained.calibration)

    assert not caught.value.report.passed
    assert caught.value.report.max_abs_diff > 1e-4


def test_a_decision_flip_fails_the_gate_even_within_tolerance(
    trained: TrainResult, split_rows: tuple[Split, np.ndarray]
) -> None:
    _, rows = split_rows
    corrupted = _shift_split_values(convert_to_onnx(trained.model), 0.5)

    with pytest.raises(OnnxParityError) as caught:
        check_parity(
            trained.model,
            corrupted,
            rows=rows,
            threshold=trained.threshold,
            calibration=trained.calibration,
            tolerance=1.0,
        )

    assert caught.value.report.max_abs_diff < 1.0
    assert caught.value.report.decision_flips > 0


def test_named_xgboost_booster_exports_without_losing_its_names(
    split_rows: tuple[Split, np.ndarray],
) -> None:
    split, rows = split_rows
    result = train("xgboost", split, params=FAST["xgboost"], rounds=10)
    names = [f"feature_{i}" for i in range(rows.shape[1])]
    result.model.feature_names = names

    converted = convert_to_onnx(result.model)

    assert result.model.feature_names == names
    np.testing.assert_allclose(onnx_predict_raw(converted, rows), native_predict_raw(result.model, rows), atol=1e-5)


def test_lightgbm_split_between_adjacent_float32_values_exports_exactly() -> None:
    # LightGBM splits {a, b} at their midpoint in double; the nearest float32 of it is b itself.
    rng = np.random.default_rng(0)
    a = np.float32(1.0)
    b = np.nextafter(a, np.float32(2.0))
    x = np.column_stack([np.where(rng.random(4000) < 0.5, a, b), rng.standard_normal(4000)]).astype(np.float32)
    y = ((x[:, 0] == b) ^ (rng.random(4000) < 0.1)).astype(np.float32)
    model = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1}, lgb.Dataset(x, label=y), 5)
    naive = convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, 2]))], zipmap=False)
    assert np.abs(onnx_predict_raw(naive.SerializeToString(), x) - native_predict_raw(model, x)).max() > 0.1

    exported = export_onnx(model, rows=x, threshold=0.5, calibration=Calibration("identity"))

    assert exported.parity.max_abs_diff < 1e-6
    assert exported.parity.decision_flips == 0
