"""fetch_bhavcopy: one day's files from a loopback archive into the inbox; holidays skipped like the task does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.management import CommandError, call_command

from common.choices import RunStatus
from marketdata.models import FetchRun
from tests.marketdata.archive import (
    ArchiveServer,
    bse_csv,
    bse_path,
    nse_path,
    nse_zip,
    ok,
    point_settings_at,
    running_archive,
    status,
    udiff_name,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 8, 2)


@pytest.fixture
def archive(settings: LazySettings, tmp_path: Path) -> Iterator[ArchiveServer]:
    for server in running_archive():
        point_settings_at(settings, server, data_dir=tmp_path / "data")
        yield server


def test_the_command_fetches_both_exchanges_into_the_inbox(archive: ArchiveServer, settings: LazySettings) -> None:
    archive.scripts[nse_path(DAY)] = [status(403), ok(nse_zip(DAY))]
    archive.scripts[bse_path(DAY)] = [ok(bse_csv(DAY))]
    out = StringIO()
    call_command("fetch_bhavcopy", "--date", "2024-08-02", stdout=out)
    inbox = Path(settings.VCP_DATA_DIR) / "inbox"
    assert (inbox / udiff_name("NSE", DAY)).is_file()
    assert (inbox / udiff_name("BSE", DAY)).is_file()
    assert f"NSE 2024-08-02: {inbox / udiff_name('NSE', DAY)}" in out.getvalue()
    assert "after 2 attempts" in out.getvalue()
    assert set(FetchRun.objects.values_list("exchange", "status")) == {
        ("NSE", RunStatus.SUCCEEDED),
        ("BSE", RunStatus.SUCCEEDED),
    }


def test_one_exchange_only_and_a_missing_file_exits_non_zero(archive: ArchiveServer) -> None:
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 1 files could not be fetched"):
        call_command("fetch_bhavcopy", "--date", "2024-08-02", "--exchange", "BSE", "--deadline", "0.3", stderr=err)
    assert "BSE 2024-08-02: failed: BSE bhavcopy of 2024-08-02 not fetched after" in err.getvalue()
    assert not FetchRun.objects.filter(exchange="NSE").exists()


def test_a_holiday_records_skipped_fetches_with_the_reason_as_the_task_does(archive: ArchiveServer) -> None:
    out = StringIO()
    call_command("fetch_bhavcopy", "--date", "2024-03-25", stdout=out)  # Holi
    assert "skipped" in out.getvalue()
    runs = FetchRun.objects.filter(trade_date=dt.date(2024, 3, 25))
    assert sorted(runs.values_list("exchange", "status")) == [("BSE", "skipped"), ("NSE", "skipped")]
    assert all("2024-03-25 is not an NSE/BSE trading session" in run.note for run in runs)
    assert not archive.requests
