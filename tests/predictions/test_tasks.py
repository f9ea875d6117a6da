from __future__ import annotations

import datetime as dt

import pytest

from modelregistry.models import ModelVersion
from predictions.choices import BatchStatus
from predictions.models import BatchRun, Prediction
from predictions.tasks import score_universe_daily
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


def test_the_daily_task_skips_an_exchange_holiday_with_a_record() -> None:
    result = score_universe_daily.apply(kwargs={"today": "2024-08-15"}).get()  # Independence Day
    assert result["status"] == BatchStatus.SKIPPED
    run = BatchRun.objects.get(pk=result["batch_run"])
    assert run.status == BatchStatus.SKIPPED
    assert "trading session" in run.note


def test_the_daily_task_skips_a_weekend() -> None:
    assert score_universe_daily.apply(kwargs={"today": "2024-08-03"}).get()["status"] == BatchStatus.SKIPPED


def test_the_daily_task_scores_a_trading_day(market: Market, production: ModelVersion) -> None:
    result = score_universe_daily.apply(kwargs={"today": market.last.isoformat()}).get()
    assert result["status"] == BatchStatus.SUCCEEDED
    assert Prediction.objects.filter(date=market.last).count() == BatchRun.objects.get().scored > 0


def test_the_daily_task_records_a_failure_when_the_day_was_not_ingested(
    market: Market, production: ModelVersion
) -> None:
    missing = market.last + dt.timedelta(days=3)  # Monday 5 August 2024: a session without bars
    result = score_universe_daily.apply(kwargs={"today": missing.isoformat()}).get()
    assert result["status"] == "failed"
    assert result["error"].endswith(f"has a bar on {missing}; the latest stored date is {market.last}.")
    assert BatchRun.objects.get().status == BatchStatus.FAILED
