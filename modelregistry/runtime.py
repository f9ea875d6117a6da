"""Scoring with a trained model: raw booster output -> calibrated probability -> decision.

Pure module (no Django). Feature rows are ``(R rows, F features)`` or a single ``(F,)`` row, in the
order of the model's feature list, NaN where a feature is missing (both boosters route NaN down the
default branch learned in training). Every scorer casts rows to float32 first: the model was trained
on float32 and ONNX Runtime takes float32, so native and ONNX scores see the very same numbers.

Probabilities are the chance of an upper circuit within the label horizon, in [0, 1], after the
calibration fitted on the validation period. A row is a positive decision when its calibrated
probability is >= the version's threshold.

``OnnxScorer`` serves single rows and small batches (one intra-op thread, so gunicorn workers do not
fight over the 2 cores); ``NativeScorer`` is faster for large batches and also explains rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from modelregistry.rankings import Rankings, rankings_of

if TYPE_CHECKING:
    from modelregistry.artifacts import LoadedArtifact

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Algorithm = Literal["xgboost", "lightgbm"]
CalibrationMethod = Literal["isotonic", "platt", "identity"]

_EPS = 1e-12


@dataclass(frozen=True)
class Calibration:
    """A monotone map from raw booster probability to calibrated probability, stored as plain numbers.

    ``isotonic``: piecewise-linear through the breakpoints ``(x[i], y[i])`` (x ascending), flat outside
    them, applied with ``np.interp``. ``platt``: ``sigmoid(a * logit(p) + b)``. ``identity``: unchanged.
    The plain-number form survives JSON exactly, so the same calibration runs after ONNX or native.
    """

    method: CalibrationMethod
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0
    _xs: FloatArray = field(init=False, repr=False, compare=False)
    _ys: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        xs, ys = np.asarray(self.x, dtype=np.float64), np.asarray(self.y, dtype=np.float64)
        if self.method == "isotonic":
            if len(xs) == 0 or xs.shape != ys.shape:
                raise ValueError("isotonic calibration needs equally long, non-empty x and y breakpoints")
            if np.any(np.diff(xs) < 0) or np.any(np.diff(ys) < 0):
                raise ValueError("isotonic calibration breakpoints must be non-decreasing in x and y")
        elif self.method not in ("platt", "identity"):
            raise ValueError(f"unknown calibration method {self.method!r}")
        object.__setattr__(self, "_xs", xs)
        object.__setattr__(self, "_ys", ys)

    def apply(self, raw: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities, same shape as ``raw`` (float64)."""
        p = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(p, self._xs, self._ys)
        if self.method == "platt":
            q = np.clip(p, _EPS, 1.0 - _EPS)
            z = self.a * np.log(q / (1.0 - q)) + self.b
            return 1.0 / (1.0 + np.exp(-z))
        return p.copy()

    def to_dict(self) -> dict[str, Any]:
        if self.method == "isotonic":
            return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}
        if self.method == "platt":
            return {"method": "platt", "a": self.a, "b": self.b}
        return {"method": "identity"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        method = data["method"]
        if method == "isotonic":
            return cls("isotonic", x=tuple(map(float, data["x"])), y=tuple(map(float, data["y"])))
        if method == "platt":
            return cls("platt", a=float(data["a"]), b=float(data["b"]))
        return cls(method)


@dataclass(frozen=True)
class Contribution:
    """One feature's push on a row's score, in log-odds (margin) units before calibration."""

    feature: str
    value: float | None  # the row's feature value (None where missing)
    contribution: float


def algorithm_of(model: Any) -> Algorithm:
    """Which library a native booster comes from."""
    module = type(model).__module__
    if module.startswith("xgboost"):
        return "xgboost"
    if module.startswith("lightgbm"):
        return "lightgbm"
    raise TypeError(f"not an xgboost or lightgbm Booster: {type(model).__name__}")


def n_features_of(model: Any) -> int:
    """Number of input features of an xgboost or lightgbm Booster."""
    return int(model.num_features() if algorithm_of(model) == "xgboost" else model.num_feature())


def as_rows(rows: npt.ArrayLike, n_features: int) -> npt.NDArray[np.float32]:
    """``(R, F)`` C-contiguous float32 from one ``(F,)`` row or ``(R, F)`` rows; checks F."""
    x = np.asarray(rows, dtype=np.float32)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ValueError(f"expected rows with {n_features} features, got shape {np.shape(rows)}")
    return np.ascontiguousarray(x)


def native_predict_raw(model: Any, rows: npt.ArrayLike, *, n_threads: int | None = None) -> FloatArray:
    """Uncalibrated probabilities ``(R,)`` from an xgboost or lightgbm binary Booster."""
    algorithm = algorithm_of(model)
    x = as_rows(rows, n_features_of(model))
    if algorithm == "xgboost":
        if n_threads is not None:
            model.set_param({"nthread": n_threads})
        return np.asarray(model.inplace_predict(x), dtype=np.float64)
    kwargs: dict[str, Any] = {} if n_threads is None else {"num_threads": n_threads}
    return np.asarray(model.predict(x, **kwargs), dtype=np.float64)


def explain(model: Any, row: npt.ArrayLike, feature_names: tuple[str, ...], *, top: int = 5) -> list[Contribution]:
    """The ``top`` features by absolute contribution (SHAP values from the booster) for one row.

    Contributions are log-odds; with the bias they add up to the row's raw margin.
    """
    x = as_rows(row, len(feature_names))
    if x.shape[0] != 1:
        raise ValueError("explain takes a single row")
    if algorithm_of(model) == "xgboost":
        import xgboost as xgb

        contribs = model.predict(xgb.DMatrix(x, missing=np.nan), pred_contribs=True)
    else:
        contribs = model.predict(x, pred_contrib=True)
    per_feature = np.asarray(contribs, dtype=np.float64)[0, : len(feature_names)]  # last column is the bias
    order = np.argsort(-np.abs(per_feature), kind="stable")[:top]
    return [
        Contribution(
            feature=feature_names[i],
            value=None if np.isnan(x[0, i]) else float(x[0, i]),
            contribution=float(per_feature[i]),
        )
        for i in order
    ]


class _Scorer:
    def __init__(
        self,
        *,
        calibration: Calibration,
        threshold: float,
        feature_names: tuple[str, ...],
        new_circuit_threshold: float | None = None,
    ) -> None:
        self.calibration = calibration
        self.threshold = float(threshold)
        self.new_circuit_threshold = float(threshold if new_circuit_threshold is None else new_circuit_threshold)
        self.feature_names = tuple(feature_names)

    def predict_raw(self, rows: npt.ArrayLike) -> FloatArray:
        raise NotImplementedError

    def predict_proba(self, rows: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities ``(R,)``."""
        return self.calibration.apply(self.predict_raw(rows))

    def score(self, rows: npt.ArrayLike) -> Rankings:
        """The probability and the rankings derived from it (``modelregistry.rankings``), per row."""
        x = as_rows(rows, len(self.feature_names))
        return rankings_of(
            self.predict_proba(x),
            x,
            self.feature_names,
            threshold=self.threshold,
            new_circuit_threshold=self.new_circuit_threshold,
        )


class OnnxScorer(_Scorer):
    """ONNX Runtime over the exported model: one intra-op thread, float32 inputs."""

    def __init__(
        self,
        onnx_bytes: bytes,
        *,
        calibration: Calibration,
        threshold: float,
        feature_names: tuple[str, ...],
        new_circuit_threshold: float | None = None,
        intra_op_threads: int = 1,
    ) -> None:
        import onnxruntime as ort

        super().__init__(
            calibration=calibration,
            threshold=threshold,
            feature_names=feature_names,
            new_circuit_threshold=new_circuit_threshold,
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # the converters' declared label shape draws a harmless warning
        self.session = ort.InferenceSession(onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = probability_output_name(self.session)

    def predict_raw(self, rows: npt.ArrayLike) -> FloatArray:
        x = as_rows(rows, len(self.feature_names))
        (probabilities,) = self.session.run([self.output_name], {self.input_name: x})
        return np.asarray(probabilities, dtype=np.float64)[:, 1]

    @classmethod
    def from_artifact(cls, artifact: LoadedArtifact, *, intra_op_threads: int = 1) -> OnnxScorer:
        return cls(
            artifact.onnx_bytes,
            calibration=artifact.calibration,
            threshold=artifact.threshold,
            feature_names=artifact.feature_names,
            new_circuit_threshold=artifact.new_circuit_threshold,
            intra_op_threads=intra_op_threads,
        )


class NativeScorer(_Scorer):
    """The native booster (xgboost ``inplace_predict`` / lightgbm ``predict``) for batch scoring."""

    def __init__(
        self,
        model: Any,
        *,
        calibration: Calibration,
        threshold: float,
        feature_names: tuple[str, ...],
        new_circuit_threshold: float | None = None,
        n_threads: int = 2,
    ) -> None:
        super().__init__(
            calibration=calibration,
            threshold=threshold,
            feature_names=feature_names,
            new_circuit_threshold=new_circuit_threshold,
        )
        if n_features_of(model) != len(self.feature_names):
            raise ValueError(f"model has {n_features_of(model)} features, feature list has {len(self.feature_names)}")
        self.model = model
        self.algorithm = algorithm_of(model)
        self.n_threads = n_threads

    def predict_raw(self, rows: npt.ArrayLike) -> FloatArray:
        return native_predict_raw(self.model, rows, n_threads=self.n_threads)

    def explain(self, row: npt.ArrayLike, *, top: int = 5) -> list[Contribution]:
        return explain(self.model, row, self.feature_names, top=top)

    @classmethod
    def from_artifact(cls, artifact: LoadedArtifact, *, n_threads: int = 2) -> NativeScorer:
        return cls(
            artifact.native_model,
            calibration=artifact.calibration,
            threshold=artifact.threshold,
            feature_names=artifact.feature_names,
            new_circuit_threshold=artifact.new_circuit_threshold,
            n_threads=n_threads,
        )


def probability_output_name(session: Any) -> str:
    """The ``(R, 2)`` class-probability output of a converted binary classifier."""
    names = [o.name for o in session.get_outputs()]
    if "probabilities" in names:
        return "probabilities"
    if len(names) == 2:
        return names[1]
    raise ValueError(f"cannot find the probability output among {names}")
