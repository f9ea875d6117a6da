"""The four transitions of a run record. Every app starts, finishes, fails and skips its runs here.

Each call sets the status fields and saves only them (plus ``extra`` fields the caller changed; all
fields with ``extra=None``), so a concurrent counter update on the same row is never overwritten.
Failing or skipping a run that has already finished changes nothing: a late errback cannot turn a
success into a failure. ``runs_reap`` fails the RUNNING runs of every kind that stopped making
progress (their worker was lost), without knowing the kinds: it finds them among the installed models.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.db.models.functions import Coalesce
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


def run_kinds() -> list[type[RunRecord]]:
    """Every installed concrete model that is a run record, whichever app defines it."""
    return [model for model in apps.get_models() if issubclass(model, RunRecord)]


def run_stall_limit(model: type[RunRecord]) -> dt.timedelta:
    """How long a RUNNING ``model`` run may go without progress: its own ``stall_after``, else
    VCP_RUN_STALL_MINUTES."""
    return model.stall_after or dt.timedelta(minutes=settings.VCP_RUN_STALL_MINUTES)


def _child_runs(model: type[RunRecord]) -> list[str]:
    # Runs made of runs (a walk-forward's folds) progress through their children.
    return [
        rel.name
        for rel in model._meta.related_objects
        if rel.one_to_many and isinstance(rel.related_model, type) and issubclass(rel.related_model, RunRecord)
    ]


def runs_reap(*, now: dt.datetime | None = None) -> list[RunRecord]:
    """Fail every RUNNING run whose last progress is older than its kind's stall limit.

    Progress is the run's ``updated_at`` (every transition, and each kind's progress counters, bump
    it) or a child run's. Each run is re-read under a row lock (skipping rows another transaction
    holds), so a run that moves on meanwhile is left alone. A reaped run that its work later finishes
    anyway (a redelivered message) is closed by that work as usual; its note keeps the reaping.
    """
    now = now or timezone.now()
    reaped: list[RunRecord] = []
    for model in run_kinds():
        limit = run_stall_limit(model)
        cutoff = now - limit
        stalled: Any = model.objects.filter(status=RunStatus.RUNNING, updated_at__lt=cutoff)  # type: ignore[attr-defined]
        for name in _child_runs(model):
            latest = f"_latest_{name}"
            stalled = stalled.annotate(**{latest: Coalesce(Max(f"{name}__updated_at"), F("updated_at"))}).filter(
                **{f"{latest}__lt": cutoff}
            )
        for pk in list(stalled.values_list("pk", flat=True)):
            with transaction.atomic():
                run = (
                    model.objects.select_for_update(skip_locked=True)  # type: ignore[attr-defined]
                    .filter(pk=pk, status=RunStatus.RUNNING, updated_at__lt=cutoff)
                    .first()
                )
                if run is None:
                    continue
                quiet = int((now - run.updated_at).total_seconds() // 60)
                reason = (
                    f"stalled: no progress since {timezone.localtime(run.updated_at):%Y-%m-%d %H:%M %Z} ({quiet} min; "
                    f"a {model._meta.verbose_name} may go {int(limit.total_seconds() // 60)} min without): the process "
                    f"running it was lost (killed, out of memory, restarted). {model.stall_hint}"
                )
                run.note = f"{run.note}\nreaped {timezone.localtime(now):%Y-%m-%d %H:%M}: {reason}".strip()
                reaped.append(run_fail(run, error=reason))
    return reaped


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
