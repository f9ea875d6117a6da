"""Thin Celery tasks for the monitoring loop; the work lives in monitoring.services.

Beat starts them every evening (vcp_platform/celery.py); ``@trading_sessions_only`` skips a
``day`` that is no trading session. ``check_fetch`` (20:00) alerts when a session's bhavcopy is
still missing. The staff "run now" button passes the latest bar date as ``day``,
so it runs on a weekend too.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError

from common.tasks import trading_sessions_only
from marketdata.sessions import is_trading_session
from monitoring import services

logger = logging.getLogger("vcp.monitoring.tasks")

# Checks are idempotent (one report row per version, day and window; alerts de-duplicated), so they
# are acks_late, with hard limits within VCP_ACKS_LATE_TIME_LIMIT (vcp_platform/settings.py).
_CHECK_TASK: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 60,
    "max_retries": 3,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 8 * 60,
    "time_limit": 10 * 60,
}


@shared_task(name="monitoring.tasks.check_drift", **_CHECK_TASK)
@trading_sessions_only(is_session=is_trading_session)
def check_drift(day: str | None = None, window_days: int | None = None) -> dict[str, Any]:
    """Drift of the production version's features over the snapshots up to ``day`` (YYYY-MM-DD)."""
    logger.info("check_drift started", extra={"date": day})
    try:
        report = services.drift_check(date=dt.date.fromisoformat(day) if day else None, window_days=window_days)
    except services.MonitoringError as exc:
        services.check_failure_report(check="drift", error=str(exc))
        raise
    if report is None:
        return {"status": "skipped", "reason": "no production version"}
    return {"status": report.status, "report_id": report.pk, "date": str(report.date)}


@shared_task(name="monitoring.tasks.check_degradation", **_CHECK_TASK)
@trading_sessions_only(is_session=is_trading_session)
def check_degradation(
    day: str | None = None, window_days: int | None = None, actor: str | None = None
) -> dict[str, Any]:
    """Realised quality of the production version as of ``day`` (YYYY-MM-DD); may roll back.

    ``actor``: the staff user who asked for the check (a rollback is recorded as theirs); beat: "system"."""
    logger.info("check_degradation started", extra={"date": day})
    try:
        report = services.degradation_check(
            as_of=dt.date.fromisoformat(day) if day else None, window_days=window_days, actor=actor
        )
    except services.MonitoringError as exc:
        services.check_failure_report(check="degradation", error=str(exc))
        raise
    if report is None:
        return {"status": "skipped", "reason": "no production version"}
    return {
        "status": report.action,
        "report_id": report.pk,
        "as_of": str(report.as_of),
        "f1": report.f1,
        "pr_auc_lift": report.pr_auc_lift,
    }


@shared_task(name="monitoring.tasks.check_fetch", **_CHECK_TASK)
@trading_sessions_only(is_session=is_trading_session)
def check_fetch(day: str | None = None) -> dict[str, Any]:
    """20:00 IST: alert for each exchange whose bars of ``day`` (YYYY-MM-DD; default today) are missing."""
    alerts = services.fetch_missing_check(day=dt.date.fromisoformat(day) if day else dt.date.today())
    return {"date": day, "status": "missing" if alerts else "ok", "alerts": [alert.pk for alert in alerts]}
