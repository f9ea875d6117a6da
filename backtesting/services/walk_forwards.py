"""Walk-forward validation: monthly retrain-then-predict folds over cached features, summarised, and
their pooled out-of-sample predictions traded with costs.

The service steps are ``walk_forward_create`` (claim), ``walk_forward_prepare`` (layout, features,
fold rows), ``walk_forward_fold_run`` (one fold; the folds are independent) and
``walk_forward_finish`` (summary, pooled metrics, trading). ``backtesting.tasks`` runs them on the
workers as prepare -> a chord of folds -> finish.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import transaction

from backtesting import feature_cache
from backtesting.choices import BacktestSource
from backtesting.engine import BacktestConfig
from backtesting.fold_training import FoldConfig, train_fold
from backtesting.jsonify import jsonable
from backtesting.models import BacktestRun, WalkForwardFold, WalkForwardRun
from backtesting.periods import prediction_metrics
from backtesting.services.backtests import store_trading
from backtesting.services.data import (
    date_index,
    features_cached,
    features_root,
    panel_for,
    predictions_path,
    score_matrix,
    scored_rows,
)
from backtesting.services.records import (
    BacktestError,
    Stages,
    config_fingerprint,
    run_claim,
    run_fail_unless_bug,
)
from backtesting.stats import summarise_folds
from backtesting.trading import config_from_dict, config_to_dict, trade
from backtesting.walkforward import Fold, make_folds
from common.choices import RunStatus
from common.services import run_fail, run_start, run_succeed
from marketdata.selectors import trading_dates

logger = logging.getLogger(__name__)

DEFAULT_TARGET_F1 = 0.65


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
    """Claim a walk-forward's row (pending): ``backtesting.tasks.walk_forward_dispatch`` then runs it."""
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
    return run_claim(
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


def walk_forward_prepare(*, run_id: int) -> WalkForwardRun:
    """Lay out the folds, compute the features once and write the fold rows (pending), ready for the
    fold runs. A failure (bad design, no bars) is recorded on the run: its status says FAILED."""
    run = run_start(WalkForwardRun.objects.get(pk=run_id))
    stages = Stages()
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
        cached = features_cached(panel, horizon=design.horizon, stages=stages)
        run.features_key = cached.key
        run.counts = {"dates": panel.shape[0], "stocks": panel.shape[1], "rows": cached.n_rows}
        with transaction.atomic():
            run.fold_rows.filter(index__gte=len(folds)).delete()
            for fold in folds:
                predictions_path(run.pk, fold.index).unlink(missing_ok=True)
                WalkForwardFold.objects.update_or_create(
                    run=run,
                    index=fold.index,
                    defaults={
                        "status": RunStatus.PENDING,
                        "error": "",
                        "note": "",
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
        return run_fail_unless_bug(run, exc, stages)
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
    row = run_start(WalkForwardFold.objects.select_related("run").get(run_id=run_id, index=index))
    run = row.run
    try:
        cached = feature_cache.load(features_root(), run.features_key)
        dates = cached.panel.dates
        dataset = cached.rows_between(date_index(dates, row.train_start), date_index(dates, row.test_end))
        outcome = train_fold(dataset, _fold_of(row), config=_fold_config_of(run), purge=run.purge, horizon=run.horizon)
        path = predictions_path(run.pk, index)
        _write_predictions(
            path,
            {
                "date_idx": outcome.date_idx,
                "stock_idx": outcome.stock_idx,
                "probability": outcome.probability,
                "threshold": np.float64(outcome.threshold),
                "new_threshold": np.float64(outcome.new_circuit_threshold),
                "y": outcome.y,
                "hit_today": outcome.hit_today,
                "return_20d": outcome.momentum,
            },
        )
    except Exception as exc:
        logger.exception("walk-forward %s fold %s failed", run_id, index)
        return run_fail(row, error=f"{type(exc).__name__}: {exc}")
    model, base = outcome.metrics["all"]["model"], outcome.metrics["all"]["baselines"]
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
    return run_succeed(row, extra=None)


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
        part["row_new_threshold"] = np.full(part["probability"].shape, float(part["new_threshold"]))
        parts.append(part)
    keys = ("date_idx", "stock_idx", "probability", "row_threshold", "row_new_threshold", "y")
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def walk_forward_finish(*, run_id: int) -> WalkForwardRun:
    """Summarise the folds, pool their out-of-sample predictions, and trade them with costs."""
    run = WalkForwardRun.objects.get(pk=run_id)
    stages = Stages()
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
            # The pooled rows again from the cache: every feature column and the three truths.
            at = cached.rows_at(cached.row_positions(pooled["date_idx"], pooled["stock_idx"]))
            rows_scored = scored_rows(
                at,
                pooled["probability"],
                threshold=pooled["row_threshold"],
                new_threshold=pooled["row_new_threshold"],
            )
            run.metrics = jsonable(prediction_metrics(rows_scored, k=_fold_config_of(run).top_k))
        with stages("simulate"):
            lo = date_index(panel.dates, rows[0].test_start)
            hi = date_index(panel.dates, rows[-1].test_end)
            scores = score_matrix(panel.shape, pooled["date_idx"], pooled["stock_idx"], pooled["probability"])
            thresholds = np.full(panel.shape[0], np.nan)
            for r in done:
                thresholds[date_index(panel.dates, r.test_start) : date_index(panel.dates, r.test_end) + 1] = (
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
            store_trading(backtest, outcome)
            backtest.timings = {"simulate": stages.seconds["simulate"]}
            run_succeed(backtest, extra=None)
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
            run.save()
            if failed:
                error = f"{len(failed)} of {len(rows)} folds failed: " + "; ".join(
                    f"fold {r.index}: {r.error}" for r in failed[:5]
                )
                run_fail(run, error=error)
            else:
                run_succeed(run)
    except Exception as exc:
        return run_fail_unless_bug(run, exc, stages)
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
        "finished_at": None,
    }
    backtest, created = BacktestRun.objects.select_for_update().get_or_create(walk_forward=run, defaults=fields)
    if not created:
        for name, value in fields.items():
            setattr(backtest, name, value)
    backtest.runs += 1
    return backtest
