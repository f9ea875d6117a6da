"""ONNX export of a trained booster, gated on parity with the native model.

Pure module (no Django). Conversion uses onnxmltools (``convert_xgboost`` / ``convert_lightgbm``)
with one float32 input ``input`` of shape ``(None, F)`` and the ``(R, 2)`` class-probability
output (LightGBM with ``zipmap=False``, so it is a tensor and not a list of dicts).

The parity gate scores the given check rows (the test period, NaNs included) with both the native
booster and ONNX Runtime, and refuses the export unless

- ``max |p_native - p_onnx| < tolerance`` (1e-4) on the raw probabilities, and
- no row's thresholded decision (calibrated probability >= threshold) differs.

Known pitfalls, handled here: XGBoost feature names must be ``f0..fN`` for the converter (the
booster is trained without names; a named booster is exported from an unnamed copy); LightGBM
exports every tree unless the booster was trimmed to its best iteration (training trims it);
LightGBM split thresholds are doubles, rounded to the nearest float32 by the converter, which
misroutes float32 inputs that fall between the two (the export uses a copy with thresholds rounded
down to float32, which scores float32 rows exactly as the original); a LightGBM feature never
missing in training routes NaN as 0.0 natively, which the converted model may not reproduce: the
gate catches it on check rows containing NaN.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from modelregistry.runtime import (
    Calibration,
    OnnxScorer,
    algorithm_of,
    as_rows,
    n_features_of,
    native_predict_raw,
)

DEFAULT_TOLERANCE = 1e-4
INPUT_NAME = "input"


class OnnxParityError(RuntimeError):
    """The ONNX model does not reproduce the native model's scores or decisions."""

    def __init__(self, message: str, report: ParityReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ParityReport:
    rows: int
    rows_with_nan: int
    max_abs_diff: float  # raw probabilities
    decision_flips: int
    tolerance: float
    threshold: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OnnxExport:
    onnx_bytes: bytes
    parity: ParityReport


def convert_to_onnx(model: Any) -> bytes:
    """Serialized ONNX model of an xgboost or lightgbm binary Booster (no parity check)."""
    from onnxmltools import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    n_features = n_features_of(model)
    initial_types = [(INPUT_NAME, FloatTensorType([None, n_features]))]
    if algorithm_of(model) == "xgboost":
        if model.feature_names is not None:
            model = model.copy()
            model.feature_names = None
        onnx_model = convert_xgboost(model, initial_types=initial_types)
    else:
        onnx_model = convert_lightgbm(_lightgbm_float32_thresholds(model), initial_types=initial_types, zipmap=False)
    return bytes(onnx_model.SerializeToString())


def _round_down_to_float32(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The largest float32 <= each value (values beyond the float32 range are left as they are)."""
    with np.errstate(over="ignore"):
        nearest = values.astype(np.float32)
    below = np.where(nearest.astype(np.float64) > values, np.nextafter(nearest, np.float32(-np.inf)), nearest)
    in_range = np.abs(values) <= np.finfo(np.float32).max
    return np.where(in_range, below.astype(np.float64), values)


def _lightgbm_float32_thresholds(model: Any) -> Any:
    """A copy of a LightGBM booster whose numeric split thresholds are float32 values, rounded down.

    LightGBM tests ``x <= t`` in double; ONNX stores ``t`` as the *nearest* float32, which can lie
    above ``t``, so a float32 input between the two branches differently (on the real 2015-2022
    data: 25 row-splits on the 2022 test rows, max |diff| 3.8e-4). For a float32 ``x``,
    ``x <= t`` exactly when ``x <= (largest float32 <= t)``, so this copy scores every float32
    row exactly as the original does, and its export is exact.
    """
    import lightgbm as lgb

    lines = str(model.model_to_string()).split("\n")
    threshold_line: int | None = None
    for i, line in enumerate(lines):
        if line.startswith("threshold="):
            threshold_line = i
        elif line.startswith("decision_type=") and threshold_line is not None:
            # Bit 0 of decision_type marks a categorical split, whose "threshold" is an index.
            numeric = (np.array(line.split("=", 1)[1].split(), dtype=np.int64) & 1) == 0
            values = np.array(lines[threshold_line].split("=", 1)[1].split(), dtype=np.float64)
            snapped = np.where(numeric, _round_down_to_float32(values), values)
            lines[threshold_line] = "threshold=" + " ".join(repr(float(v)) for v in snapped)
            threshold_line = None
    # tree_sizes holds each tree's byte length for parallel parsing; the edit changed them.
    text = "\n".join(line for line in lines if not line.startswith("tree_sizes="))
    return lgb.Booster(model_str=text)


def onnx_predict_raw(onnx_bytes: bytes, rows: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Raw probabilities ``(R,)`` for rows ``(R, F)`` from an ONNX model (a fresh single-threaded session)."""
    x = np.asarray(rows, dtype=np.float32)
    scorer = OnnxScorer(
        onnx_bytes,
        calibration=Calibration("identity"),
        threshold=0.5,
        feature_names=tuple(f"f{i}" for i in range(x.shape[-1])),
    )
    return scorer.predict_raw(x)


def check_parity(
    model: Any,
    onnx_bytes: bytes,
    *,
    rows: npt.ArrayLike,
    threshold: float,
    calibration: Calibration,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ParityReport:
    """Compare native and ONNX scores on ``rows`` ``(R, F)``; raise OnnxParityError on a mismatch."""
    x = as_rows(rows, n_features_of(model))
    if len(x) == 0:
        raise ValueError("the parity check needs at least one row")
    native = native_predict_raw(model, x)
    converted = onnx_predict_raw(onnx_bytes, x)
    diff = np.abs(native - converted)
    flips = int(np.sum((calibration.apply(native) >= threshold) != (calibration.apply(converted) >= threshold)))
    max_diff = float(np.nanmax(diff)) if not np.isnan(diff).all() else float("inf")
    passed = bool(max_diff < tolerance and flips == 0 and not np.isnan(diff).any())
    report = ParityReport(
        rows=len(x),
        rows_with_nan=int(np.isnan(x).any(axis=1).sum()),
        max_abs_diff=max_diff,
        decision_flips=flips,
        tolerance=tolerance,
        threshold=float(threshold),
        passed=passed,
    )
    if not passed:
        worst = int(np.nanargmax(diff)) if not np.isnan(diff).all() else 0
        raise OnnxParityError(
            f"ONNX export failed the parity gate on {report.rows} rows: max |p_native - p_onnx| = "
            f"{max_diff:.3g} (tolerance {tolerance:g}), {flips} decision flips at threshold {threshold:.6g}; "
            f"worst row {worst}: native {native[worst]:.6g}, onnx {converted[worst]:.6g}",
            report,
        )
    return report


def export_onnx(
    model: Any,
    *,
    rows: npt.ArrayLike,
    threshold: float,
    calibration: Calibration,
    tolerance: float = DEFAULT_TOLERANCE,
) -> OnnxExport:
    """Convert ``model`` to ONNX and pass it through the parity gate on ``rows`` (use the test period)."""
    onnx_bytes = convert_to_onnx(model)
    parity = check_parity(
        model, onnx_bytes, rows=rows, threshold=threshold, calibration=calibration, tolerance=tolerance
    )
    return OnnxExport(onnx_bytes=onnx_bytes, parity=parity)
