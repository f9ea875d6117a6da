from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import LazySettings

from marketdata.models import DailyBar, IngestRun
from marketdata.tasks import ingest_bhavcopy_daily

pytestmark = pytest.mark.django_db

LEGACY = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,"


@pytest.fixture
def inbox(settings: LazySettings, tmp_path: Path) -> Path:
    settings.VCP_DATA_DIR = tmp_path / "data"
    folder = tmp_path / "data" / "inbox"
    folder.mkdir(parents=True)
    return folder


def _legacy(path: Path, high: str = "11") -> Path:
    path.write_text(LEGACY + f"\nAAA,EQ,10,{high},9,10.5,10.5,10,1000,10500,01-APR-2024,12,INE000000001,\n")
    return path


def test_task_loads_inbox_files_and_files_them_under_done_or_failed(inbox: Path) -> None:
    _legacy(inbox / "cm01APR2024bhav.csv")
    _legacy(inbox / "cm01APR2024bhav_broken.csv", high="8")
    result = ingest_bhavcopy_daily.apply(kwargs={"day": "2024-04-02"}).get()
    assert result["status"] == "failed"
    assert (result["loaded"], result["failed"]) == (["cm01APR2024bhav.csv"], ["cm01APR2024bhav_broken.csv"])
    assert (inbox / "done" / "cm01APR2024bhav.csv").is_file()
    assert (inbox / "failed" / "cm01APR2024bhav_broken.csv").is_file()
    assert not [p for p in inbox.iterdir() if p.is_file()]
    assert DailyBar.objects.count() == 1
    assert IngestRun.objects.filter(pk__in=result["runs"]).count() == 2


def test_task_skips_a_day_that_is_no_trading_session(inbox: Path) -> None:
    _legacy(inbox / "cm01APR2024bhav.csv")
    result = ingest_bhavcopy_daily(day="2024-03-25")  # Holi
    assert result["status"] == "skipped"
    assert (inbox / "cm01APR2024bhav.csv").is_file()
    assert not DailyBar.objects.exists()
    skipped = IngestRun.objects.get(pk=result["record"])
    assert (skipped.status, skipped.trade_date) == ("skipped", dt.date(2024, 3, 25))
    assert "not an NSE/BSE trading session" in skipped.note


def test_task_moves_a_file_already_loaded_to_done_without_a_second_run(inbox: Path) -> None:
    _legacy(inbox / "a.csv")
    ingest_bhavcopy_daily(day="2024-04-02")
    _legacy(inbox / "a.csv")
    result = ingest_bhavcopy_daily(day="2024-04-03")
    assert result["loaded"] == ["a.csv"]
    assert len(list((inbox / "done").iterdir())) == 2
    assert IngestRun.objects.count() == 1


def test_task_keeps_running_beyond_the_installed_holiday_list(inbox: Path) -> None:
    # Past exchange_calendars' holiday list weekdays count as sessions (with a warning), so the daily
    # load does not stop when the package's list runs out; a Saturday is still skipped.
    assert ingest_bhavcopy_daily(day="2099-01-05")["status"] != "skipped"
    assert ingest_bhavcopy_daily(day="2099-01-03")["status"] == "skipped"
