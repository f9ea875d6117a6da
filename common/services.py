"""The four transitions of a run record. Every app starts, finishes, fails and skips its runs here.

Each call sets the status fields and saves only them (plus ``extra`` fields the caller changed; all
fields with ``extra=None``), so a concurrent counter update on the same row is never overwritten.
Failing or skipping a run that has already finished changes nothing: a late errback cannot turn a
success into a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TypeVar

from django.utils import timezone

from common.choices import RunStatus
from common.models import RunRecord
from common.tracing import get_trace_id

logger = logging.getLogger("vcp.runs")

Run = TypeVar("Run", bound=RunRecord)

ERROR_MAX_CHARS = 10_000
_STATUS_FIELDS = ["status", "error", "note", "timings", "started_at", "finished_at", "seconds"]


def _save(run: Run, extra: Iterable[str] | None) -> Run:
    """Save the status fields and ``extra``; ``extra=None`` (or a new row) saves every field."""
    if run.pk is None or extra is None:
        run.save()
    else:
        run.save(update_fields=list(dict.fromkeys([*_STATUS_FIELDS, "trace_id", "updated_at", *extra])))
    return run


def _close(run: Run, *, status: str) -> None:
    run.status = status
    run.finished_at = timezone.now()
    started = run.started_at or run.finished_at
    run.seconds = round((run.finished_at - started).total_seconds(), 3)


def run_start(run: Run, *, extra: Iterable[str] | None = ()) -> Run:
    """Mark ``run`` running now, clearing a previous attempt's outcome (a rerun starts clean)."""
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.finished_at = None
    run.seconds = None
    run.error = ""
    run.trace_id = run.trace_id or get_trace_id() or ""
    return _save(run, extra)


def run_succeed(run: Run, *, extra: Iterable[str] | None = ()) -> Run:
    """Mark ``run`` succeeded; ``timings["total"]`` becomes its wall time."""
    _close(run, status=RunStatus.SUCCEEDED)
    run.error = ""
    run.timings = {**run.timings, "total": run.seconds}
    return _save(run, extra)


def run_fail(run: Run, *, error: str, extra: Iterable[str] | None = ()) -> Run:
    """Mark ``run`` failed with ``error`` (a finished run is left as it is)."""
    if run.finished:
        return run
    _close(run, status=RunStatus.FAILED)
    run.error = error[:ERROR_MAX_CHARS]
    logger.warning("%s failed: %s", run, run.error, extra={"run": run.pk, "kind": type(run).__name__})
    return _save(run, extra)


def run_skip(run: Run, *, reason: str, extra: Iterable[str] | None = ()) -> Run:
    """Mark ``run`` skipped with ``reason``: nothing to do (a holiday), a heartbeat rather than a failure."""
    if run.finished:
        return run
    _close(run, status=RunStatus.SKIPPED)
    run.note = reason
    logger.info("%s skipped: %s", run, reason, extra={"run": run.pk, "kind": type(run).__name__})
    return _save(run, extra)


def beat_schedule_sync() -> list[str]:
    """Write the configured Celery app's beat schedule (declared in vcp_platform/celery.py) into
    django-celery-beat's tables, as beat does when it starts.

    Lets staff see and edit the schedule in admin before beat has ever run (and lets tests check
    it). Re-running updates the same rows.
    """
    from celery import current_app
    from django_celery_beat.schedulers import ModelEntry

    schedule = current_app.conf.beat_schedule
    for name, fields in schedule.items():
        ModelEntry.from_entry(name, app=current_app, **fields)
    return list(schedule)
