"""Thin Celery tasks for backtesting: each takes ids and calls one service.

A walk-forward runs as ``walk_forward_prepare`` -> a group of ``walk_forward_fold`` (one per fold,
in parallel across workers) -> the chord callback ``walk_forward_finish``. The fold tasks read the
features the preparation cached under ``VCP_DATA_DIR``, so workers must share that directory.
"""

from __future__ import annotations

from typing import Any

from celery import chord, group, shared_task
from celery.canvas import Signature
from django.db import OperationalError

from backtesting import services

_RETRY: dict[str, Any] = {"autoretry_for": (OperationalError,), "retry_backoff": 30, "max_retries": 3}


@shared_task(name="backtesting.tasks.backtest_execute", soft_time_limit=30 * 60, time_limit=35 * 60, **_RETRY)
def backtest_execute(run_id: int) -> dict[str, Any]:
    run = services.backtest_execute(run_id=run_id)
    return {"run": run.pk, "status": run.status}


@shared_task(name="backtesting.tasks.walk_forward_prepare", soft_time_limit=20 * 60, time_limit=25 * 60, **_RETRY)
def walk_forward_prepare(run_id: int) -> dict[str, Any]:
    run = services.walk_forward_prepare(run_id=run_id)
    return {"run": run.pk, "status": run.status}


@shared_task(name="backtesting.tasks.walk_forward_fold", soft_time_limit=20 * 60, time_limit=25 * 60, **_RETRY)
def walk_forward_fold(run_id: int, index: int) -> dict[str, Any]:
    fold = services.walk_forward_fold_run(run_id=run_id, index=index)
    return {"run": run_id, "fold": index, "status": fold.status}


@shared_task(name="backtesting.tasks.walk_forward_finish", soft_time_limit=20 * 60, time_limit=25 * 60, **_RETRY)
def walk_forward_finish(run_id: int) -> dict[str, Any]:
    run = services.walk_forward_finish(run_id=run_id)
    return {"run": run.pk, "status": run.status}


@shared_task(name="backtesting.tasks.comparison_execute", soft_time_limit=30 * 60, time_limit=35 * 60, **_RETRY)
def comparison_execute(run_id: int) -> dict[str, Any]:
    run = services.comparison_execute(run_id=run_id)
    return {"run": run.pk, "status": run.status}


def dispatch_folds(folds: list[Signature], *, run_id: int) -> None:
    """The folds as a group, with ``walk_forward_finish`` as the chord callback once all have ended."""
    chord(group(folds))(walk_forward_finish.si(run_id))
