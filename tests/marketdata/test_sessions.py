"""marketdata.sessions: the calendar plus the TradingSession table, as the daily tasks ask it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import LazySettings

from marketdata import services
from marketdata.sessions import is_trading_session
from marketdata.tasks import ingest_bhavcopy_daily

pytestmark = pytest.mark.django_db

SATURDAY = dt.date(2024, 6, 15)


def test_a_session_added_for_a_saturday_makes_the_daily_task_run_and_removing_it_skips_again(
    settings: LazySettings, tmp_path: Path
) -> None:
    settings.VCP_DATA_DIR = tmp_path
    assert not is_trading_session(SATURDAY)
    assert ingest_bhavcopy_daily(day=SATURDAY.isoformat())["status"] == "skipped"
    services.trading_session_add(date=SATURDAY, note="exchange circular: special live session")
    assert is_trading_session(SATURDAY)
    assert ingest_bhavcopy_daily(day=SATURDAY.isoformat())["status"] == "ok"
    services.trading_session_remove(date=SATURDAY)
    assert not is_trading_session(SATURDAY)


def test_budget_saturday_2025_is_a_session_from_the_shipped_data() -> None:
    assert is_trading_session(dt.date(2025, 2, 1))
    assert not is_trading_session(dt.date(2025, 2, 2))
