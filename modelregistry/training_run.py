"""One complete, honest training run on a panel: split, fit, calibrate, export with the parity gate,
and freeze the drift reference. Pure (no Django): the train_model command stores the outcome in the
registry, and scripts/model_card.py runs it straight on the real Parquet file.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from features import spec
from features.reference import FeatureReference, population_filter, reference_from_training
from modelregistry import training
from modelregistry.datasets import PanelDataset
from modelregistry.export import OnnxExport, export_onnx

# The drift reference does not need every row: a seeded sample keeps it to seconds. The parity gate
# does check every test row: a LightGBM threshold bug once showed on 1 row in 500,000.
REFERENCE_ROWS = 500_000
# Drift decides "retrain needed" on the features that carry this share of the model's gain: on the
# real data the trend features follow the market cycle and sit above PSI 0.25 in most months, even
# inside the training years, while the features the model uses stay steady (docs/monitoring.md).
WATCHED_GAIN_SHARE = 0.9
# The refit has no test period, so the ONNX parity gate checks its latest rows instead.
REFIT_PARITY_ROWS = 200_000
# Defined only after a stock's first 252 trading days: marks rows with complete features.
SEASONED_FEATURE = "dist_high252"
MIN_SEASONED_ROWS = 1_000

StageCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class Windows:
    """Training window boundaries (inclusive ends). Test days are never used for any choice."""

    train_start: dt.date
    train_end: dt.date
    valid_end: dt.date
    test_end: dt.date

    def __post_init__(self) -> None:
        if not self.train_start < self.train_end < self.valid_end <= self.test_end:
            raise ValueError(
                "need train_start < train_end < valid_end <= test_end, got "
                f"{self.train_start}, {self.train_end}, {self.valid_end}, {self.test_end}"
            )


@dataclass(frozen=True)
class RefitWindow:
    """A production refit's one period: every labelled day from ``train_start`` to ``train_end``."""

    train_start: dt.date
    train_end: dt.date


@dataclass
class TrainingOutcome:
    result: training.TrainResult
    onnx: OnnxExport
    reference: FeatureReference
    windows: Windows | RefitWindow
    horizon: int
    data_fingerprint: str
    universe: str
    timings: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def artifact_metadata(self) -> dict[str, Any]:
        meta = self.result.metadata()
        meta.update(
            {
                "feature_set_hash": spec.FEATURE_SET_HASH,
                "feature_set_version": spec.FEATURE_SET_VERSION,
                "horizon": self.horizon,
                "universe": self.universe,
                "data_fingerprint": self.data_fingerprint,
                "training_window": {k: str(v) for k, v in self.windows.__dict__.items()},
                "onnx_parity": self.onnx.parity.to_dict(),
                "pipeline_timings": self.timings,
            }
        )
        return meta


def default_windows(
    dates: npt.NDArray[np.datetime64], *, valid_share: float = 0.15, test_share: float = 0.2
) -> Windows:
    """Split a date range: the last ``test_share`` for test, the ``valid_share`` before it for validation."""
    n = len(dates)
    if n < 30:
        raise ValueError(f"need at least 30 trading dates to train, got {n}")
    test_from = int(n * (1 - test_share))
    valid_from = int(n * (1 - test_share - valid_share))
    as_date = [
        d.astype("datetime64[D]").item() for d in (dates[0], dates[valid_from - 1], dates[test_from - 1], dates[-1])
    ]
    return Windows(train_start=as_date[0], train_end=as_date[1], valid_end=as_date[2], test_end=as_date[3])


def watched_features(importance: dict[str, float], *, share: float = WATCHED_GAIN_SHARE) -> list[str]:
    """The fewest features whose gain adds up to ``share`` of the total, highest first."""
    ranked = sorted(((v, k) for k, v in importance.items() if v > 0), reverse=True)
    total = sum(v for v, _ in ranked)
    chosen: list[str] = []
    running = 0.0
    for value, name in ranked:
        if total and running >= share * total:
            break
        chosen.append(name)
        running += value
    return chosen


def _reference_rows(x: npt.NDArray[np.float32], *, seed: int) -> tuple[npt.NDArray[np.float32], str]:
    """Training rows for the drift reference: stock-days with a full year of history, and the
    population filter they passed (recorded with the reference, so a drift check filters alike).

    Rows in a stock's first year lack the long-window features; in training data that starts with
    the data set they are a large block of NaN that a scored day (mostly seasoned stocks) never has,
    so they would read as drift on every feature's missing bin.
    """
    seasoned = np.isfinite(x[:, spec.FEATURE_INDEX[SEASONED_FEATURE]])
    population = population_filter(None)
    if seasoned.sum() >= MIN_SEASONED_ROWS:
        x = x[seasoned]
        population = population_filter(SEASONED_FEATURE)
    return x[_sample(len(x), REFERENCE_ROWS, seed)], population


def _freeze_reference(x: npt.NDArray[np.float32], *, seed: int) -> FeatureReference:
    rows, population = _reference_rows(x, seed=seed)
    return reference_from_training(rows, list(spec.FEATURE_NAMES), population=population)


def _sample(rows: int, limit: int, seed: int) -> npt.NDArray[np.int64]:
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def _export_and_freeze(
    result: training.TrainResult,
    *,
    parity_rows: npt.NDArray[np.float32],
    train_rows: training.Dataset,
    seed: int,
    windows: Windows | RefitWindow,
    horizon: int,
    universe: str,
    timings: dict[str, float],
    stage: StageCallback,
    config: dict[str, Any],
) -> TrainingOutcome:
    """The common tail of a training and a refit: ONNX export through the parity gate on
    ``parity_rows``, the drift reference frozen from ``train_rows``, and the outcome record."""
    started = time.perf_counter()
    onnx = export_onnx(result.model, rows=parity_rows, threshold=result.threshold, calibration=result.calibration)
    timings["export_onnx"] = time.perf_counter() - started
    stage("export_onnx", timings["export_onnx"])

    started = time.perf_counter()
    reference = _freeze_reference(train_rows.X, seed=seed)
    timings["drift_reference"] = time.perf_counter() - started
    stage("drift_reference", timings["drift_reference"])
    return TrainingOutcome(
        result=result,
        onnx=onnx,
        reference=reference,
        windows=windows,
        horizon=horizon,
        data_fingerprint=training.dataset_fingerprint(train_rows),
        universe=universe,
        timings={k: round(v, 3) for k, v in timings.items()},
        config={
            **config,
            "n_trees": result.n_trees,
            "params": result.params,
            "universe": universe,
            "horizon": horizon,
            "watched_features": watched_features(result.feature_importance),
        },
    )


def run_training(
    data: PanelDataset,
    *,
    algorithm: training.Algorithm,
    windows: Windows,
    universe_mask: npt.NDArray[np.bool_] | None = None,
    universe: str = "all",
    seed: int = 0,
    negative_sample_rate: float = 0.3,
    rounds: int = training.DEFAULT_ROUNDS,
    params: dict[str, Any] | None = None,
    progress: training.ProgressCallback | None = None,
    on_stage: StageCallback | None = None,
) -> TrainingOutcome:
    """Split ``data`` by ``windows`` (purged by the label horizon), train, calibrate, export, freeze.

    ``universe_mask`` (T, N) keeps only some stock-days (e.g. one series of the day).
    """
    timings: dict[str, float] = dict(data.seconds)
    stage = on_stage or (lambda name, seconds: None)
    dataset = data.dataset
    if universe_mask is not None:
        dataset = dataset.take(np.asarray(universe_mask, dtype=bool)[dataset.date_idx, dataset.stock_idx])
    started = time.perf_counter()
    split = training.temporal_split(
        dataset,
        train_start=windows.train_start,
        train_end=windows.train_end,
        valid_end=windows.valid_end,
        test_end=windows.test_end,
        horizon=data.horizon,
    )
    timings["split"] = time.perf_counter() - started
    stage("split", timings["split"])

    started = time.perf_counter()
    result = training.train(
        algorithm,
        split,
        params=params,
        seed=seed,
        rounds=rounds,
        negative_sample_rate=negative_sample_rate,
        progress=progress,
    )
    timings["train"] = time.perf_counter() - started
    stage("train", timings["train"])

    return _export_and_freeze(
        result,
        parity_rows=split.test.X,
        train_rows=split.train,
        seed=seed,
        windows=windows,
        horizon=data.horizon,
        universe=universe,
        timings=timings,
        stage=stage,
        config={"algorithm": algorithm, "seed": seed, "negative_sample_rate": negative_sample_rate, "rounds": rounds},
    )


def run_refit(
    data: PanelDataset,
    *,
    recipe: training.RefitRecipe,
    window: RefitWindow,
    universe_mask: npt.NDArray[np.bool_] | None = None,
    universe: str = "all",
    progress: training.ProgressCallback | None = None,
    on_stage: StageCallback | None = None,
) -> TrainingOutcome:
    """Refit ``recipe`` (a validated run's choices) on every labelled row of ``window``, then export
    with the parity gate on the latest rows and freeze the drift reference. Nothing is held out."""
    timings: dict[str, float] = dict(data.seconds)
    stage = on_stage or (lambda name, seconds: None)
    dataset = data.dataset
    if universe_mask is not None:
        dataset = dataset.take(np.asarray(universe_mask, dtype=bool)[dataset.date_idx, dataset.stock_idx])
    days = dataset.dates[dataset.date_idx]
    rows = dataset.take(
        (days >= np.datetime64(window.train_start, "D")) & (days <= np.datetime64(window.train_end, "D"))
    )
    started = time.perf_counter()
    result = training.refit(recipe, rows, progress=progress)
    timings["train"] = time.perf_counter() - started
    stage("train", timings["train"])

    return _export_and_freeze(
        result,
        parity_rows=rows.X[-REFIT_PARITY_ROWS:],
        train_rows=rows,
        seed=recipe.seed,
        windows=window,
        horizon=data.horizon,
        universe=universe,
        timings=timings,
        stage=stage,
        config={
            "algorithm": recipe.algorithm,
            "seed": recipe.seed,
            "negative_sample_rate": recipe.negative_sample_rate,
            "rounds": recipe.n_trees,
        },
    )
