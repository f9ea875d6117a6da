"""Thin Celery tasks for the monitoring loop; the work lives in monitoring.services.

Beat starts both every weekday evening (vcp_platform/celery.py). A scheduled run, one without an
explicit date, first asks the XBOM calendar whether today (IST) is a trading session and skips
exchange holidays; a run with a date (a rerun, or a staff request) always runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from marketdata.calendar import is_trading_session
from monitoring import services

logger = logging.getLogger("vcp.monitoring.tasks")


def _holiday(task: str, date: str | None) -> dict[str, Any] | None:
    if date is not None:
        return None
    today = timezone.localdate()
    if is_trading_session(today):
        return None
    logger.info("%s skipped: %s is not an NSE/BSE trading session", task, today)
    return {"date": str(today), "status": "skipped", "reason": "not an NSE/BSE trading session"}


@shared_task(
    name="monitoring.tasks.check_drift",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)
def check_drift(date: str | None = None, window_days: int | None = None) -> dict[str, Any]:
    """Drift of the production version's features on ``date`` (YYYY-MM-DD; the latest snapshots when None)."""
    skipped = _holiday("check_drift", date)
    if skipped is not None:
        return skipped
    logger.info("check_drift started", extra={"date": date})
    try:
        report = services.drift_check(date=dt.date.fromisoformat(date) if date else None, window_days=window_days)
    except services.MonitoringError as exc:
        services.check_failure_report(check="drift", error=str(exc))
        raise
    if report is None:
        return {"status": "skipped", "reason": "no production version"}
    return {"status": report.status, "report_id": report.pk, "date": str(report.date)}


@shared_task(
    name="monitoring.tasks.check_degradation",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)
def check_degradation(date: str | None = None, window_days: int | None = None) -> dict[str, Any]:
    """Realised F1 of the production version as of ``date`` (the latest bars when None); may roll back."""
    skipped = _holiday("check_degradation", date)
    if skipped is not None:
        return skipped
    logger.info("check_degradation started", extra={"date": date})
    try:
        report = services.degradation_check(
            as_of=dt.date.fromisoformat(date) if date else None, window_days=window_days
        )
    except services.MonitoringError as exc:
        services.check_failure_report(check="degradation", error=str(exc))
        raise
    if report is None:
        return {"status": "skipped", "reason": "no production version"}
    return {"status": report.action, "report_id": report.pk, "as_of": str(report.as_of), "f1": report.f1}
