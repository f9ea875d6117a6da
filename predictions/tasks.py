"""Celery tasks of batch scoring: the daily beat entry, the chord that fans chunks out, and its steps.

The work lives in ``predictions.services``; these tasks own the dispatch (``batch_run_dispatch``
builds the chord once the run's rows are committed) and the retry policy of a chunk.
"""

from __future__ import annotations

from typing import Any

from celery import chord, group, shared_task
from django.db import transaction

from common.tasks import day_of, trading_sessions_only
from common.tracing import bind_to_current_context
from marketdata.sessions import is_trading_session
from predictions import services
from predictions.exceptions import PredictionError

# A chunk is idempotent and what fails in practice is transient (a database restart, a killed
# worker, a full disk freed meanwhile): any failure is retried, with backoff.
CHUNK_MAX_RETRIES = 3
# Every task here is idempotent and acks_late, so a lost worker's message comes back after the
# broker's visibility timeout; each hard limit stays within VCP_ACKS_LATE_TIME_LIMIT (10 min) so that
# a running task is never delivered twice.
_REDELIVERED: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="predictions.tasks.score_universe_daily", soft_time_limit=8 * 60, time_limit=10 * 60, **_REDELIVERED)
@trading_sessions_only(is_session=is_trading_session, record_skip=services.batch_run_skip)
def score_universe_daily(day: str | None = None) -> dict[str, Any]:
    """Score ``day``'s universe (YYYY-MM-DD; default today in India), or record a SKIPPED run on a
    day that is no trading session. The chunks run on the workers; the finalize task closes the run."""
    try:
        plan = services.batch_run_start(date=day_of(day))
    except PredictionError as exc:
        # Recorded on the run (FAILED) and alerted on from the batch metrics; a retry cannot help.
        return {"date": day, "status": "failed", "error": exc.message}
    batch_run_dispatch(batch_run_id=plan.run.pk, chunks=plan.chunks)
    return {"date": day, "record": plan.run.pk, "status": plan.run.status, "chunks": len(plan.chunks)}


def batch_run_dispatch(*, batch_run_id: int, chunks: list[list[int]]) -> None:
    """Fan ``chunks`` out as a chord (``score_chunk`` x N, then ``finalize_batch``) once the current
    transaction commits, so no worker can read the run before its snapshots exist."""
    if not chunks:  # everything was already scored: only the finalize step is left
        transaction.on_commit(bind_to_current_context(finalize_batch.delay, [], batch_run_id))
        return
    header = group(score_chunk.si(batch_run_id, chunk) for chunk in chunks)
    body = finalize_batch.s(batch_run_id).on_error(batch_failed.s(batch_run_id))
    transaction.on_commit(bind_to_current_context(chord(header, body).apply_async))


@shared_task(
    name="predictions.tasks.score_chunk",
    autoretry_for=(Exception,),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=False,
    max_retries=CHUNK_MAX_RETRIES,
    soft_time_limit=4 * 60,
    time_limit=5 * 60,
    bind=True,
    **_REDELIVERED,
)
def score_chunk(self: Any, batch_run_id: int, instrument_ids: list[int]) -> dict[str, Any]:
    if (self.request.delivery_info or {}).get("redelivered"):
        services.batch_run_chunk_redelivered(batch_run_id=batch_run_id, instrument_ids=instrument_ids)
    return services.batch_run_chunk_score(batch_run_id=batch_run_id, instrument_ids=instrument_ids)


@shared_task(name="predictions.tasks.finalize_batch", soft_time_limit=4 * 60, time_limit=5 * 60, **_REDELIVERED)
def finalize_batch(chunk_results: list[dict[str, Any]], batch_run_id: int) -> int:
    return services.batch_run_finalize(batch_run_id=batch_run_id, chunk_results=chunk_results).pk


@shared_task(name="predictions.tasks.batch_failed")
def batch_failed(request: Any, exc: BaseException, traceback: Any, batch_run_id: int) -> None:
    """Errback of the chord: a chunk failed for good, so the run is closed as FAILED (rerun resumes)."""
    services.batch_run_fail(batch_run_id=batch_run_id, error=f"{type(exc).__name__}: {exc}")
