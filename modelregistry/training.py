"""Training: feature cube + labels -> rows -> temporal split -> fitted booster, threshold, calibration.

Pure module (no Django). Shapes and units:

- ``values``: ``(T dates, N stocks, F features)`` float, NaN where a feature is unknown.
- ``labels``: ``(T, N)`` float, 1.0 / 0.0, NaN where unknown (no bar, or the horizon runs past the
  data); from ``marketdata.circuits.next_day_label``.
- ``dates``: ``(T,)`` the panel's trading dates, ascending: "h trading days" means h rows.
- A ``Dataset`` holds one row per stock-day with a known label: ``X`` ``(R, F)`` float32 (the boosters
  and ONNX Runtime work in float32, so training sees exactly what serving sees), ``y`` ``(R,)`` and the
  row's date index, stock index and extra per-row ``info`` (series, today's circuit flag, 20-day
  return) for baselines and sliced metrics. Rows are ordered by date, then stock.

The model is a binary gradient-boosted tree ensemble (XGBoost ``hist`` or LightGBM) on 2 threads,
early-stopped on the validation period. The decision threshold and the probability calibration are
both chosen on validation; the test period is only ever scored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from modelregistry.evaluation import evaluate, evaluate_truths, feature_importance, truths_from_info
from modelregistry.rankings import rankings_of
from modelregistry.runtime import Algorithm, Calibration, CalibrationMethod, native_predict_raw

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Keys of Dataset.info that evaluation reads; other keys are carried along untouched.
INFO_SERIES = "series"
INFO_HIT_TODAY = "hit_upper_today"
INFO_RETURN_20D = "return_20d"

DEFAULT_THREADS = 2
# A slow learning rate with L2 and a long patience: the shipped 0.1 / 30 stopped at about 30 trees,
# and on the 2021 validation year these settings were better on every truth (docs/model-card.md).
DEFAULT_ROUNDS = 3000
DEFAULT_EARLY_STOPPING = 100

XGBOOST_DEFAULTS: dict[str, Any] = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.03,
    "lambda": 1.0,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "max_bin": 256,
    "nthread": DEFAULT_THREADS,
}
LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "lambda_l2": 1.0,
    "num_leaves": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_bin": 255,
    "num_threads": DEFAULT_THREADS,
    # Same seed, same data -> same model, whatever the thread timing.
    "deterministic": True,
    "force_col_wise": True,
    "verbosity": -1,
}
_EARLY_STOPPING_METRIC = {
    "xgboost": {"aucpr": "aucpr", "logloss": "logloss"},
    "lightgbm": {"aucpr": "average_precision", "logloss": "binary_logloss"},
}

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; stages: dataset, fit (per boosting round), calibrate, evaluate."""

DateLike = np.datetime64 | dt.date | str


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True, eq=False)
class Dataset:
    """Rows with a known label. ``dates`` is the full ``(T,)`` date axis that ``date_idx`` points into."""

    X: npt.NDArray[np.float32]  # (R, F)
    y: npt.NDArray[np.float32]  # (R,) 0/1
    date_idx: IntArray  # (R,) into dates
    stock_idx: IntArray  # (R,) into the panel's stocks
    dates: npt.NDArray[np.datetime64]  # (T,) datetime64[D]
    feature_names: tuple[str, ...]
    info: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (R,)
    build_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.y)

    @property
    def row_dates(self) -> npt.NDArray[np.datetime64]:
        return self.dates[self.date_idx]

    @property
    def n_positive(self) -> int:
        return int(self.y.sum())

    def take(self, rows: npt.ArrayLike) -> Dataset:
        """A subset of rows (indices or a boolean mask over R), order kept."""
        idx = np.asarray(rows)
        return replace(
            self,
            X=self.X[idx],
            y=self.y[idx],
            date_idx=self.date_idx[idx],
            stock_idx=self.stock_idx[idx],
            info={k: v[idx] for k, v in self.info.items()},
        )

    def summary(self) -> dict[str, Any]:
        """Rows, positives and first/last date: JSON-ready."""
        n = len(self)
        return {
            "rows": n,
            "positives": self.n_positive,
            "base_rate": self.n_positive / n if n else None,
            "first_date": str(self.dates[self.date_idx[0]]) if n else None,
            "last_date": str(self.dates[self.date_idx[-1]]) if n else None,
            "days": len(np.unique(self.date_idx)),
        }


def build_dataset(
    values: npt.ArrayLike,
    labels: npt.ArrayLike,
    dates: npt.ArrayLike,
    *,
    feature_names: tuple[str, ...] | None = None,
    has_bar: npt.ArrayLike | None = None,
    row_info: Mapping[str, npt.ArrayLike] | None = None,
    chunk_rows: int = 500_000,
) -> Dataset:
    """Rows where the label is known (and the stock has a bar, when ``has_bar`` is given).

    Features may be NaN: both boosters learn a default branch for missing values. ``row_info`` values
    are ``(T, N)`` panels or ``(N,)`` per-stock arrays (e.g. series), picked at each row.
    """
    started = time.perf_counter()
    cube = np.asarray(values)
    lab = np.asarray(labels, dtype=np.float64)
    if cube.ndim != 3 or cube.shape[:2] != lab.shape:
        raise ValueError(f"values must be (T, N, F) matching labels (T, N); got {cube.shape} and {lab.shape}")
    t_len, n_len, f_len = cube.shape
    date_axis = np.asarray(dates).astype("datetime64[D]")
    if date_axis.shape != (t_len,):
        raise ValueError(f"dates must be ({t_len},), got {date_axis.shape}")
    names = tuple(feature_names) if feature_names is not None else tuple(f"f{i}" for i in range(f_len))
    if len(names) != f_len:
        raise ValueError(f"{len(names)} feature names for {f_len} features")
    keep = ~np.isnan(lab)
    if has_bar is not None:
        keep &= np.asarray(has_bar, dtype=bool)
    t_idx, n_idx = np.nonzero(keep)  # row-major: ordered by date, then stock
    x = np.empty((len(t_idx), f_len), dtype=np.float32)
    # Chunks keep the float64 gather temporary small on the 3.4M-row real data.
    for lo in range(0, len(t_idx), chunk_rows):
        hi = lo + chunk_rows
        x[lo:hi] = cube[t_idx[lo:hi], n_idx[lo:hi]]
    info: dict[str, np.ndarray] = {}
    for key, arr in (row_info or {}).items():
        a = np.asarray(arr)
        if a.shape == (t_len, n_len):
            info[key] = a[t_idx, n_idx]
        elif a.shape == (n_len,):
            info[key] = a[n_idx]
        else:
            raise ValueError(f"row_info[{key!r}] must be ({t_len}, {n_len}) or ({n_len},), got {a.shape}")
    return Dataset(
        X=x,
        y=lab[t_idx, n_idx].astype(np.float32),
        date_idx=t_idx.astype(np.int64),
        stock_idx=n_idx.astype(np.int64),
        dates=date_axis,
        feature_names=names,
        info=info,
        build_seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True, eq=False)
class Split:
    train: Dataset
    valid: Dataset
    test: Dataset
    horizon: int
    purged_dates: dict[str, list[str]]  # boundary -> the dates dropped before it

    def windows(self) -> dict[str, Any]:
        """Training window, per-period rows and the purge: JSON-ready, for the model card."""
        return {
            "train": self.train.summary(),
            "valid": self.valid.summary(),
            "test": self.test.summary(),
            "horizon": self.horizon,
            "purged_dates": self.purged_dates,
        }


def _day_index(dates: npt.NDArray[np.datetime64], when: DateLike, *, after: bool) -> int:
    """Position of ``when`` in ``dates``: past it when ``after``, else before it."""
    day = np.asarray([when]).astype("datetime64[D]")
    return int(np.searchsorted(dates, day, side="right" if after else "left")[0])


def temporal_split(
    dataset: Dataset,
    *,
    train_end: DateLike,
    valid_end: DateLike,
    test_end: DateLike,
    horizon: int,
    train_start: DateLike | None = None,
) -> Split:
    """Train ``(.., train_end]``, valid ``(train_end, valid_end]``, test ``(valid_end, test_end]``.

    A label on day t looks at days t+1..t+horizon, so the last ``horizon`` trading dates of train and
    of valid are dropped: no label of an earlier period looks into the next one (the purge).
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 trading day, got {horizon}")
    d = dataset.dates
    # Index of the last trading date on or before each boundary.
    i_train, i_valid, i_test = (_day_index(d, x, after=True) - 1 for x in (train_end, valid_end, test_end))
    if not i_train < i_valid < i_test:
        raise ValueError(
            f"need train_end < valid_end < test_end on the trading calendar, got {i_train, i_valid, i_test}"
        )
    i_start = 0 if train_start is None else _day_index(d, train_start, after=False)
    di = dataset.date_idx
    periods = {
        "train": (di >= i_start) & (di <= i_train - horizon),
        "valid": (di > i_train) & (di <= i_valid - horizon),
        "test": (di > i_valid) & (di <= i_test),
    }
    parts = {name: dataset.take(mask) for name, mask in periods.items()}
    for name, part in parts.items():
        if len(part) == 0:
            raise ValueError(f"the {name} period has no rows after the {horizon}-day purge")
        if part.n_positive == 0:
            raise ValueError(f"the {name} period has no positive labels")
    purged = {
        "train_valid": [str(x) for x in d[max(i_train - horizon + 1, 0) : i_train + 1]],
        "valid_test": [str(x) for x in d[i_valid - horizon + 1 : i_valid + 1]],
    }
    return Split(train=parts["train"], valid=parts["valid"], test=parts["test"], horizon=horizon, purged_dates=purged)


def downsample_negatives(dataset: Dataset, *, rate: float, seed: int) -> Dataset:
    """Keep every positive and each negative with probability ``rate`` (seeded)."""
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"negative sample rate must be in (0, 1], got {rate}")
    if rate == 1.0:
        return dataset
    rng = np.random.default_rng(seed)
    keep = (dataset.y == 1) | (rng.random(len(dataset)) < rate)
    return dataset.take(keep)


def fit_calibration(raw: npt.ArrayLike, y: npt.ArrayLike, *, method: CalibrationMethod = "isotonic") -> Calibration:
    """Fit a monotone calibration of raw probabilities ``(R,)`` on validation labels ``(R,)``.

    ``isotonic`` is centred isotonic regression: sklearn's isotonic fit, then straight lines through
    the centre of each constant block, anchored at (0, 0) and (1, 1) so the map keeps the ranking
    beyond the outermost blocks too. Plain isotonic is a step function whose flat steps merge rows
    the model ranks apart, which costs PR-AUC and precision@k; the centred version is strictly
    increasing between the first and last block centres, so it keeps the ranking.
    """
    # sklearn is imported where it is used: ~0.5 s at import, and every manage.py start reaches this
    # module through the URLconf's system check.
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    p = np.asarray(raw, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    if method == "identity":
        return Calibration("identity")
    if method == "platt":
        q = np.clip(p, 1e-12, 1 - 1e-12)
        logit = np.log(q / (1 - q)).reshape(-1, 1)
        lr = LogisticRegression(C=1e6).fit(logit, t.astype(int))
        return Calibration("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    if method != "isotonic":
        raise ValueError(f"unknown calibration method {method!r}")
    order = np.argsort(p, kind="stable")
    xs, ts = p[order], t[order]
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit_transform(xs, ts)
    # Fitted values are non-decreasing along xs, so each distinct value is one contiguous block.
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    counts = np.diff(np.r_[starts, len(xs)])
    centres = np.add.reduceat(xs, starts) / counts
    levels = fitted[starts]
    # Anchor the ends at (0, 0) and (1, 1): beyond the outer block centres np.interp would be flat,
    # tying every row the model scores above the last centre, exactly where the top-20 is chosen.
    if centres[-1] < 1.0 and levels[-1] < 1.0:
        centres, levels = np.append(centres, 1.0), np.append(levels, 1.0)
    if centres[0] > 0.0 and levels[0] > 0.0:
        centres, levels = np.insert(centres, 0, 0.0), np.insert(levels, 0, 0.0)
    return Calibration("isotonic", x=tuple(map(float, centres)), y=tuple(map(float, levels)))


def choose_threshold(y: npt.ArrayLike, proba: npt.ArrayLike) -> float:
    """The probability cut maximising F1 on ``(y, proba)`` (the validation period).

    The cut sits halfway between the lowest score kept and the next lower distinct score, not on a
    score itself: a row scored exactly at the cut would flip on float32 noise (native vs ONNX).
    """
    t = np.asarray(y, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    if t.sum() == 0:
        raise ValueError("cannot choose a threshold without positives")
    from sklearn.metrics import precision_recall_curve

    precision, recall, cuts = precision_recall_curve(t, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
    best = float(cuts[int(np.argmax(f1))])
    lower = p[p < best]
    return (best + float(lower.max())) / 2 if len(lower) else best


def dataset_fingerprint(dataset: Dataset) -> str:
    """sha256 over rows, labels, dates and feature names: equal fingerprints, equal training data."""
    h = hashlib.sha256()
    h.update("\x1f".join(dataset.feature_names).encode())
    for arr in (dataset.X, dataset.y, dataset.date_idx, dataset.stock_idx, dataset.dates.astype("int64")):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


@dataclass
class TrainResult:
    """A fitted model with everything needed to export, store and serve it."""

    algorithm: Algorithm
    model: Any  # xgboost.Booster | lightgbm.Booster, trimmed to the best iteration
    feature_names: tuple[str, ...]
    params: dict[str, Any]
    seed: int
    best_iteration: int
    n_trees: int
    threshold: float
    new_circuit_threshold: float
    calibration: Calibration
    imbalance: dict[str, Any]
    valid_metrics: dict[str, Any]
    test_metrics: dict[str, Any]
    feature_importance: dict[str, float]
    timings: dict[str, float]
    windows: dict[str, Any]

    def metadata(self) -> dict[str, Any]:
        """Everything but the model, JSON-ready (the artifact's metadata.json starts from this)."""
        return {
            "algorithm": self.algorithm,
            "feature_names": list(self.feature_names),
            "params": self.params,
            "seed": self.seed,
            "best_iteration": self.best_iteration,
            "n_trees": self.n_trees,
            "threshold": self.threshold,
            "new_circuit_threshold": self.new_circuit_threshold,
            "calibration": self.calibration.to_dict(),
            "imbalance": self.imbalance,
            "metrics": {"valid": self.valid_metrics, "test": self.test_metrics},
            "feature_importance": self.feature_importance,
            "timings": self.timings,
            "windows": self.windows,
        }


def _fit_xgboost(
    train: Dataset,
    valid: Dataset,
    *,
    params: dict[str, Any],
    rounds: int,
    early_stopping: int,
    stop_metric: str,
    progress: ProgressCallback,
) -> tuple[Any, int, float]:
    import xgboost as xgb

    started = time.perf_counter()
    nthread = int(params.get("nthread", DEFAULT_THREADS))
    max_bin = int(params.get("max_bin", 256))
    # Feature names stay f0..fN on the booster: the ONNX converter requires that pattern.
    dtrain = xgb.QuantileDMatrix(train.X, label=train.y, max_bin=max_bin, nthread=nthread)
    # A plain DMatrix for validation: with a QuantileDMatrix (ref=dtrain) the aucpr evaluation each
    # round was ~10x slower than the boosting itself (measured, xgboost 3.2).
    dvalid = xgb.DMatrix(valid.X, label=valid.y, nthread=nthread)
    prepare = time.perf_counter() - started

    class _Progress(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            progress("fit", epoch + 1, rounds)
            return False

    other = "logloss" if stop_metric == "aucpr" else "aucpr"
    # XGBoost early-stops on the last metric listed.
    full = {**params, "eval_metric": [other, stop_metric]}
    booster = xgb.train(
        full,
        dtrain,
        num_boost_round=rounds,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=early_stopping,
        verbose_eval=False,
        callbacks=[_Progress()],
    )
    best = int(getattr(booster, "best_iteration", booster.num_boosted_rounds() - 1))
    # Keep only the trees up to the best round so native, ONNX and the stored file agree.
    return booster[: best + 1], best, prepare


def _fit_lightgbm(
    train: Dataset,
    valid: Dataset,
    *,
    params: dict[str, Any],
    rounds: int,
    early_stopping: int,
    stop_metric: str,
    progress: ProgressCallback,
) -> tuple[Any, int, float]:
    import lightgbm as lgb

    started = time.perf_counter()
    names = list(train.feature_names)
    other = "binary_logloss" if stop_metric == "average_precision" else "average_precision"
    full = {**params, "metric": [stop_metric, other]}
    dtrain = lgb.Dataset(train.X, label=train.y, feature_name=names, params=full, free_raw_data=True)
    dvalid = lgb.Dataset(valid.X, label=valid.y, feature_name=names, reference=dtrain, params=full)
    # Bin now (LightGBM is lazy) so the "dataset" timing holds the binning and "fit" only the boosting.
    dtrain.construct()
    dvalid.construct()
    prepare = time.perf_counter() - started

    def _progress(env: Any) -> None:
        progress("fit", env.iteration + 1, rounds)

    booster = lgb.train(
        full,
        dtrain,
        num_boost_round=rounds,
        valid_sets=[dvalid],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(early_stopping, first_metric_only=True, verbose=False), _progress],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return trimmed, best - 1, prepare


def _row_slices(dataset: Dataset) -> dict[str, np.ndarray | None]:
    return {
        "hit_today": dataset.info.get(INFO_HIT_TODAY),
        "momentum": dataset.info.get(INFO_RETURN_20D),
        "series": dataset.info.get(INFO_SERIES),
    }


def _new_circuit_threshold(valid: Dataset, proba: FloatArray, *, default: float) -> float:
    """The F1-maximising threshold among validation rows not locked today (the new-circuit ranking)."""
    locked = valid.info.get(INFO_HIT_TODAY)
    if locked is None:
        return default
    fresh = ~np.asarray(locked, dtype=bool)
    return choose_threshold(valid.y[fresh], proba[fresh]) if valid.y[fresh].sum() > 0 else default


def _metrics(rows: Dataset, proba: FloatArray, threshold: float, new_threshold: float, *, k: int) -> dict[str, Any]:
    """``evaluate`` on the label (slices, baselines) plus, when the rows carry them, the three truths
    beside the naive rules, each scored with the model's own ranking for that event."""
    report = evaluate(rows.y, proba, threshold, day=rows.date_idx, k=k, **_row_slices(rows))
    truths = truths_from_info(rows.info)
    if truths:  # a feature-set variant without the band columns still gets them: rankings_of degrades
        ranked = rankings_of(
            proba, rows.X, rows.feature_names, threshold=threshold, new_circuit_threshold=new_threshold
        )
        report["truths"] = evaluate_truths(
            proba,
            threshold,
            day=rows.date_idx,
            truths=truths,
            k=k,
            scores_by_truth={"strict": ranked.strict_probability},
            new_threshold=new_threshold,
        )
    return report


def train(
    algorithm: Algorithm,
    split: Split,
    *,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    rounds: int = DEFAULT_ROUNDS,
    early_stopping_rounds: int = DEFAULT_EARLY_STOPPING,
    early_stopping_metric: Literal["aucpr", "logloss"] = "aucpr",
    negative_sample_rate: float = 1.0,
    scale_pos_weight: float | Literal["auto"] | None = None,
    calibration: CalibrationMethod = "isotonic",
    top_k: int = 20,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Fit on train, early-stop, calibrate and pick the threshold on valid, report on test.

    ``params`` override the library defaults above. Class imbalance: ``negative_sample_rate`` < 1
    down-samples train negatives (seeded; valid and test are never sampled), ``scale_pos_weight``
    up-weights positives (``"auto"``: negatives / positives after sampling). Calibration on the
    unsampled validation period maps the resulting scores back to real probabilities.
    """
    if algorithm not in ("xgboost", "lightgbm"):
        raise ValueError(f"algorithm must be 'xgboost' or 'lightgbm', got {algorithm!r}")
    report = progress or _no_progress
    timings: dict[str, float] = {"build_dataset": split.train.build_seconds}
    started = time.perf_counter()
    report("dataset", 0, 1)
    train_rows = downsample_negatives(split.train, rate=negative_sample_rate, seed=seed)
    positives = train_rows.n_positive
    negatives = len(train_rows) - positives
    spw = negatives / max(positives, 1) if scale_pos_weight == "auto" else scale_pos_weight
    imbalance = {
        "negative_sample_rate": negative_sample_rate,
        "sample_seed": seed,
        "train_positives": positives,
        "train_negatives_before": len(split.train) - split.train.n_positive,
        "train_negatives_after": negatives,
        "scale_pos_weight": spw,
    }
    defaults = XGBOOST_DEFAULTS if algorithm == "xgboost" else LIGHTGBM_DEFAULTS
    full_params: dict[str, Any] = {**defaults, **(params or {}), "seed": seed}
    if spw is not None:
        full_params["scale_pos_weight"] = float(spw)
    stop_metric = _EARLY_STOPPING_METRIC[algorithm][early_stopping_metric]
    sampling = time.perf_counter() - started
    report("dataset", 1, 1)

    fit = _fit_xgboost if algorithm == "xgboost" else _fit_lightgbm
    started = time.perf_counter()
    model, best, prepare = fit(
        train_rows,
        split.valid,
        params=full_params,
        rounds=rounds,
        early_stopping=early_stopping_rounds,
        stop_metric=stop_metric,
        progress=report,
    )
    timings["dataset"] = sampling + prepare
    timings["fit"] = time.perf_counter() - started - prepare

    started = time.perf_counter()
    report("calibrate", 0, 1)
    valid_raw = native_predict_raw(model, split.valid.X)
    calib = fit_calibration(valid_raw, split.valid.y, method=calibration)
    valid_p = calib.apply(valid_raw)
    threshold = choose_threshold(split.valid.y, valid_p)
    new_threshold = _new_circuit_threshold(split.valid, valid_p, default=threshold)
    timings["calibrate"] = time.perf_counter() - started
    report("calibrate", 1, 1)

    started = time.perf_counter()
    report("evaluate", 0, 1)
    test_p = calib.apply(native_predict_raw(model, split.test.X))
    valid_metrics = _metrics(split.valid, valid_p, threshold, new_threshold, k=top_k)
    test_metrics = _metrics(split.test, test_p, threshold, new_threshold, k=top_k)
    importance = feature_importance(model, split.train.feature_names)
    timings["evaluate"] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    report("evaluate", 1, 1)

    return TrainResult(
        algorithm=algorithm,
        model=model,
        feature_names=split.train.feature_names,
        params=full_params,
        seed=seed,
        best_iteration=best,
        n_trees=best + 1,
        threshold=threshold,
        new_circuit_threshold=new_threshold,
        calibration=calib,
        imbalance=imbalance,
        valid_metrics=valid_metrics,
        test_metrics=test_metrics,
        feature_importance=importance,
        timings={k: round(v, 4) for k, v in timings.items()},
        windows=split.windows(),
    )


@dataclass(frozen=True)
class RefitRecipe:
    """What a validated run chose, reused by its production refit: the refit has no held-out rows
    of its own, so it takes the boosting rounds, the calibration and both thresholds as they are."""

    algorithm: Algorithm
    params: dict[str, Any]
    n_trees: int
    calibration: Calibration
    threshold: float
    new_circuit_threshold: float
    negative_sample_rate: float
    seed: int


def _fit_fixed(
    algorithm: Algorithm, rows: Dataset, *, params: dict[str, Any], rounds: int, report: ProgressCallback
) -> Any:
    """Boost exactly ``rounds`` trees, no validation set (the rounds were chosen by a validated run)."""
    if algorithm == "xgboost":
        import xgboost as xgb

        nthread = int(params.get("nthread", DEFAULT_THREADS))
        dtrain = xgb.QuantileDMatrix(rows.X, label=rows.y, max_bin=int(params.get("max_bin", 256)), nthread=nthread)

        class _Progress(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                report("fit", epoch + 1, rounds)
                return False

        fixed = {k: v for k, v in params.items() if k != "eval_metric"}
        return xgb.train(fixed, dtrain, num_boost_round=rounds, callbacks=[_Progress()])
    import lightgbm as lgb

    fixed = {k: v for k, v in params.items() if k != "metric"}
    lgb_rows = lgb.Dataset(rows.X, label=rows.y, feature_name=list(rows.feature_names), params=fixed)

    def _progress(env: Any) -> None:
        report("fit", env.iteration + 1, rounds)

    return lgb.train(fixed, lgb_rows, num_boost_round=rounds, callbacks=[_progress])


def refit(recipe: RefitRecipe, rows: Dataset, *, progress: ProgressCallback | None = None) -> TrainResult:
    """Train ``recipe`` on ``rows`` (every labelled row up to the last bar) with its fixed rounds.

    The result carries no metrics of its own (nothing was held out): the registry links it to the
    validated run, whose test metrics are the evidence for it.
    """
    if len(rows) == 0 or rows.n_positive == 0:
        raise ValueError("the refit period has no rows with a positive label")
    report = progress or _no_progress
    started = time.perf_counter()
    sampled = downsample_negatives(rows, rate=recipe.negative_sample_rate, seed=recipe.seed)
    params = {**recipe.params, "seed": recipe.seed}
    model = _fit_fixed(recipe.algorithm, sampled, params=params, rounds=recipe.n_trees, report=report)
    fit_seconds = time.perf_counter() - started
    return TrainResult(
        algorithm=recipe.algorithm,
        model=model,
        feature_names=rows.feature_names,
        params=params,
        seed=recipe.seed,
        best_iteration=recipe.n_trees - 1,
        n_trees=recipe.n_trees,
        threshold=recipe.threshold,
        new_circuit_threshold=recipe.new_circuit_threshold,
        calibration=recipe.calibration,
        imbalance={
            "negative_sample_rate": recipe.negative_sample_rate,
            "sample_seed": recipe.seed,
            "train_positives": sampled.n_positive,
            "train_negatives_before": len(rows) - rows.n_positive,
            "train_negatives_after": len(sampled) - sampled.n_positive,
            "scale_pos_weight": params.get("scale_pos_weight"),
        },
        valid_metrics={},
        test_metrics={},
        feature_importance=feature_importance(model, rows.feature_names),
        timings={"fit": round(fit_seconds, 4), "total": round(fit_seconds, 4)},
        windows={"train": rows.summary(), "horizon": None, "purged_dates": {}},
    )


def synthetic_cube(
    *,
    n_dates: int = 120,
    n_stocks: int = 150,
    n_features: int = 25,
    seed: int = 0,
    nan_fraction: float = 0.03,
    signal: bool = True,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.datetime64], dict[str, np.ndarray]]:
    """A synthetic ``(values, labels, dates, row_info)`` of real shapes, for tests and benchmarks.

    About 2-3% positives. With ``signal`` the label depends on features 0-3 and on today's circuit
    flag (circuits come in streaks); ``return_20d`` carries a little signal (the momentum baseline);
    series EQ has a lower base rate than the rest. NaNs are sprinkled into every feature, about 5%
    of stock-days have no bar and the last date has no label, as from ``next_day_label``.
    """
    rng = np.random.default_rng(seed)
    shape = (n_dates, n_stocks)
    values = rng.standard_normal((*shape, n_features))
    series = np.where(rng.random(n_stocks) < 0.7, "EQ", rng.choice(["BE", "SM", "ST"], n_stocks)).astype(object)
    is_eq = (series == "EQ")[None, :]
    hit_today = rng.random(shape) < 1 / (1 + np.exp(-(-4.3 + 1.2 * values[..., 0])))
    momentum = 0.3 * values[..., 1] + rng.standard_normal(shape)
    if signal:
        logit = (
            -4.6
            + 1.1 * values[..., 0]
            + 0.8 * values[..., 1]
            - 0.6 * values[..., 2]
            + 0.5 * values[..., 0] * values[..., 3]
            + 2.0 * hit_today
            - 0.7 * is_eq
        )
    else:
        logit = np.full(shape, -3.6)
    labels = (rng.random(shape) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    values[rng.random(values.shape) < nan_fraction] = np.nan
    has_bar = rng.random(shape) > 0.05
    labels[~has_bar] = np.nan
    labels[-1] = np.nan
    dates = np.datetime64("2021-01-01") + np.arange(n_dates).astype("timedelta64[D]")
    info = {INFO_SERIES: series, INFO_HIT_TODAY: hit_today & has_bar, INFO_RETURN_20D: momentum}
    return values, labels, dates, info
