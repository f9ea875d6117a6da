"""Thin Celery tasks for market data; the work lives in marketdata.services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from marketdata.calendar import is_trading_session
from marketdata.services import inbox_ingest


@shared_task(
    name="marketdata.tasks.ingest_bhavcopy_daily",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def ingest_bhavcopy_daily(today: str | None = None) -> dict[str, Any]:
    """Ingest the files waiting in VCP_DATA_DIR/inbox, unless ``today`` (IST) is no trading session.

    ``today`` (YYYY-MM-DD) overrides the clock, for reruns and tests. Past the installed holiday
    list every weekday counts as a session (marketdata.calendar logs a warning to upgrade).
    """
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    if not is_trading_session(day):
        return {"date": str(day), "status": "skipped", "reason": "not an NSE/BSE trading session"}
    report = inbox_ingest()
    return {
        "date": str(day),
        "status": "failed" if report.failed else "ok",
        "loaded": report.loaded,
        "failed": report.failed,
        "runs": [result.run_id for result in report.results],
    }
