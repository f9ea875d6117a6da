"""Thin Celery tasks for market data; the work lives in marketdata.services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from common.tasks import trading_sessions_only
from marketdata import services
from marketdata.sessions import is_trading_session


@shared_task(
    name="marketdata.tasks.ingest_bhavcopy_daily",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
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
