"""One evening driven by the beat tasks, in beat's order: fetch (18:15) -> ingest (18:30) -> score (18:45).

The archive is a loopback server serving a synthetic market's last day as NSE's UDiFF zip; Celery is
eager, so the scoring chord runs in this process once the run commits.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings

from common.choices import RunStatus
from marketdata.models import DailyBar, FetchRun, IngestRun
from marketdata.services import bars_upsert
from marketdata.synthetic import generate_market
from marketdata.tasks import fetch_bhavcopy_daily, ingest_bhavcopy_daily
from modelregistry.models import ModelVersion
from monitoring.tasks import check_fetch
from predictions.models import BatchRun, Prediction
from predictions.tasks import score_universe_daily
from tests.marketdata.archive import (
    ArchiveServer,
    nse_path,
    ok,
    point_settings_at,
    running_archive,
    udiff_csv,
    udiff_name,
    zipped,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 8, 2)


@pytest.fixture
def archive(settings: LazySettings, tmp_path: Path) -> Iterator[ArchiveServer]:
    for server in running_archive():
        point_settings_at(settings, server, data_dir=tmp_path / "data")
        settings.VCP_FETCH_EXCHANGES = ["NSE"]
        yield server


def test_a_fixture_day_flows_from_the_archive_to_ranked_predictions(
    archive: ArchiveServer,
    settings: LazySettings,
    production: ModelVersion,
    eager_celery: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    market = generate_market(stocks=30, days=330, seed=11, end=DAY)
    history = market.bars[market.bars["date"] < dt.datetime(2024, 8, 2)]
    bars_upsert(frame=history.copy(), exchange="NSE")
    today = market.bars[market.bars["date"] == dt.datetime(2024, 8, 2)]
    archive.scripts[nse_path(DAY)] = [ok(zipped(udiff_name("NSE", DAY), udiff_csv(today, exchange="NSE")))]

    fetched = fetch_bhavcopy_daily.apply(kwargs={"day": DAY.isoformat()}).get()
    assert fetched["status"] == "ok", fetched
    assert FetchRun.objects.get(exchange="NSE", trade_date=DAY).status == RunStatus.SUCCEEDED

    ingested = ingest_bhavcopy_daily.apply(kwargs={"day": DAY.isoformat()}).get()
    assert (ingested["status"], ingested["loaded"]) == ("ok", [udiff_name("NSE", DAY)])
    assert IngestRun.objects.get(pk=ingested["runs"][0]).layout == "nse_udiff"
    assert DailyBar.objects.filter(date=DAY).count() == len(today)

    with django_capture_on_commit_callbacks(execute=True):
        scored = score_universe_daily.apply(kwargs={"day": DAY.isoformat()}).get()
    run = BatchRun.objects.get(pk=scored["record"])
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.scored == run.instruments == len(today)
    assert Prediction.objects.filter(date=DAY, model_version=production).count() == len(today)
    with open(run.export_path, newline="") as fh:
        assert len(list(csv.reader(fh))) == len(today) + 1

    assert check_fetch.apply(kwargs={"day": DAY.isoformat()}).get()["status"] == "ok"


def test_on_a_holiday_every_step_records_a_skip_and_nothing_is_fetched(
    archive: ArchiveServer, settings: LazySettings, eager_celery: None
) -> None:
    holiday = "2024-08-15"
    assert fetch_bhavcopy_daily.apply(kwargs={"day": holiday}).get()["status"] == "skipped"
    assert ingest_bhavcopy_daily.apply(kwargs={"day": holiday}).get()["status"] == "skipped"
    assert score_universe_daily.apply(kwargs={"day": holiday}).get()["status"] == "skipped"
    assert not archive.requests
    run = FetchRun.objects.get(exchange="NSE", trade_date=dt.date(2024, 8, 15))
    assert (run.status, run.note) == (
        RunStatus.SKIPPED,
        "2024-08-15 is not an NSE/BSE trading session (XBOM calendar)",
    )
