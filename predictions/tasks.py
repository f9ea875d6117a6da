"""Thin Celery tasks for batch scoring; the work lives in predictions.services.

``score_universe_daily`` is the beat entry (vcp_platform/celery.py). It prepares the run and fans the
chunks out as a chord: ``score_chunk`` x N, then ``finalize_batch``; ``batch_failed`` closes the run
when a chunk has exhausted its retries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.utils import timezone

from marketdata.calendar import is_trading_session
from predictions import services
from predictions.exceptions import PredictionError


@shared_task(name="predictions.tasks.score_universe_daily", soft_time_limit=30 * 60, time_limit=35 * 60)
def score_universe_daily(today: str | None = None) -> dict[str, Any]:
    """Score today's universe (IST), or record a SKIPPED run on a day that is no trading session.

    ``today`` (YYYY-MM-DD) overrides the clock, for reruns and tests.
    """
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    if not is_trading_session(day):
        run = services.batch_run_skip(date=day, reason="not an NSE/BSE trading session (XBOM calendar)")
        return {"date": str(day), "batch_run": run.pk, "status": run.status}
    try:
        run = services.score_universe(date=day)
    except PredictionError as exc:
        # Recorded on the run (FAILED) and alerted on from the batch metrics; a retry cannot help.
        return {"date": str(day), "status": "failed", "error": exc.message}
    return {"date": str(day), "batch_run": run.pk, "status": run.status}


@shared_task(
    name="predictions.tasks.score_chunk",
    # Any failure is retried: a chunk is idempotent, and what fails in practice is transient
    # (a database restart, a killed worker, a full disk freed meanwhile).
    autoretry_for=(Exception,),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=False,
    max_retries=services.CHUNK_MAX_RETRIES,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)
def score_chunk(batch_run_id: int, instrument_ids: list[int]) -> dict[str, Any]:
    return services.score_chunk(batch_run_id=batch_run_id, instrument_ids=instrument_ids)


@shared_task(name="predictions.tasks.finalize_batch", soft_time_limit=10 * 60, time_limit=12 * 60)
def finalize_batch(chunk_results: list[dict[str, Any]], batch_run_id: int) -> int:
    return services.batch_run_finalize(batch_run_id=batch_run_id, chunk_results=chunk_results).pk


@shared_task(name="predictions.tasks.batch_failed")
def batch_failed(request: Any, exc: BaseException, traceback: Any, batch_run_id: int) -> None:
    """Errback of the chord: a chunk failed for good, so the run is closed as FAILED (rerun resumes)."""
    services.batch_run_fail(batch_run_id=batch_run_id, error=f"{type(exc).__name__}: {exc}")
