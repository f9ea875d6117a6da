"""Backtests of a registered version: prediction metrics per year and quarter beside the naive
rules, and the version's signals traded with Indian costs against buy and hold."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.conf import settings

from backtesting import selectors
from backtesting.choices import BacktestSource
from backtesting.engine import BacktestConfig
from backtesting.feature_sets import select_features
from backtesting.jsonify import jsonable
from backtesting.models import BacktestRun
from backtesting.periods import prediction_metrics
from backtesting.services.data import date_span, panel_for, score_matrix, scored_rows
from backtesting.services.records import BacktestError, Stages, run_claim, run_fail_and_raise, run_finish
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
from common.services import run_start
from modelregistry import artifacts
from modelregistry.datasets import panel_dataset
from modelregistry.evaluation import DEFAULT_K, feature_importance
from modelregistry.models import ModelVersion
from modelregistry.runtime import NativeScorer


def _trial_sharpes(*, model_key: str, exclude: int, sharpe: float | None) -> list[float]:
    """Annualised Sharpes of the recorded runs of ``model_key`` (the trials), this run's included."""
    recorded = selectors.backtest_trial_sharpes(model_key=model_key, exclude_id=exclude)
    return [*recorded, math.nan if sharpe is None else sharpe]


def store_trading(run: BacktestRun, outcome: TradingOutcome) -> None:
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


def backtest_create(
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
    """Claim the row of a backtest of ``version`` over ``[start, end]`` (pending): what
    ``backtest_execute`` or ``backtesting.tasks.backtest_dispatch`` then runs.

    ``strategy`` defaults to the version's own threshold with the engine's defaults.
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
    return run_claim(
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


def backtest_run(**options: Any) -> BacktestRun:
    """Claim and run a backtest now, in this process (``backtest_create``'s options): score ``version``
    on every stock-day of ``[start, end]``, measure it per year and quarter next to the naive
    baselines, and trade it with costs against the buy-and-hold benchmark."""
    return backtest_execute(run_id=backtest_create(**options).pk)


def backtest_execute(*, run_id: int) -> BacktestRun:
    """Run a claimed version backtest from its stored configuration (the body of the Celery task)."""
    run = BacktestRun.objects.select_related("model_version").get(pk=run_id)
    version = run.model_version
    if version is None:
        raise BacktestError(f"backtest {run.pk} has no model version to score")
    run_start(run)
    stages = Stages()
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
            lo, hi = date_span(panel.dates, run.start, run.end)
            ds = data.dataset
            every_feature = ds.take((ds.date_idx >= lo) & (ds.date_idx <= hi))
            rows = select_features(every_feature, scorer.feature_names)
        if len(rows) == 0:
            raise BacktestError(f"no stock-day with a bar between {run.start} and {run.end}")
        with stages("score"):
            probability = scorer.predict_proba(rows.X)
        with stages("prediction_metrics"):
            scored = scored_rows(
                every_feature,
                probability,
                threshold=scorer.threshold,
                new_threshold=scorer.new_circuit_threshold,
            )
            run.metrics = jsonable(prediction_metrics(scored, k=k))
        with stages("simulate"):
            scores = score_matrix(panel.shape, rows.date_idx, rows.stock_idx, probability)
            outcome = trade(
                panel.between(panel.dates[lo], panel.dates[hi]),
                scores[lo : hi + 1],
                config=cfg,
                risk_free=float(run.config["risk_free"]),
            )
        run.counts = {"rows": len(rows), "positives": rows.n_positive, "dates": hi - lo + 1, "stocks": panel.shape[1]}
        store_trading(run, outcome)
        importance = artifact.metadata.get("feature_importance") or feature_importance(
            artifact.native_model, scorer.feature_names
        )
        run.feature_importance = jsonable(importance)
    except Exception as exc:
        run_fail_and_raise(run, exc, stages)
    return run_finish(run, stages)
