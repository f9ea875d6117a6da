"""20:00 IST: a session whose bhavcopy is still missing raises one alert per exchange, saying why."""

from __future__ import annotations

import datetime as dt

import pytest

from common.choices import RunStatus
from common.services import run_fail, run_start
from marketdata.models import DailyBar, FetchRun, Instrument
from monitoring import tasks
from monitoring.choices import AlertKind, AlertSeverity
from monitoring.models import Alert
from monitoring.services import fetch_missing_check

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 8, 2)


def _bar(exchange: str) -> None:
    instrument = Instrument.objects.create(symbol="AAA" if exchange == "NSE" else "500002", exchange=exchange)
    DailyBar.objects.create(instrument=instrument, date=DAY, open=10, high=11, low=9, close=10.5, volume=100)


def test_a_day_with_bars_from_every_exchange_raises_nothing() -> None:
    _bar("NSE")
    _bar("BSE")
    assert fetch_missing_check(day=DAY) == []
    assert not Alert.objects.exists()


def test_a_missing_exchange_raises_a_critical_alert_with_the_fetch_error() -> None:
    _bar("NSE")
    run_fail(run_start(FetchRun(exchange="BSE", trade_date=DAY, attempts=7)), error="HTTP 404 from https://x")
    [alert] = fetch_missing_check(day=DAY)
    assert (alert.kind, alert.severity) == (AlertKind.FETCH_MISSING, AlertSeverity.CRITICAL)
    assert alert.message.startswith("BSE bhavcopy of 2024-08-02 is still missing: the fetch is failed after 7")
    assert "HTTP 404 from https://x" in alert.message
    assert "manage.py fetch_bhavcopy --date 2024-08-02 --exchange BSE" in alert.message
    assert alert.context == {"exchange": "BSE", "date": "2024-08-02", "fetch_run": FetchRun.objects.get().pk}


def test_a_fetched_but_not_ingested_file_and_a_fetch_never_tried_say_so() -> None:
    FetchRun.objects.create(exchange="NSE", trade_date=DAY, status=RunStatus.SUCCEEDED, path="/inbox/x.csv")
    alerts = {alert.context["exchange"]: alert.message for alert in fetch_missing_check(day=DAY)}
    assert "it was fetched into /inbox/x.csv, but not ingested" in alerts["NSE"]
    assert "no fetch was recorded for it" in alerts["BSE"]


def test_the_alert_is_sent_once_however_often_the_check_runs() -> None:
    fetch_missing_check(day=DAY, exchanges=["NSE"])
    fetch_missing_check(day=DAY, exchanges=["NSE"])
    alert = Alert.objects.get()
    assert alert.occurrences == 2


def test_the_task_checks_a_session_and_skips_a_holiday() -> None:
    result = tasks.check_fetch(day="2024-08-02")
    assert result["status"] == "missing"
    assert Alert.objects.filter(kind=AlertKind.FETCH_MISSING).count() == 2
    assert tasks.check_fetch(day="2024-08-15")["status"] == "skipped"  # Independence Day
