"""Reads of backtesting records, shared by the staff pages, the admin and the services."""

from __future__ import annotations

import math

from django.db.models import QuerySet

from backtesting.models import BacktestRun, ComparisonRun, WalkForwardFold, WalkForwardRun
from common.choices import RunStatus

# Large JSON columns that list pages never show.
_BACKTEST_HEAVY = ("series", "trades", "metrics", "feature_importance")


def backtest_list() -> QuerySet[BacktestRun]:
    return BacktestRun.objects.select_related("model_version", "walk_forward").defer(*_BACKTEST_HEAVY)


def backtest_get(*, pk: int) -> BacktestRun | None:
    return BacktestRun.objects.select_related("model_version", "walk_forward").filter(pk=pk).first()


def walk_forward_list() -> QuerySet[WalkForwardRun]:
    return WalkForwardRun.objects.select_related("backtest").defer("metrics", "feature_importance")


def walk_forward_get(*, pk: int) -> WalkForwardRun | None:
    return WalkForwardRun.objects.filter(pk=pk).first()


def walk_forward_folds(*, run: WalkForwardRun) -> QuerySet[WalkForwardFold]:
    return run.fold_rows.order_by("index")


def walk_forward_backtest(*, run: WalkForwardRun) -> BacktestRun | None:
    return BacktestRun.objects.filter(walk_forward=run).first()


def comparison_list() -> QuerySet[ComparisonRun]:
    return ComparisonRun.objects.select_related("version_a", "version_b")


def comparison_get(*, pk: int) -> ComparisonRun | None:
    return ComparisonRun.objects.select_related("version_a", "version_b").filter(pk=pk).first()


def backtest_trial_sharpes(*, model_key: str, exclude_id: int | None = None) -> list[float]:
    """Annualised Sharpes of the succeeded backtests of one model configuration (the deflated
    Sharpe's trials); a run without a finite Sharpe still counts as a trial, as NaN.
    """
    qs = BacktestRun.objects.filter(model_key=model_key, status=RunStatus.SUCCEEDED)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return [math.nan if s is None else float(s) for s in qs.values_list("sharpe", flat=True)]
