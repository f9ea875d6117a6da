from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from common.choices import RunStatus
from modelregistry.models import ModelVersion
from predictions import services
from predictions.models import BatchRun, Prediction
from predictions.tasks import batch_run_dispatch, score_universe_daily
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


def test_the_daily_task_skips_an_exchange_holiday_with_a_record() -> None:
    result = score_universe_daily.apply(kwargs={"day": "2024-08-15"}).get()  # Independence Day
    assert result["status"] == RunStatus.SKIPPED
    run = BatchRun.objects.get(pk=result["record"])
    assert run.status == RunStatus.SKIPPED
    assert "trading session" in run.note


def test_the_daily_task_skips_a_weekend() -> None:
    assert score_universe_daily.apply(kwargs={"day": "2024-08-03"}).get()["status"] == RunStatus.SKIPPED


def test_the_daily_task_dispatches_the_chunks_after_commit_and_scores_a_trading_day(
    market: Market, production: ModelVersion, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as dispatched:
        result = score_universe_daily.apply(kwargs={"day": market.last.isoformat()}).get()
    assert len(dispatched) == 1  # the chord is sent once the run's snapshots are committed
    run = BatchRun.objects.get(pk=result["record"])
    assert run.status == RunStatus.SUCCEEDED
    assert Prediction.objects.filter(date=market.last).count() == run.scored > 0


def test_dispatching_a_run_with_nothing_left_only_finalizes_it(
    market: Market, production: ModelVersion, django_capture_on_commit_callbacks: Any
) -> None:
    services.batch_run_inline(date=market.last)
    plan = services.batch_run_start(date=market.last)
    assert plan.chunks == []
    with django_capture_on_commit_callbacks(execute=True):
        batch_run_dispatch(batch_run_id=plan.run.pk, chunks=plan.chunks)
    plan.run.refresh_from_db()
    assert (plan.run.status, plan.run.resumed, plan.run.scored) == (RunStatus.SUCCEEDED, plan.run.instruments, 0)


def test_the_daily_task_records_a_failure_when_the_day_was_not_ingested(
    market: Market, production: ModelVersion
) -> None:
    missing = market.last + dt.timedelta(days=3)  # Monday 5 August 2024: a session without bars
    result = score_universe_daily.apply(kwargs={"day": missing.isoformat()}).get()
    assert result["status"] == "failed"
    assert result["error"].endswith(f"has a bar on {missing}; the latest stored date is {market.last}.")
    assert BatchRun.objects.get().status == RunStatus.FAILED
