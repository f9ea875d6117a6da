"""Fetching the daily bhavcopies against a loopback archive that misbehaves on purpose (never the real sites)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings

from common.choices import RunStatus
from marketdata import fetch
from marketdata.models import FetchRun
from marketdata.services import bhavcopy_fetch
from tests.marketdata.archive import (
    ArchiveServer,
    bse_csv,
    bse_path,
    day_bars,
    html,
    nse_path,
    nse_zip,
    ok,
    point_settings_at,
    running_archive,
    slow,
    status,
    truncated,
    udiff_csv,
    udiff_name,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 8, 2)  # a Friday session


@pytest.fixture
def archive(settings: LazySettings, tmp_path: Path) -> Iterator[ArchiveServer]:
    for server in running_archive():
        point_settings_at(settings, server, data_dir=tmp_path / "data")
        yield server


def inbox(settings: LazySettings) -> Path:
    return Path(settings.VCP_DATA_DIR) / "inbox"


def test_a_day_of_both_exchanges_lands_in_the_inbox_checked_and_with_the_headers_archives_require(
    archive: ArchiveServer, settings: LazySettings
) -> None:
    archive.scripts[nse_path(DAY)] = [ok(nse_zip(DAY))]
    archive.scripts[bse_path(DAY)] = [ok(bse_csv(DAY))]
    runs = bhavcopy_fetch(day=DAY)
    assert [(run.exchange, run.status, run.attempts) for run in runs] == [
        ("NSE", RunStatus.SUCCEEDED, 1),
        ("BSE", RunStatus.SUCCEEDED, 1),
    ]
    files = sorted(p.name for p in inbox(settings).iterdir())
    assert files == [udiff_name("BSE", DAY), udiff_name("NSE", DAY)]  # the zip's CSV, unpacked; no temp file
    assert (inbox(settings) / udiff_name("NSE", DAY)).read_bytes() == udiff_csv(day_bars(DAY), exchange="NSE")
    for _, headers in archive.requests:
        assert headers["User-Agent"].startswith("Mozilla/5.0")
        assert "text/csv" in headers["Accept"]
        assert headers["Referer"] in {"https://www.nseindia.com/", "https://www.bseindia.com/"}
    nse = FetchRun.objects.get(exchange="NSE", trade_date=DAY)
    expected = udiff_csv(day_bars(DAY), exchange="NSE")
    assert (nse.http_status, nse.size) == (200, len(expected))
    assert nse.path == str(inbox(settings) / udiff_name("NSE", DAY))
    assert "3 rows of 2024-08-02" in nse.note


def test_403_and_5xx_are_retried_with_backoff_until_the_file_comes(archive: ArchiveServer) -> None:
    archive.scripts[nse_path(DAY)] = [status(403), status(503), ok(nse_zip(DAY))]
    waits: list[float] = []
    [run] = bhavcopy_fetch(day=DAY, exchanges=["NSE"], sleep=waits.append)
    assert (run.status, run.attempts, run.http_status) == (RunStatus.SUCCEEDED, 3, 200)
    assert waits == [0.05, 0.1]  # doubling from VCP_FETCH_BACKOFF_SECONDS


def test_a_file_still_not_published_at_the_deadline_fails_with_the_last_answer(
    archive: ArchiveServer, settings: LazySettings
) -> None:
    settings.VCP_FETCH_DEADLINE_SECONDS = 1
    [run] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])  # nothing scripted: 404
    assert run.status == RunStatus.FAILED
    assert run.attempts >= 3
    assert run.http_status == 404
    assert "NSE bhavcopy of 2024-08-02 not fetched after" in run.error
    assert "HTTP 404" in run.error
    assert not inbox(settings).exists() or not list(inbox(settings).iterdir())


def test_a_slow_answer_times_out_and_the_next_attempt_gets_the_file(
    archive: ArchiveServer, settings: LazySettings
) -> None:
    settings.VCP_FETCH_TIMEOUT_SECONDS = 0.3
    archive.scripts[nse_path(DAY)] = [slow(1.5, nse_zip(DAY)), ok(nse_zip(DAY))]
    [run] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    assert (run.status, run.attempts) == (RunStatus.SUCCEEDED, 2)


def test_a_truncated_download_never_reaches_the_inbox(archive: ArchiveServer, settings: LazySettings) -> None:
    settings.VCP_FETCH_DEADLINE_SECONDS = 0.5
    archive.scripts[nse_path(DAY)] = [truncated(nse_zip(DAY))]
    [run] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    assert run.status == RunStatus.FAILED
    assert "IncompleteRead" in run.error or "cut short" in run.error
    assert not inbox(settings).exists() or not list(inbox(settings).iterdir())


def test_a_truncated_download_is_retried(archive: ArchiveServer) -> None:
    archive.scripts[nse_path(DAY)] = [truncated(nse_zip(DAY)), ok(nse_zip(DAY))]
    [run] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    assert (run.status, run.attempts) == (RunStatus.SUCCEEDED, 2)


def test_a_damaged_zip_is_not_a_bhavcopy() -> None:
    with pytest.raises(fetch.FetchError, match="damaged or cut short") as caught:
        fetch.unpack(nse_zip(DAY)[:-40], url="http://x/BhavCopy_NSE_CM_0_0_0_20240802_F_0000.csv.zip")
    assert caught.value.retryable


def test_an_html_error_page_served_as_the_file_is_refused(archive: ArchiveServer, settings: LazySettings) -> None:
    settings.VCP_FETCH_DEADLINE_SECONDS = 0.5
    archive.scripts[bse_path(DAY)] = [html()]
    [run] = bhavcopy_fetch(day=DAY, exchanges=["BSE"])
    assert run.status == RunStatus.FAILED
    assert "is an HTML page titled 'Access Denied'" in run.error
    assert not inbox(settings).exists() or not list(inbox(settings).iterdir())


def test_a_file_carrying_another_day_is_refused(archive: ArchiveServer, settings: LazySettings) -> None:
    settings.VCP_FETCH_DEADLINE_SECONDS = 0.5
    archive.scripts[nse_path(DAY)] = [ok(nse_zip(DAY, dated=dt.date(2024, 8, 1)))]
    [run] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    assert run.status == RunStatus.FAILED
    assert "asked for 2024-08-02 carries 2024-08-01" in run.error
    assert not inbox(settings).exists() or not list(inbox(settings).iterdir())


def test_the_other_exchanges_file_fails_at_once_without_retrying(archive: ArchiveServer) -> None:
    archive.scripts[bse_path(DAY)] = [ok(udiff_csv(day_bars(DAY), exchange="NSE"))]
    [run] = bhavcopy_fetch(day=DAY, exchanges=["BSE"])
    assert (run.status, run.attempts) == (RunStatus.FAILED, 1)
    assert "is a nse_udiff file of NSE, not BSE" in run.error


def test_a_second_fetch_of_a_fetched_day_changes_nothing(archive: ArchiveServer, settings: LazySettings) -> None:
    archive.scripts[nse_path(DAY)] = [ok(nse_zip(DAY))]
    [first] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    written = inbox(settings) / udiff_name("NSE", DAY)
    stamp = written.stat().st_mtime_ns
    before = FetchRun.objects.values().get(pk=first.pk)
    requests = len(archive.requests)
    [again] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    assert again.pk == first.pk
    assert FetchRun.objects.values().get(pk=first.pk) == before
    assert len(archive.requests) == requests
    assert written.stat().st_mtime_ns == stamp
    assert FetchRun.objects.count() == 1


def test_a_failed_day_fetched_again_starts_clean_on_the_same_record(
    archive: ArchiveServer, settings: LazySettings
) -> None:
    settings.VCP_FETCH_DEADLINE_SECONDS = 0.2
    [failed] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    assert failed.status == RunStatus.FAILED
    archive.scripts[nse_path(DAY)] = [ok(nse_zip(DAY))]
    [again] = bhavcopy_fetch(day=DAY, exchanges=["NSE"])
    assert (again.pk, again.status, again.attempts, again.error) == (failed.pk, RunStatus.SUCCEEDED, 1, "")


def test_url_templates_take_the_date_in_the_archives_forms() -> None:
    day = dt.date(2025, 2, 1)
    template = "x/{yyyymmdd}/{ddmmyyyy}/{ddmmyy}/{DDMONYYYY}"
    assert fetch.url_for(template, day) == "x/20250201/01022025/010225/01FEB2025"


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [fetch.backoff_seconds(n, base=15, cap=120) for n in range(1, 6)] == [15, 30, 60, 120, 120]
