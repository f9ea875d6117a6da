"""One walk-forward fold: train on the past year, choose the threshold on its purged tail, score the month.

Pure (no Django). Input is a ``modelregistry.training.Dataset`` whose ``dates`` axis contains the
fold's boundaries (rows ordered by date) and a ``walkforward.Fold``. Inside the fold's training window
(already purged against the test window by ``make_folds``):

    train_start ............ train_hi | purge | valid_lo ......... train_end | purge | test_start .. test_end
    fit (negatives down-sampled)              early stopping, calibration,            scored only
                                              decision threshold

The validation tail is the last ``valid_dates`` trading dates of the training window, and the
``purge`` dates before it are dropped as well, so no fitting label reads a validation outcome. The
test month is only ever scored: nothing is chosen on it.

Output probabilities are calibrated on the validation tail; a row is a positive decision when its
probability is >= the fold's threshold. Dates are trading-date indices into ``dataset.dates``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from backtesting.feature_sets import feature_set_names, select_features
from backtesting.walkforward import Fold
from modelregistry import training
from modelregistry.runtime import Algorithm, CalibrationMethod, native_predict_raw

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FoldConfig:
    """How each fold's model is trained.

    ``threads`` is per fold task. One is the default: folds run in parallel as tasks, and on the
    shared 2-core machine two OpenMP threads spin-waiting against other processes made a LightGBM
    fit 3-4x slower than one thread (measured, docs/backtesting.md).
    """

    algorithm: Algorithm = "lightgbm"
    feature_set: str = "all"
    rounds: int = 200
    early_stopping_rounds: int = 30
    negative_sample_rate: float = 0.3
    valid_dates: int = 40
    calibration: CalibrationMethod = "isotonic"
    seed: int = 0
    top_k: int = 20
    threads: int = 1

    def __post_init__(self) -> None:
        if self.algorithm not in ("xgboost", "lightgbm"):
            raise ValueError(f"algorithm must be 'xgboost' or 'lightgbm', got {self.algorithm!r}")
        feature_set_names(self.feature_set)
        if self.rounds < 1 or self.valid_dates < 5 or self.threads < 1 or self.top_k < 1:
            raise ValueError("rounds, threads and top_k must be positive and valid_dates at least 5")
        if not 0.0 < self.negative_sample_rate <= 1.0:
            raise ValueError(f"negative_sample_rate must be in (0, 1], got {self.negative_sample_rate}")

    def params(self) -> dict[str, Any]:
        return {"num_threads": self.threads} if self.algorithm == "lightgbm" else {"nthread": self.threads}

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "feature_set": self.feature_set,
            "rounds": self.rounds,
            "early_stopping_rounds": self.early_stopping_rounds,
            "negative_sample_rate": self.negative_sample_rate,
            "valid_dates": self.valid_dates,
            "calibration": self.calibration,
            "seed": self.seed,
            "top_k": self.top_k,
            "threads": self.threads,
        }


@dataclass
class FoldOutcome:
    """A trained and scored fold. The arrays are the test rows (R,), in the dataset's order."""

    index: int
    valid_start: Any  # datetime.date: first validation date
    threshold: float
    new_circuit_threshold: float
    best_iteration: int
    metrics: dict[str, Any]  # evaluation.evaluate on the test month, with the baselines (and three truths)
    valid_metrics: dict[str, Any]
    feature_importance: dict[str, float]
    rows: dict[str, int]
    date_idx: IntArray
    stock_idx: IntArray
    probability: FloatArray
    y: npt.NDArray[np.float32]
    hit_today: npt.NDArray[np.bool_]
    momentum: npt.NDArray[np.float32]
    timings: dict[str, float] = field(default_factory=dict)


def _index(dates: npt.NDArray[np.datetime64], day: Any) -> int:
    i = int(np.searchsorted(dates, np.datetime64(day, "D")))
    if i >= dates.size or dates[i] != np.datetime64(day, "D"):
        raise ValueError(f"{day} is not a trading date of the dataset")
    return i


def fold_split(dataset: training.Dataset, fold: Fold, *, valid_dates: int, purge: int, horizon: int) -> training.Split:
    """Train / validation tail / test rows of ``fold`` (see the module docstring for the layout)."""
    d = dataset.dates
    train_lo, train_end = _index(d, fold.train_start), _index(d, fold.train_end)
    test_lo, test_hi = _index(d, fold.test_start), _index(d, fold.test_end)
    valid_lo = train_end - valid_dates + 1
    train_hi = valid_lo - 1 - purge
    if train_hi < train_lo:
        raise ValueError(
            f"fold {fold.index}: {fold.n_train_dates} training dates cannot hold a {valid_dates}-date "
            f"validation tail and a {purge}-date purge"
        )
    di = dataset.date_idx
    parts = {
        "train": (di >= train_lo) & (di <= train_hi),
        "valid": (di >= valid_lo) & (di <= train_end),
        "test": (di >= test_lo) & (di <= test_hi),
    }
    split = {name: dataset.take(np.flatnonzero(mask)) for name, mask in parts.items()}
    for name, part in split.items():
        if len(part) == 0 or part.n_positive == 0:
            raise ValueError(f"fold {fold.index}: the {name} period has no rows or no positive label")
    purged = {
        "train_valid": [str(x) for x in d[train_hi + 1 : valid_lo]],
        "valid_test": [str(x) for x in d[train_end + 1 : test_lo]],
    }
    return training.Split(
        train=split["train"], valid=split["valid"], test=split["test"], horizon=horizon, purged_dates=purged
    )


def train_fold(dataset: training.Dataset, fold: Fold, *, config: FoldConfig, purge: int, horizon: int) -> FoldOutcome:
    """Fit, calibrate and threshold on the training window of ``fold``; score and evaluate its test month."""
    started = time.perf_counter()
    data = select_features(dataset, feature_set_names(config.feature_set))
    split = fold_split(data, fold, valid_dates=config.valid_dates, purge=purge, horizon=horizon)
    split_seconds = time.perf_counter() - started
    result = training.train(
        config.algorithm,
        split,
        params=config.params(),
        seed=config.seed,
        rounds=config.rounds,
        early_stopping_rounds=config.early_stopping_rounds,
        negative_sample_rate=config.negative_sample_rate,
        calibration=config.calibration,
        top_k=config.top_k,
    )
    started_scoring = time.perf_counter()
    test = split.test
    probability = result.calibration.apply(native_predict_raw(result.model, test.X, n_threads=config.threads))
    timings = {"split": round(split_seconds, 4), **result.timings, "score": time.perf_counter() - started_scoring}
    return FoldOutcome(
        index=fold.index,
        valid_start=np.datetime64(split.valid.dates[split.valid.date_idx[0]], "D").astype(object),
        threshold=float(result.threshold),
        new_circuit_threshold=float(result.new_circuit_threshold),
        best_iteration=int(result.best_iteration),
        metrics=result.test_metrics,
        valid_metrics=result.valid_metrics,
        feature_importance=result.feature_importance,
        rows={
            "train": len(split.train),
            "train_positives": split.train.n_positive,
            "train_after_sampling": int(
                result.imbalance["train_positives"] + result.imbalance["train_negatives_after"]
            ),
            "valid": len(split.valid),
            "valid_positives": split.valid.n_positive,
            "test": len(test),
            "test_positives": test.n_positive,
        },
        date_idx=test.date_idx.copy(),
        stock_idx=test.stock_idx.copy(),
        probability=probability,
        y=test.y.copy(),
        hit_today=np.asarray(test.info[training.INFO_HIT_TODAY], dtype=bool).copy(),
        momentum=np.asarray(test.info[training.INFO_RETURN_20D], dtype=np.float32).copy(),
        timings={k: round(float(v), 4) for k, v in timings.items()},
    )
