"""Thin Celery tasks for market data; the work lives in marketdata.services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from common.tasks import day_of, trading_sessions_only
from marketdata import services
from marketdata.sessions import is_trading_session


@shared_task(
    name="marketdata.tasks.fetch_bhavcopy_daily",
    # Acknowledged on start: it waits for the exchanges for up to VCP_FETCH_DEADLINE_SECONDS, longer
    # than the broker's visibility timeout; a lost one leaves a RUNNING FetchRun for the reaper.
    soft_time_limit=settings.VCP_FETCH_DEADLINE_SECONDS + 3 * 60,
    time_limit=settings.VCP_FETCH_DEADLINE_SECONDS + 5 * 60,
)
@trading_sessions_only(is_session=is_trading_session, record_skip=services.fetch_run_skip)
def fetch_bhavcopy_daily(day: str | None = None) -> dict[str, Any]:
    """Download ``day``'s (default today, IST) equity bhavcopy of each of VCP_FETCH_EXCHANGES into
    VCP_DATA_DIR/inbox, or record SKIPPED FetchRuns on a day that is no trading session."""
    runs = services.bhavcopy_fetch(day=day_of(day))
    return {
        "date": day,
        "status": "ok" if all(run.status == "succeeded" for run in runs) else "failed",
        "runs": {run.exchange: {"id": run.pk, "status": run.status, "error": run.error} for run in runs},
    }


@shared_task(
    name="marketdata.tasks.ingest_bhavcopy_daily",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    # Idempotent, so acks_late: a lost worker's load comes back after the broker's visibility timeout.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=8 * 60,
    time_limit=10 * 60,
)
@trading_sessions_only(is_session=is_trading_session, record_skip=services.ingest_run_skip)
def ingest_bhavcopy_daily(day: str | None = None) -> dict[str, Any]:
    """Ingest the files waiting in VCP_DATA_DIR/inbox, unless ``day`` (default today, IST) is no session.

    Past the installed holiday list every weekday counts as a session (marketdata.calendar logs a
    warning to upgrade).
    """
    report = services.inbox_ingest()
    return {
        "date": day,
        "status": "failed" if report.failed else "ok",
        "loaded": report.loaded,
        "failed": report.failed,
        "runs": [result.run_id for result in report.results],
    }
