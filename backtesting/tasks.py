"""Celery tasks of backtesting, and the dispatch of each workflow (services never enqueue anything).

- ``backtest_dispatch`` / ``comparison_dispatch``: one task each, sent once the claimed row commits.
- ``walk_forward_dispatch``: ``walk_forward_prepare``, which fans the folds out as a chord of
  ``walk_forward_fold`` tasks (in parallel across workers) with ``walk_forward_finish`` as callback.

The fold tasks read the features the preparation cached under ``VCP_DATA_DIR``, so workers must
share that directory. Tasks take ids; a database hiccup is retried.
"""

from __future__ import annotations

from typing import Any

from celery import chord, group, shared_task
from django.db import OperationalError, transaction

from backtesting import services
from common.choices import RunStatus
from common.tracing import bind_to_current_context

_RETRY: dict[str, Any] = {"autoretry_for": (OperationalError,), "retry_backoff": 30, "max_retries": 3}


def _on_commit(task: Any, *args: Any) -> None:
    transaction.on_commit(bind_to_current_context(task.delay, *args))


def backtest_dispatch(*, run_id: int) -> None:
    """Run a claimed backtest on a worker once its row is committed."""
    _on_commit(backtest_execute, run_id)


def comparison_dispatch(*, run_id: int) -> None:
    """Run a claimed comparison on a worker once its row is committed."""
    _on_commit(comparison_execute, run_id)


def walk_forward_dispatch(*, run_id: int) -> None:
    """Prepare a claimed walk-forward on a worker once its row is committed; the folds follow."""
    _on_commit(walk_forward_prepare, run_id)


def walk_forward_folds_dispatch(*, run_id: int, indices: list[int]) -> None:
    """The folds as a group, with ``walk_forward_finish`` as the chord callback once all have ended."""
    folds = group(walk_forward_fold.si(run_id, index) for index in indices)
    transaction.on_commit(bind_to_current_context(chord(folds), walk_forward_finish.si(run_id)))


@shared_task(name="backtesting.tasks.backtest_execute", soft_time_limit=30 * 60, time_limit=35 * 60, **_RETRY)
def backtest_execute(run_id: int) -> dict[str, Any]:
    try:
        run = services.backtest_execute(run_id=run_id)
    except services.BacktestError as exc:  # recorded on the run; a retry cannot help
        return {"run": run_id, "status": RunStatus.FAILED, "error": str(exc)}
    return {"run": run.pk, "status": run.status}


@shared_task(name="backtesting.tasks.walk_forward_prepare", soft_time_limit=20 * 60, time_limit=25 * 60, **_RETRY)
def walk_forward_prepare(run_id: int) -> dict[str, Any]:
    run = services.walk_forward_prepare(run_id=run_id)
    if run.status == RunStatus.RUNNING:
        indices = list(run.fold_rows.order_by("index").values_list("index", flat=True))
        walk_forward_folds_dispatch(run_id=run.pk, indices=indices)
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
    try:
        run = services.comparison_execute(run_id=run_id)
    except services.BacktestError as exc:  # recorded on the run; a retry cannot help
        return {"run": run_id, "status": RunStatus.FAILED, "error": str(exc)}
    return {"run": run.pk, "status": run.status}
