"""Writes of backtesting: backtests of a registered version, walk-forwards, and model comparisons.

Each run is claimed under the fingerprint of its configuration: the same configuration again updates
its row (``runs`` + 1) rather than adding one, and a run still pending or running is not started
twice unless forced. Every run records its status, per-stage timings, counts and error.

Walk-forward: ``walk_forward_create`` claims the run and enqueues ``walk_forward_prepare`` on commit;
preparing reads the bars once, computes the features once into the disk cache
(``backtesting.feature_cache``, under ``VCP_DATA_DIR/backtesting/features``), writes one
``WalkForwardFold`` row per fold and dispatches the folds as a Celery group whose chord callback
``walk_forward_finish`` pools the out-of-sample predictions, trades them and summarises the folds.
Workers must share ``VCP_DATA_DIR``. Without a broker (eager mode) all of it runs in-process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backtesting import feature_cache, selectors
from backtesting.choices import ACTIVE_STATUSES, BacktestSource, ComparisonKind, RunStatus
from backtesting.engine import BacktestConfig
from backtesting.feature_sets import DEFAULT_FEATURE_SET, select_features
from backtesting.fold_training import FoldConfig, train_fold
from backtesting.jsonify import jsonable
from backtesting.models import BacktestRun, ComparisonRun, WalkForwardFold, WalkForwardRun
from backtesting.periods import ScoredRows, prediction_metrics
from backtesting.stats import mcnemar_compare, pr_auc_difference_ci, summarise_folds
from backtesting.trading import (
    TradingOutcome,
    config_from_dict,
    config_to_dict,
    deflate,
    outcome_series,
    outcome_summary,
    trade,
    trades_table,
)
from backtesting.walkforward import Fold, make_folds
from features import spec
from features.panel import Panel
from marketdata.selectors import bars_panel, nth_trading_date_before, trading_dates
from modelregistry import artifacts
from modelregistry.datasets import panel_dataset
from modelregistry.evaluation import DEFAULT_K, evaluate, feature_importance
from modelregistry.models import ModelVersion
from modelregistry.runtime import NativeScorer
from modelregistry.training import INFO_HIT_TODAY, INFO_RETURN_20D, INFO_SERIES, Dataset

logger = logging.getLogger(__name__)

Run = TypeVar("Run", BacktestRun, WalkForwardRun, ComparisonRun)

DEFAULT_TARGET_F1 = 0.65


class BacktestError(Exception):
    """A run cannot be made as asked: bad dates, no bars, a missing artifact, a run in progress."""


class RunInProgressError(BacktestError):
    pass


# --- records ----------------------------------------------------------------------------------------


def config_fingerprint(config: dict[str, Any]) -> str:
    """sha256 of a configuration's canonical JSON."""
    return hashlib.sha256(json.dumps(jsonable(config), sort_keys=True).encode()).hexdigest()


def _claim(model: type[Run], *, config: dict[str, Any], fields: dict[str, Any], force: bool) -> Run:
    """The row of this configuration, reset to pending (created when new)."""
    fingerprint = config_fingerprint(config)
    with transaction.atomic():
        run, created = model.objects.select_for_update().get_or_create(
            fingerprint=fingerprint, defaults={**fields, "config": jsonable(config)}
        )
        if not created and run.status in ACTIVE_STATUSES and not force:
            raise RunInProgressError(
                f"{model._meta.verbose_name} {run.pk} with this configuration is {run.status}; "
                "wait for it to finish, or force a restart"
            )
        for name, value in fields.items():
            setattr(run, name, value)
        run.config = jsonable(config)
        run.status = RunStatus.PENDING
        run.error = ""
        run.timings = {}
        run.seconds = None
        run.started_at = None
        run.finished_at = None
        run.runs += 1
        run.save()
    return run


def _mark_running(run: Run) -> None:
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])


def _mark_failed(run: Run, exc: BaseException, timings: dict[str, float] | None = None) -> None:
    run.status = RunStatus.FAILED
    run.error = f"{type(exc).__name__}: {exc}"
    run.finished_at = timezone.now()
    if run.started_at is not None:
        run.seconds = (run.finished_at - run.started_at).total_seconds()
    if timings:
        run.timings = {**run.timings, **timings}
    run.save(update_fields=["status", "error", "finished_at", "seconds", "timings"])
    logger.warning("%s failed: %s", run, run.error)


def _mark_succeeded(run: Run) -> None:
    run.status = RunStatus.SUCCEEDED
    run.error = ""
    run.finished_at = timezone.now()
    if run.started_at is not None:
        run.seconds = (run.finished_at - run.started_at).total_seconds()
        run.timings = {**run.timings, "total": round(run.seconds, 3)}


# Bad input or missing data: reported to the caller as a BacktestError with the reason.
_USER_ERRORS = (ValueError, LookupError, FileNotFoundError)


def _fail_run(run: Run, exc: Exception, stages: _Stages) -> NoReturn:
    """Record the failure on the run's row, then raise: a BacktestError for bad input, else as is."""
    _mark_failed(run, exc, stages.seconds)
    if isinstance(exc, (*_USER_ERRORS, artifacts.ArtifactIntegrityError)):
        raise BacktestError(str(exc)) from exc
    raise exc


def _finish_run(run: Run, stages: _Stages) -> None:
    run.timings = stages.seconds
    _mark_succeeded(run)
    run.save()


class _Stages:
    """Seconds per named stage of a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 3)


# --- data -------------------------------------------------------------------------------------------


def data_root() -> Path:
    return Path(settings.VCP_DATA_DIR) / "backtesting"


def features_root() -> Path:
    return data_root() / "features"


def _predictions_path(run_id: int, index: int) -> Path:
    return data_root() / "walkforward" / str(run_id) / f"fold-{index:02d}.npz"


def panel_for(*, first: dt.date, last: dt.date, horizon: int, exchange: str | None = None) -> Panel:
    """Bars from ``features.spec.LOOKBACK`` trading dates before ``first`` to ``horizon`` dates after ``last``.

    The history makes the features of ``first`` complete; the dates after ``last`` give its label.
    Inactive instruments are read too: dropping delisted stocks would flatter every backtest.
    """
    lookback_start = nth_trading_date_before(end=first, lookback=spec.LOOKBACK) or first
    after = trading_dates(start=last + dt.timedelta(days=1))[:horizon]
    try:
        return bars_panel(start=lookback_start, end=after[-1] if after else last, active_only=False, exchange=exchange)
    except LookupError as exc:
        raise BacktestError(f"no bars between {lookback_start} and {last}: ingest bhavcopy files first") from exc


def _date_span(dates: npt.NDArray[np.datetime64], first: dt.date, last: dt.date) -> tuple[int, int]:
    """Indices of the first date >= ``first`` and the last date <= ``last``."""
    lo = int(np.searchsorted(dates, np.datetime64(first, "D"), side="left"))
    hi = int(np.searchsorted(dates, np.datetime64(last, "D"), side="right")) - 1
    if hi < lo:
        raise BacktestError(f"no trading dates between {first} and {last}")
    return lo, hi


def _date_index(dates: npt.NDArray[np.datetime64], day: dt.date) -> int:
    i = int(np.searchsorted(dates, np.datetime64(day, "D")))
    if i >= dates.size or dates[i] != np.datetime64(day, "D"):
        raise BacktestError(f"{day} is not a trading date of the cached panel")
    return i


def _scored_rows(dataset: Dataset, probability: npt.NDArray[np.float64], decision: npt.ArrayLike) -> ScoredRows:
    return ScoredRows(
        y=dataset.y.astype(np.float64),
        probability=np.asarray(probability, dtype=np.float64),
        decision=np.asarray(decision, dtype=bool),
        dates=dataset.row_dates,
        hit_today=np.asarray(dataset.info[INFO_HIT_TODAY], dtype=bool),
        momentum=np.asarray(dataset.info[INFO_RETURN_20D], dtype=np.float64),
        series=np.asarray(dataset.info[INFO_SERIES], dtype=object),
    )


def _score_matrix(
    shape: tuple[int, int], date_idx: npt.ArrayLike, stock_idx: npt.ArrayLike, values: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """(T, N) scores, NaN where a stock-day was not scored."""
    out = np.full(shape, np.nan)
    out[np.asarray(date_idx), np.asarray(stock_idx)] = np.asarray(values, dtype=np.float64)
    return out


def _trial_sharpes(*, model_key: str, exclude: int, sharpe: float | None) -> list[float]:
    """Annualised Sharpes of the recorded runs of ``model_key`` (the trials), this run's included."""
    recorded = selectors.backtest_trial_sharpes(model_key=model_key, exclude_id=exclude)
    return [*recorded, math.nan if sharpe is None else sharpe]


def _store_trading(run: BacktestRun, outcome: TradingOutcome) -> None:
    """Risk, series, trades and the deflated Sharpe of a trading outcome onto ``run`` (not saved)."""
    summary = outcome_summary(outcome)
    sharpe = summary["strategy"]["sharpe"]
    trials = _trial_sharpes(model_key=run.model_key, exclude=run.pk, sharpe=sharpe)
    deflated = deflate(outcome, trial_sharpes=trials)
    run.risk = {**summary, "deflated_sharpe": jsonable(deflated), "trials": len(trials)}
    run.sharpe = sharpe
    run.deflated_sharpe = jsonable(deflated.dsr)
    run.series = outcome_series(outcome)
    run.trades = trades_table(outcome.result.trades)
    run.n_trades = len(outcome.result.trades)
    run.counts = {**run.counts, "engine": jsonable(outcome.result.counts)}


# --- backtest of a registered version ---------------------------------------------------------------


def backtest_run(
    *,
    version: ModelVersion,
    start: dt.date,
    end: dt.date,
    strategy: BacktestConfig | None = None,
    risk_free: float = 0.0,
    exchange: str | None = None,
    k: int = DEFAULT_K,
    force: bool = False,
) -> BacktestRun:
    """Score ``version`` on every stock-day of ``[start, end]``, measure it per year and quarter next to
    the naive baselines, and trade it with costs against the buy-and-hold benchmark.

    ``strategy`` defaults to the version's own threshold with the engine's defaults. Runs synchronously.
    """
    if start > end:
        raise BacktestError(f"start {start} is after end {end}")
    cfg = strategy or BacktestConfig(threshold=version.threshold)
    config = {
        "source": BacktestSource.MODEL_VERSION,
        "model_version": version.pk,
        "model_label": version.label,
        "algorithm": version.algorithm,
        "start": start,
        "end": end,
        "strategy": config_to_dict(cfg),
        "risk_free": risk_free,
        "exchange": exchange,
        "k": k,
    }
    run = _claim(
        BacktestRun,
        config=config,
        fields={
            "source": BacktestSource.MODEL_VERSION,
            "model_version": version,
            "start": start,
            "end": end,
            "model_key": f"model_version:{version.pk}",
        },
        force=force,
    )
    return backtest_execute(run_id=run.pk)


def backtest_execute(*, run_id: int) -> BacktestRun:
    """Run a claimed version backtest from its stored configuration (the body of the Celery task)."""
    run = BacktestRun.objects.select_related("model_version").get(pk=run_id)
    version = run.model_version
    if version is None:
        raise BacktestError(f"backtest {run.pk} has no model version to score")
    _mark_running(run)
    stages = _Stages()
    try:
        cfg = config_from_dict(run.config["strategy"])
        k = int(run.config.get("k", DEFAULT_K))
        with stages("load_model"):
            artifact = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=version.name, version=str(version.version))
            scorer = NativeScorer.from_artifact(artifact)
        with stages("read_bars"):
            panel = panel_for(first=run.start, last=run.end, horizon=version.horizon, exchange=run.config["exchange"])
        with stages("features"):
            data = panel_dataset(panel, horizon=version.horizon)
            lo, hi = _date_span(panel.dates, run.start, run.end)
            ds = data.dataset
            rows = select_features(ds.take((ds.date_idx >= lo) & (ds.date_idx <= hi)), scorer.feature_names)
        if len(rows) == 0:
            raise BacktestError(f"no stock-day with a bar between {run.start} and {run.end}")
        with stages("score"):
            probability = scorer.predict_proba(rows.X)
        with stages("prediction_metrics"):
            run.metrics = jsonable(
                prediction_metrics(_scored_rows(rows, probability, probability >= version.threshold), k=k)
            )
        with stages("simulate"):
            scores = _score_matrix(panel.shape, rows.date_idx, rows.stock_idx, probability)
            outcome = trade(
                panel.between(panel.dates[lo], panel.dates[hi]),
                scores[lo : hi + 1],
                config=cfg,
                risk_free=float(run.config["risk_free"]),
            )
        run.counts = {"rows": len(rows), "positives": rows.n_positive, "dates": hi - lo + 1, "stocks": panel.shape[1]}
        _store_trading(run, outcome)
        importance = artifact.metadata.get("feature_importance") or feature_importance(
            artifact.native_model, scorer.feature_names
        )
        run.feature_importance = jsonable(importance)
    except Exception as exc:
        _fail_run(run, exc, stages)
    _finish_run(run, stages)
    return run


# --- walk-forward -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkForwardDesign:
    """The fold layout: calendar days for the windows, trading days for horizon, purge and embargo."""

    start: dt.date
    folds: int = 36
    train_days: int = 365
    test_days: int = 30
    horizon: int = 1
    purge: int | None = None
    embargo: int = 0

    @property
    def purge_days(self) -> int:
        return self.horizon if self.purge is None else self.purge

    def make(self, dates: npt.ArrayLike) -> list[Fold]:
        return make_folds(
            dates,
            start=self.start,
            folds=self.folds,
            train_days=self.train_days,
            test_days=self.test_days,
            horizon=self.horizon,
            purge=self.purge_days,
            embargo=self.embargo,
        )


def walk_forward_create(
    *,
    design: WalkForwardDesign,
    fold_config: FoldConfig | None = None,
    strategy: BacktestConfig | None = None,
    risk_free: float = 0.0,
    target_f1: float = DEFAULT_TARGET_F1,
    exchange: str | None = None,
    force: bool = False,
) -> WalkForwardRun:
    """Claim a walk-forward and enqueue its preparation once the claim is committed.

    In eager mode (no broker) the whole walk-forward has run when this returns; otherwise workers
    run it and the row's status tells when it is done.
    """
    from backtesting import tasks

    fc = fold_config or FoldConfig()
    if design.purge_days < design.horizon:
        raise BacktestError(f"purge ({design.purge_days}) must be at least the label horizon ({design.horizon})")
    cfg = strategy or BacktestConfig(threshold=0.5)
    config = {
        "design": jsonable(design),
        "fold": fc.to_dict(),
        "strategy": config_to_dict(cfg),
        "risk_free": risk_free,
        "exchange": exchange,
        "target_f1": target_f1,
    }
    run = _claim(
        WalkForwardRun,
        config=config,
        fields={
            "algorithm": fc.algorithm,
            "feature_set": fc.feature_set,
            "start": design.start,
            "folds": design.folds,
            "train_days": design.train_days,
            "test_days": design.test_days,
            "horizon": design.horizon,
            "purge": design.purge_days,
            "embargo": design.embargo,
            "target_f1": target_f1,
            "summary": {},
            "metrics": {},
        },
        force=force,
    )
    run_id = run.pk
    transaction.on_commit(lambda: tasks.walk_forward_prepare.delay(run_id))
    return run


def _design_of(run: WalkForwardRun) -> WalkForwardDesign:
    d = run.config["design"]
    return WalkForwardDesign(
        start=dt.date.fromisoformat(d["start"]),
        folds=int(d["folds"]),
        train_days=int(d["train_days"]),
        test_days=int(d["test_days"]),
        horizon=int(d["horizon"]),
        purge=int(d["purge"]) if d.get("purge") is not None else None,
        embargo=int(d["embargo"]),
    )


def _fold_config_of(run: WalkForwardRun) -> FoldConfig:
    return FoldConfig(**run.config["fold"])


def _cache_features(panel: Panel, *, horizon: int, stages: _Stages) -> feature_cache.CachedFeatures:
    """The cached features of ``panel``: computed and stored unless an identical panel was cached."""
    root = features_root()
    with stages("fingerprint"):
        key = feature_cache.panel_key(panel, horizon=horizon)
    if not feature_cache.exists(root, key):
        with stages("features"):
            data = panel_dataset(panel, horizon=horizon)
        with stages("cache_write"):
            feature_cache.store(root, data, key=key)
    return feature_cache.load(root, key)


def walk_forward_prepare(*, run_id: int) -> WalkForwardRun:
    """Lay out the folds, compute the features once, write the fold rows and dispatch the folds."""
    from backtesting import tasks

    run = WalkForwardRun.objects.get(pk=run_id)
    _mark_running(run)
    stages = _Stages()
    try:
        design = _design_of(run)
        with stages("fold_layout"):
            folds = design.make(np.asarray(trading_dates(), dtype="datetime64[D]"))
        with stages("read_bars"):
            panel = panel_for(
                first=folds[0].train_start,
                last=folds[-1].test_end,
                horizon=design.horizon,
                exchange=run.config.get("exchange"),
            )
        cached = _cache_features(panel, horizon=design.horizon, stages=stages)
        run.features_key = cached.key
        run.counts = {"dates": panel.shape[0], "stocks": panel.shape[1], "rows": cached.n_rows}
        with transaction.atomic():
            run.fold_rows.filter(index__gte=len(folds)).delete()
            for fold in folds:
                _predictions_path(run.pk, fold.index).unlink(missing_ok=True)
                WalkForwardFold.objects.update_or_create(
                    run=run,
                    index=fold.index,
                    defaults={
                        "status": RunStatus.PENDING,
                        "error": "",
                        "train_start": fold.train_start,
                        "train_end": fold.train_end,
                        "valid_start": None,
                        "test_start": fold.test_start,
                        "test_end": fold.test_end,
                        "embargo_end": fold.embargo_end,
                        "n_train_dates": fold.n_train_dates,
                        "n_test_dates": fold.n_test_dates,
                        **dict.fromkeys(_FOLD_RESULT_FIELDS),
                        "metrics": {},
                        "rows": {},
                        "feature_importance": {},
                        "timings": {},
                        "predictions": "",
                        "started_at": None,
                        "finished_at": None,
                    },
                )
            run.timings = stages.seconds
            run.save(update_fields=["features_key", "counts", "timings"])
    except Exception as exc:
        _mark_failed(run, exc, stages.seconds)
        if isinstance(exc, ValueError | LookupError | BacktestError):
            return run
        raise
    folds_done = [tasks.walk_forward_fold.si(run.pk, fold.index) for fold in folds]
    transaction.on_commit(lambda: tasks.dispatch_folds(folds_done, run_id=run.pk))
    return run


_FOLD_RESULT_FIELDS = (
    "threshold",
    "best_iteration",
    "f1",
    "precision",
    "recall",
    "pr_auc",
    "precision_at_k",
    "hit_today_f1",
    "hit_today_pr_auc",
    "new_circuits_pr_auc",
    "seconds",
)


def _fold_of(row: WalkForwardFold) -> Fold:
    return Fold(
        index=row.index,
        train_start=row.train_start,
        train_end=row.train_end,
        test_start=row.test_start,
        test_end=row.test_end,
        embargo_end=row.embargo_end,
        n_train_dates=row.n_train_dates,
        n_test_dates=row.n_test_dates,
    )


def _write_predictions(path: Path, arrays: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.stem}-{os.getpid()}.npz")
    with open(staging, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(staging, path)


def walk_forward_fold_run(*, run_id: int, index: int) -> WalkForwardFold:
    """Train fold ``index`` on the cached features, score its test window and record it.

    A failure is recorded on the fold row and not raised, so the other folds and the summary still run.
    """
    row = WalkForwardFold.objects.select_related("run").get(run_id=run_id, index=index)
    run = row.run
    row.status = RunStatus.RUNNING
    row.started_at = timezone.now()
    row.save(update_fields=["status", "started_at"])
    started = time.perf_counter()
    try:
        cached = feature_cache.load(features_root(), run.features_key)
        dates = cached.panel.dates
        dataset = cached.rows_between(_date_index(dates, row.train_start), _date_index(dates, row.test_end))
        outcome = train_fold(dataset, _fold_of(row), config=_fold_config_of(run), purge=run.purge, horizon=run.horizon)
        path = _predictions_path(run.pk, index)
        _write_predictions(
            path,
            {
                "date_idx": outcome.date_idx,
                "stock_idx": outcome.stock_idx,
                "probability": outcome.probability,
                "threshold": np.float64(outcome.threshold),
                "y": outcome.y,
                "hit_today": outcome.hit_today,
                "return_20d": outcome.momentum,
            },
        )
    except Exception as exc:
        logger.exception("walk-forward %s fold %s failed", run_id, index)
        row.status = RunStatus.FAILED
        row.error = f"{type(exc).__name__}: {exc}"
        row.finished_at = timezone.now()
        row.seconds = time.perf_counter() - started
        row.save(update_fields=["status", "error", "finished_at", "seconds"])
        return row
    model, base = outcome.metrics["all"]["model"], outcome.metrics["all"]["baselines"]
    row.status = RunStatus.SUCCEEDED
    row.valid_start = outcome.valid_start
    row.threshold = outcome.threshold
    row.best_iteration = outcome.best_iteration
    row.f1, row.precision, row.recall = model["f1"], model["precision"], model["recall"]
    row.pr_auc = model["pr_auc"]
    row.precision_at_k = model.get(f"precision_at_{outcome.metrics['k']}")
    row.hit_today_f1 = base["hit_today"]["f1"]
    row.hit_today_pr_auc = base["hit_today"]["pr_auc"]
    row.new_circuits_pr_auc = outcome.metrics["new_circuits"]["model"]["pr_auc"]
    row.metrics = jsonable(outcome.metrics)
    row.rows = outcome.rows
    row.feature_importance = jsonable(outcome.feature_importance)
    row.timings = outcome.timings
    row.predictions = str(path)
    row.finished_at = timezone.now()
    row.seconds = round(time.perf_counter() - started, 3)
    row.save()
    return row


def _mean_importance(rows: list[WalkForwardFold]) -> dict[str, float]:
    shares: dict[str, list[float]] = {}
    for row in rows:
        for name, value in row.feature_importance.items():
            shares.setdefault(name, []).append(float(value))
    mean = {name: sum(v) / len(rows) for name, v in shares.items()}
    return dict(sorted(mean.items(), key=lambda item: -item[1]))


def _pooled_predictions(rows: list[WalkForwardFold], cached: feature_cache.CachedFeatures) -> dict[str, Any]:
    parts = []
    for row in rows:
        with np.load(row.predictions) as data:
            part = {name: data[name] for name in data.files}
        part["row_threshold"] = np.full(part["probability"].shape, float(part["threshold"]))
        parts.append(part)
    keys = ("date_idx", "stock_idx", "probability", "row_threshold", "y", "hit_today", "return_20d")
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def walk_forward_finish(*, run_id: int) -> WalkForwardRun:
    """Summarise the folds, pool their out-of-sample predictions, and trade them with costs."""
    run = WalkForwardRun.objects.get(pk=run_id)
    stages = _Stages()
    try:
        rows = list(run.fold_rows.order_by("index"))
        done = [r for r in rows if r.status == RunStatus.SUCCEEDED]
        failed = [r for r in rows if r.status != RunStatus.SUCCEEDED]
        if not done:
            raise BacktestError("every fold failed: " + "; ".join(f"fold {r.index}: {r.error}" for r in failed[:3]))
        with stages("summarise"):
            f1 = [float(r.f1) if r.status == RunStatus.SUCCEEDED and r.f1 is not None else math.nan for r in rows]

            def values(field: str) -> list[float]:
                return [math.nan if getattr(r, field) is None else float(getattr(r, field)) for r in rows]

            f1_summary = summarise_folds(f1, target=run.target_f1, metric="F1")
            summary: dict[str, Any] = {
                "f1": f1_summary,
                "pr_auc": summarise_folds(values("pr_auc"), target=run.target_f1, metric="PR-AUC"),
                "hit_today_f1": summarise_folds(values("hit_today_f1"), target=run.target_f1, metric="F1 of hit today"),
                "hit_today_pr_auc": summarise_folds(values("hit_today_pr_auc"), target=0.0, metric="PR-AUC hit today"),
                "new_circuits_pr_auc": summarise_folds(
                    values("new_circuits_pr_auc"), target=0.0, metric="PR-AUC on new circuits"
                ),
                "folds_succeeded": len(done),
                "folds_failed": [r.index for r in failed],
                "model_pr_auc_above_hit_today": sum(1 for r in done if (r.pr_auc or 0.0) > (r.hit_today_pr_auc or 0.0)),
                "model_f1_above_hit_today": sum(1 for r in done if (r.f1 or 0.0) > (r.hit_today_f1 or 0.0)),
            }
            run.summary = jsonable(summary)
            run.mean_f1 = jsonable(f1_summary.mean)
            run.std_f1 = jsonable(f1_summary.std)
            run.consistency = jsonable(f1_summary.consistency)
            run.feature_importance = _mean_importance(done)
        with stages("pool_predictions"):
            cached = feature_cache.load(features_root(), run.features_key)
            pooled = _pooled_predictions(done, cached)
            panel = cached.panel
            rows_scored = ScoredRows(
                y=pooled["y"].astype(np.float64),
                probability=pooled["probability"],
                decision=pooled["probability"] >= pooled["row_threshold"],
                dates=panel.dates[pooled["date_idx"]],
                hit_today=pooled["hit_today"],
                momentum=pooled["return_20d"].astype(np.float64),
                series=panel.series[pooled["stock_idx"]],
            )
            run.metrics = jsonable(prediction_metrics(rows_scored, k=_fold_config_of(run).top_k))
        with stages("simulate"):
            lo = _date_index(panel.dates, rows[0].test_start)
            hi = _date_index(panel.dates, rows[-1].test_end)
            scores = _score_matrix(panel.shape, pooled["date_idx"], pooled["stock_idx"], pooled["probability"])
            thresholds = np.full(panel.shape[0], np.nan)
            for r in done:
                thresholds[_date_index(panel.dates, r.test_start) : _date_index(panel.dates, r.test_end) + 1] = (
                    r.threshold
                )
            strategy = config_from_dict(run.config["strategy"])
            outcome = trade(
                panel.between(panel.dates[lo], panel.dates[hi]),
                scores[lo : hi + 1],
                config=strategy,
                thresholds=thresholds[lo : hi + 1] if strategy.threshold is not None else None,
                risk_free=float(run.config.get("risk_free", 0.0)),
            )
        with stages("store"), transaction.atomic():
            backtest = _walk_forward_backtest(run, strategy=strategy, start=rows[0].test_start, end=rows[-1].test_end)
            backtest.metrics = run.metrics
            backtest.feature_importance = run.feature_importance
            backtest.counts = {
                "rows": len(rows_scored),
                "positives": int(rows_scored.y.sum()),
                "dates": hi - lo + 1,
                "stocks": panel.shape[1],
            }
            _store_trading(backtest, outcome)
            backtest.timings = {"simulate": stages.seconds["simulate"]}
            _mark_succeeded(backtest)
            backtest.save()
            fold_seconds = [r.seconds or 0.0 for r in done]
            starts = [r.started_at for r in rows if r.started_at]
            ends = [r.finished_at for r in rows if r.finished_at]
            run.timings = {
                **run.timings,
                **stages.seconds,
                "fold_seconds_sum": round(sum(fold_seconds), 3),
                "fold_seconds_max": round(max(fold_seconds), 3),
                "folds_wall": round((max(ends) - min(starts)).total_seconds(), 3) if starts and ends else None,
            }
            if failed:
                run.status = RunStatus.FAILED
                run.error = f"{len(failed)} of {len(rows)} folds failed: " + "; ".join(
                    f"fold {r.index}: {r.error}" for r in failed[:5]
                )
                run.finished_at = timezone.now()
                run.seconds = (run.finished_at - run.started_at).total_seconds() if run.started_at else None
            else:
                _mark_succeeded(run)
            run.save()
    except Exception as exc:
        _mark_failed(run, exc, stages.seconds)
        if isinstance(exc, ValueError | LookupError | BacktestError | FileNotFoundError):
            return run
        raise
    return run


def _walk_forward_backtest(
    run: WalkForwardRun, *, strategy: BacktestConfig, start: dt.date, end: dt.date
) -> BacktestRun:
    """The walk-forward's trading backtest row (one per walk-forward), reset for this run."""
    config = {
        "source": BacktestSource.WALK_FORWARD,
        "walk_forward": run.pk,
        "walk_forward_fingerprint": run.fingerprint,
        "algorithm": run.algorithm,
        "feature_set": run.feature_set,
        "start": start,
        "end": end,
        "strategy": config_to_dict(strategy),
        "per_fold_thresholds": strategy.threshold is not None,
        "risk_free": run.config.get("risk_free", 0.0),
    }
    fields = {
        "source": BacktestSource.WALK_FORWARD,
        "start": start,
        "end": end,
        "model_key": f"walk_forward:{run.algorithm}:{run.feature_set}",
        "config": jsonable(config),
        "fingerprint": config_fingerprint(config),
        "status": RunStatus.RUNNING,
        "error": "",
        "started_at": run.started_at,
    }
    backtest, created = BacktestRun.objects.select_for_update().get_or_create(walk_forward=run, defaults=fields)
    if not created:
        for name, value in fields.items():
            setattr(backtest, name, value)
    backtest.runs += 1
    return backtest


# --- comparison ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    """One side of a comparison: a registered version, or an algorithm and feature set to train."""

    version: ModelVersion | None = None
    algorithm: str | None = None
    feature_set: str = DEFAULT_FEATURE_SET

    @property
    def label(self) -> str:
        if self.version is not None:
            return f"{self.version.label} ({self.version.algorithm})"
        return f"{self.algorithm} / {self.feature_set} features"

    def to_dict(self) -> dict[str, Any]:
        if self.version is not None:
            return {"version": self.version.pk, "label": self.version.label}
        return {"algorithm": self.algorithm, "feature_set": self.feature_set}


def comparison_run(
    *,
    a: Contender,
    b: Contender,
    start: dt.date,
    end: dt.date,
    train_days: int = 365,
    fold_config: FoldConfig | None = None,
    n_boot: int = 1000,
    exchange: str | None = None,
    force: bool = False,
) -> ComparisonRun:
    """Score two models on the same test days ``[start, end]`` and compare them.

    Registered versions are scored as they are. Algorithms and feature sets are each trained on the
    ``train_days`` before ``start`` (purged, threshold and calibration from its tail, as a
    walk-forward fold) with the same ``fold_config`` otherwise. Runs synchronously.
    """
    if (a.version is None) != (b.version is None):
        raise BacktestError("compare two registered versions, or two algorithm/feature-set configurations")
    if start > end:
        raise BacktestError(f"start {start} is after end {end}")
    if a.version is not None:
        kind = ComparisonKind.VERSIONS
    elif a.algorithm != b.algorithm:
        kind = ComparisonKind.ALGORITHMS
    else:
        kind = ComparisonKind.FEATURE_SETS
    fc = fold_config or FoldConfig()
    for side in (a, b):
        if side.version is None:
            # Refuses an unknown algorithm or feature set before anything is recorded.
            replace(fc, algorithm=side.algorithm, feature_set=side.feature_set)  # type: ignore[arg-type]
    config = {
        "kind": kind,
        "a": a.to_dict(),
        "b": b.to_dict(),
        "start": start,
        "end": end,
        "train_days": train_days,
        "fold": fc.to_dict(),
        "n_boot": n_boot,
        "exchange": exchange,
    }
    run = _claim(
        ComparisonRun,
        config=config,
        fields={
            "kind": kind,
            "label_a": a.label,
            "label_b": b.label,
            "version_a": a.version,
            "version_b": b.version,
            "start": start,
            "end": end,
        },
        force=force,
    )
    return comparison_execute(run_id=run.pk)


@dataclass(frozen=True)
class _Scored:
    probability: npt.NDArray[np.float64]
    threshold: float
    metrics: dict[str, Any]


@dataclass(frozen=True)
class _TestRows:
    """The compared test rows (R,): labels and the day of each row."""

    y: npt.NDArray[np.float64]
    date_idx: npt.NDArray[np.int64]

    @property
    def positives(self) -> int:
        return int(self.y.sum())


def _score_versions(run: ComparisonRun, stages: _Stages) -> tuple[_TestRows, _Scored, _Scored]:
    versions = [v for v in (run.version_a, run.version_b) if v is not None]
    if len(versions) != 2:
        raise BacktestError("a version comparison needs both versions")
    horizons = {v.horizon for v in versions}
    if len(horizons) != 1:
        raise BacktestError(f"the versions predict different horizons {sorted(horizons)}: not the same label")
    horizon = horizons.pop()
    with stages("read_bars"):
        panel = panel_for(first=run.start, last=run.end, horizon=horizon, exchange=run.config.get("exchange"))
    with stages("features"):
        data = panel_dataset(panel, horizon=horizon)
        lo, hi = _date_span(panel.dates, run.start, run.end)
        rows = data.dataset.take((data.dataset.date_idx >= lo) & (data.dataset.date_idx <= hi))
    if len(rows) == 0 or rows.n_positive == 0:
        raise BacktestError(f"no stock-day with an upper circuit to predict between {run.start} and {run.end}")
    scored = []
    with stages("score"):
        for version in versions:
            artifact = artifacts.load(settings.VCP_ARTIFACT_ROOT, name=version.name, version=str(version.version))
            scorer = NativeScorer.from_artifact(artifact)
            probability = scorer.predict_proba(select_features(rows, scorer.feature_names).X)
            metrics = evaluate(
                rows.y,
                probability,
                scorer.threshold,
                day=rows.date_idx,
                hit_today=rows.info[INFO_HIT_TODAY],
                momentum=rows.info[INFO_RETURN_20D],
                series=rows.info[INFO_SERIES],
            )
            scored.append(_Scored(probability=probability, threshold=scorer.threshold, metrics=metrics))
    return _TestRows(y=rows.y.astype(np.float64), date_idx=rows.date_idx), scored[0], scored[1]


def _train_contenders(run: ComparisonRun, stages: _Stages) -> tuple[_TestRows, _Scored, _Scored]:
    config = run.config
    fc = FoldConfig(**config["fold"])
    horizon = 1
    with stages("read_bars"):
        design = WalkForwardDesign(
            start=run.start, folds=1, train_days=int(config["train_days"]), test_days=(run.end - run.start).days + 1
        )
        try:
            (fold,) = design.make(np.asarray(trading_dates(end=run.end), dtype="datetime64[D]"))
        except ValueError as exc:
            raise BacktestError(str(exc)) from exc
        panel = panel_for(first=fold.train_start, last=fold.test_end, horizon=horizon, exchange=config.get("exchange"))
    cached = _cache_features(panel, horizon=horizon, stages=stages)
    index = cached.panel.dates
    dataset = cached.rows_between(_date_index(index, fold.train_start), _date_index(index, fold.test_end))
    outcomes = []
    for side in ("a", "b"):
        with stages(f"train_{side}"):
            side_config = replace(fc, algorithm=config[side]["algorithm"], feature_set=config[side]["feature_set"])
            outcomes.append(train_fold(dataset, fold, config=side_config, purge=horizon, horizon=horizon))
    a, b = outcomes
    # Both sides score the very same test rows: the split depends on the dates only.
    if not (np.array_equal(a.date_idx, b.date_idx) and np.array_equal(a.stock_idx, b.stock_idx)):
        raise RuntimeError("the two contenders were scored on different rows")
    rows = _TestRows(y=a.y.astype(np.float64), date_idx=a.date_idx)
    return (
        rows,
        _Scored(probability=a.probability, threshold=a.threshold, metrics=a.metrics),
        _Scored(probability=b.probability, threshold=b.threshold, metrics=b.metrics),
    )


def comparison_execute(*, run_id: int) -> ComparisonRun:
    """Run a claimed comparison from its stored configuration (the body of the Celery task)."""
    run = ComparisonRun.objects.select_related("version_a", "version_b").get(pk=run_id)
    _mark_running(run)
    stages = _Stages()
    try:
        if run.kind == ComparisonKind.VERSIONS:
            rows, a, b = _score_versions(run, stages)
        else:
            rows, a, b = _train_contenders(run, stages)
        with stages("mcnemar"):
            mcnemar = mcnemar_compare(
                y_true=rows.y, pred_a=a.probability >= a.threshold, pred_b=b.probability >= b.threshold
            )
        with stages("bootstrap"):
            boot = pr_auc_difference_ci(
                y_true=rows.y,
                score_a=a.probability,
                score_b=b.probability,
                days=rows.date_idx,
                n_boot=int(run.config.get("n_boot", 1000)),
            )
        run.metrics = jsonable({"a": a.metrics, "b": b.metrics, "threshold_a": a.threshold, "threshold_b": b.threshold})
        run.mcnemar = jsonable(mcnemar)
        run.bootstrap = jsonable(boot)
        run.verdict = f"Decisions: {mcnemar.verdict} Ranking: {boot.verdict}"
        run.counts = {"rows": len(rows.y), "positives": rows.positives, "days": int(np.unique(rows.date_idx).size)}
    except Exception as exc:
        _fail_run(run, exc, stages)
    _finish_run(run, stages)
    return run
